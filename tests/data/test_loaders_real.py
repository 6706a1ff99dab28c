"""The loaders on the real third-party data in ``shared/data`` beside the repository.

The expected numbers are the facts checked in each folder's SOURCE.md (and, where a loader
deliberately changes a count, the arithmetic that explains it). Skipped when the data is absent.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from recommender.data import Dataset
from recommender.data.loaders import load_canvas, load_mars, load_oulad

pytestmark = pytest.mark.integration

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LOAD_SECONDS_LIMIT = 30.0  # generous: each loads in a few seconds on one core


def folder(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data folder {path} does not exist (third-party data is not in the repo)")
    return path


def timed(load, *args, **kwargs) -> Dataset:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    dataset = load(*args, **kwargs)
    elapsed = time.perf_counter() - started
    assert elapsed < LOAD_SECONDS_LIMIT, f"{load.__name__} took {elapsed:.1f} s"
    return dataset


# --------------------------------------------------------------------------- OULAD


@pytest.fixture(scope="module")
def oulad() -> Dataset:
    return timed(load_oulad, folder("oulad"))


def test_oulad_complete_presentations_match_source(oulad: Dataset) -> None:
    events = oulad.events.merge(
        oulad.resources[["resource_id", "code_module", "code_presentation"]], on="resource_id"
    )
    events["presentation"] = events["code_module"] + "-" + events["code_presentation"]
    per_presentation = events.groupby("presentation").agg(
        students=("learner_id", "nunique"), sites=("resource_id", "nunique"),
        clicks=("value", "sum"),
    )
    assert per_presentation.to_dict("index") == {
        "AAA-2013J": {"students": 378, "sites": 209, "clicks": 648_494},
        "AAA-2014J": {"students": 357, "sites": 197, "clicks": 598_158},
        "BBB-2013B": {"students": 1_537, "sites": 315, "clicks": 1_347_911},
    }
    # registrations: 383 + 365 + 1,767 = 2,515, of 2,479 distinct students (36 in two)
    assert len(oulad.learners) == 2_479
    assert oulad.events["learner_id"].nunique() == 2_239
    # every VLE site of the three presentations (211 + 202 + 315), also never-clicked ones
    assert len(oulad.resources) == 728
    # 753,564 click rows summed into one view per student, site and day
    assert len(oulad.events) == 561_862
    # BBB 2013B day -9 and AAA 2014J day 269
    assert oulad.events["timestamp"].min() == pd.Timestamp("2013-01-23", tz="UTC")
    assert oulad.events["timestamp"].max() == pd.Timestamp("2015-06-27", tz="UTC")


def test_oulad_groups_cover_disability_and_age(oulad: Dataset) -> None:
    counts = oulad.learners["group"].value_counts().to_dict()
    assert set(counts) == {"adult_learner", "disabled", "retiree"}
    assert counts["disabled"] > 0 and counts["retiree"] > 0


def test_oulad_truncated_presentation_loads_when_asked() -> None:
    dataset = timed(load_oulad, folder("oulad"), presentations=["BBB-2013J"])
    assert dataset.events["learner_id"].nunique() == 1_865
    assert dataset.events["resource_id"].nunique() == 308
    assert dataset.events["value"].sum() == 921_776
    # the head of studentVle stops at day 133 of this 268-day presentation
    assert dataset.events["timestamp"].max() == pd.Timestamp("2013-10-01", tz="UTC") + pd.Timedelta(
        days=133
    )


# --------------------------------------------------------------------------- MARS


def test_mars_matches_source() -> None:
    dataset = timed(load_mars, folder("mars_mandarine_academy_en"))
    assert len(dataset.learners) == 9_902
    assert len(dataset.resources) == 1_167
    events = dataset.events
    # 21,908 page views minus 355 that repeat an earlier row to the second
    assert events["event_type"].value_counts().to_dict() == {
        "view": 21_553, "progress": 3_655, "rate": 3_655,  # 3,659 rows, 4 same-second conflicts
    }
    rated = events[events["event_type"] == "rate"]
    assert rated["learner_id"].nunique() == 822 and rated["resource_id"].nunique() == 776
    assert (rated["value"] == 10).sum() == 2_747
    viewed = events[events["event_type"] == "view"]
    assert viewed["learner_id"].nunique() == 3_007 and viewed["resource_id"].nunique() == 957
    assert events["timestamp"].min().date().isoformat() == "2016-10-28"
    assert events["timestamp"].max().date().isoformat() == "2021-09-22"
    assert dataset.resources["description"].notna().sum() == 1_009  # 158 are the text "N/A"
    assert dataset.resources["type"].value_counts().to_dict() == {
        "tutorial": 1_030, "use_case": 96, "webcast": 41,
    }
    assert dataset.learners["job"].isna().sum() == 8_493  # "N/A"


# --------------------------------------------------------------------------- Canvas


def test_canvas_matches_source() -> None:
    dataset = timed(load_canvas, folder("canvas_network_cnpc"))
    assert len(dataset.learners) == 224_914
    assert len(dataset.resources) == 238
    counts = dataset.events["event_type"].value_counts().to_dict()
    # 325,199 rows minus 147 extra copies of 146 duplicated (user, course) pairs
    assert counts["enroll"] == 325_052
    assert counts["complete"] == 1_011  # completed_% == 1.0
    assert counts["progress"] == 26_661  # completed_% present
    assert dataset.events["timestamp"].min() == pd.Timestamp("2014-01-01", tz="UTC")


def test_canvas_min_courses_five() -> None:
    dataset = timed(load_canvas, folder("canvas_network_cnpc"), min_courses=5)
    # SOURCE.md counts 6,725 learners with >= 5 rows; 8 of them reach 5 only through a
    # duplicated registration, which the loader counts once
    assert len(dataset.learners) == 6_717
    assert dataset.learners["n_courses"].min() == 5
    assert len(dataset.resources) == 238
