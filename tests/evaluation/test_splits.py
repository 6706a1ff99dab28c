"""Splits: correctness by hand, determinism, reports, and the caller's frame left alone."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from recommender.errors import InvalidParameterError
from recommender.evaluation.splits import (
    Split,
    cold_resource_split,
    leave_last_fraction,
    leave_last_n,
    random_per_learner,
    temporal_split,
)

ROWS = [  # event_id, learner, resource, day in January 2024
    ("e01", "a", "r1", 1),
    ("e02", "a", "r2", 2),
    ("e03", "a", "r3", 3),  # exactly at the cut of the temporal test: goes to test
    ("e04", "a", "r1", 5),
    ("e05", "b", "r2", 1),
    ("e06", "b", "r4", 4),
    ("e07", "b", "r5", 4),  # same time as e06: later by event_id
    ("e08", "c", "r6", 6),
    ("e09", "c", "r2", 10),  # after the horizon of the temporal test
]


def _events() -> pd.DataFrame:
    """The rows above, shuffled and with a non-default index, so order by time is not free."""
    frame = pd.DataFrame(
        {
            "event_id": [r[0] for r in ROWS],
            "learner_id": [r[1] for r in ROWS],
            "resource_id": [r[2] for r in ROWS],
            "event_type": "view",
            "value": np.nan,
            "timestamp": pd.to_datetime([f"2024-01-{r[3]:02d}" for r in ROWS], utc=True),
        },
        index=np.arange(100, 100 + len(ROWS)),
    )
    return frame.iloc[[4, 8, 0, 6, 2, 7, 5, 1, 3]]


def _big_events(n_learners: int = 50, per_learner: int = 10, n_resources: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = n_learners * per_learner
    return pd.DataFrame(
        {
            "event_id": [f"e{i:04d}" for i in range(n)],
            "learner_id": [f"l{i // per_learner:02d}" for i in range(n)],
            "resource_id": [f"r{j:02d}" for j in rng.integers(0, n_resources, n)],
            "event_type": "view",
            "value": np.nan,
            "timestamp": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 10_000, n), unit="min"),
        }
    )


def _ids(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["event_id"])


def test_temporal_cut_and_horizon() -> None:
    split = temporal_split(_events(), "2024-01-03", horizon_end="2024-01-08")
    assert _ids(split.train) == ["e01", "e02", "e05"]  # strictly before the cut
    assert _ids(split.test) == ["e03", "e04", "e06", "e07", "e08"]  # [cut, horizon)
    report = split.report
    # train: learners a, b; resources r1, r2.  test: learners a, b, c; resources r1 r3 r4 r5 r6
    assert (report["n_train"], report["n_test"], report["n_after_horizon"]) == (3, 5, 1)
    assert (report["n_train_learners"], report["n_test_learners"]) == (2, 3)
    assert (report["n_train_resources"], report["n_test_resources"]) == (2, 5)
    assert report["learners_only_in_test"] == ["c"] and report["n_learners_only_in_test"] == 1
    assert report["resources_only_in_test"] == ["r3", "r4", "r5", "r6"]
    assert report["n_resources_only_in_test"] == 4


def test_temporal_without_horizon_and_naive_cut_read_as_utc() -> None:
    split = temporal_split(_events(), datetime(2024, 1, 3))
    assert _ids(split.test) == ["e03", "e04", "e06", "e07", "e08", "e09"]
    assert split.report["n_after_horizon"] == 0 and split.report["horizon_end"] is None


def test_leave_last_n_picks_latest_by_time_ties_by_event_id() -> None:
    split = leave_last_n(_events(), n=1)
    # a: e04 (day 5); b: e06 and e07 share day 4 -> e07; c: e09 (day 10)
    assert _ids(split.test) == ["e04", "e07", "e09"]
    report = split.report
    # train resources {r1, r2, r3, r4, r6}; test resources {r1, r5, r2}: only r5 is new
    assert (report["n_train"], report["n_test"]) == (6, 3)
    assert report["resources_only_in_test"] == ["r5"]
    assert report["n_learners_without_test"] == 0


def test_leave_last_n_keeps_short_histories_in_train() -> None:
    split = leave_last_n(_events(), n=2, min_train_events=1)
    # needs >= 3 events: a -> e03, e04; b -> e06, e07; c (2 events) stays in train
    assert _ids(split.test) == ["e03", "e04", "e06", "e07"]
    assert split.report["n_learners_without_test"] == 1


def test_leave_last_fraction_still_works() -> None:
    split = leave_last_fraction(_events(), fraction=0.5, min_events=3)
    # a: floor(4 * 0.5) = 2 -> e03, e04; b: floor(3 * 0.5) = 1 -> e07; c: 2 events < 3
    assert _ids(split.test) == ["e03", "e04", "e07"]
    assert isinstance(split, Split) and split.name == "leave_last_fraction(0.5)"


def test_random_per_learner_is_deterministic_per_seed() -> None:
    events = _big_events()
    first = random_per_learner(events, test_ratio=0.3, seed=5)
    again = random_per_learner(events, test_ratio=0.3, seed=5)
    other = random_per_learner(events, test_ratio=0.3, seed=6)
    assert _ids(first.test) == _ids(again.test)
    assert _ids(first.test) != _ids(other.test)
    # every learner has 10 events -> floor(10 * 0.3) = 3 in test
    assert (first.test.groupby("learner_id").size() == 3).all()
    assert first.report["n_test"] == 150 and first.report["n_train"] == 350


def test_random_per_learner_does_not_depend_on_row_order() -> None:
    """The same events in another row order (a re-exported file) give the same split."""
    events = _big_events()
    shuffled = events.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert not shuffled["event_id"].equals(events["event_id"])
    for seed in (0, 5):
        assert _ids(random_per_learner(shuffled, 0.3, seed).test) == _ids(
            random_per_learner(events, 0.3, seed).test)


def test_random_per_learner_counts_by_hand() -> None:
    split = random_per_learner(_events(), test_ratio=0.5, seed=0, min_events=2)
    # a: floor(4 * .5) = 2, b: floor(3 * .5) = 1, c: floor(2 * .5) = 1
    assert split.test.groupby("learner_id").size().to_dict() == {"a": 2, "b": 1, "c": 1}


def test_cold_resources_are_absent_from_train() -> None:
    events = _big_events()
    split = cold_resource_split(events, resource_share=0.25, seed=3)
    cold = set(split.report["cold_resources"])
    assert len(cold) == 5  # round(0.25 * 20)
    assert cold.isdisjoint(split.train["resource_id"])
    assert set(split.test["resource_id"]) == cold
    assert len(split.test) == int(events["resource_id"].isin(cold).sum())  # all their events
    assert split.report["resources_only_in_test"] == sorted(cold)
    # the draw does not depend on row order
    shuffled = events.sample(frac=1.0, random_state=1)
    assert cold_resource_split(shuffled, 0.25, seed=3).report["cold_resources"] == sorted(cold)


def test_splits_never_modify_the_callers_frame() -> None:
    events = _events()
    before = events.copy(deep=True)
    splits = [
        leave_last_fraction(events, 0.5),
        leave_last_n(events, 1),
        random_per_learner(events, 0.5, seed=1, min_events=2),
        temporal_split(events, "2024-01-03"),
        cold_resource_split(events, 0.3, seed=0),
    ]
    pd.testing.assert_frame_equal(events, before)
    for split in splits:
        # every row lands on exactly one side, with the caller's index and row order
        assert set(split.train.index).isdisjoint(split.test.index)
        assert sorted([*split.train.index, *split.test.index]) == sorted(events.index)
        assert list(split.train.index) == [i for i in events.index if i in set(split.train.index)]
        split.train.loc[:, "value"] = 1.0  # writing to a split does not reach the caller
    pd.testing.assert_frame_equal(events, before)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda e: leave_last_fraction(e, fraction=1.0), "fraction"),
        (lambda e: leave_last_n(e, n=0), "n"),
        (lambda e: leave_last_n(e, n=1, min_train_events=-1), "min_train_events"),
        (lambda e: random_per_learner(e, test_ratio=0.0), "test_ratio"),
        (lambda e: random_per_learner(e, seed=-1), "seed"),
        (lambda e: cold_resource_split(e, resource_share=1.0), "resource_share"),
        (lambda e: cold_resource_split(e, resource_share=0.95), "resource_share"),  # all 6
        (lambda e: temporal_split(e, "not a date"), "cut"),
        (lambda e: temporal_split(e, "2024-01-05", horizon_end="2024-01-05"), "horizon_end"),
        (lambda e: temporal_split(e.drop(columns="timestamp"), "2024-01-05"), "events"),
    ],
)
def test_bad_parameters_are_named(call, parameter: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidParameterError) as info:
        call(_events())
    assert info.value.name == parameter


def _spec_kinds(tmp_path) -> list[dict]:
    """One section per hold-out kind of the config spec (a given split's file included)."""
    held = _big_events().drop_duplicates(["learner_id", "resource_id"]).iloc[::7]
    (tmp_path / "held.csv").write_text(held[["learner_id", "resource_id"]].to_csv(index=False))
    return [{"kind": "random", "seed": 3}, {"kind": "leave_last_n", "n": 2},
            {"kind": "leave_last_fraction"}, {"kind": "temporal", "cut": "2024-01-05"},
            {"kind": "cold_resource", "seed": 3}, {"kind": "given", "path": "held.csv"}]


def test_every_spec_split_is_deterministic_for_its_seed(tmp_path) -> None:
    """The same events and seed: the same split; other kinds than ``random`` (whose draw
    follows the frame's row order) also whatever the row order."""
    from recommender.spec import HOLDOUT_KINDS

    events = _big_events()
    shuffled = events.sample(frac=1.0, random_state=1)
    for fields in _spec_kinds(tmp_path):
        section = HOLDOUT_KINDS[fields["kind"]].model_validate(
            fields, context={"base_dir": tmp_path})
        first, again, reordered = (section.build(events), section.build(events),
                                   section.build(shuffled))
        assert _ids(first.test) and _ids(first.train), fields
        assert _ids(first.test) == _ids(again.test), fields
        assert first.report["n_test"] == reordered.report["n_test"], fields
        if fields["kind"] != "random":
            assert _ids(first.test) == _ids(reordered.test), fields
        if "seed" in fields:  # another seed draws another split
            other = HOLDOUT_KINDS[fields["kind"]].model_validate({**fields, "seed": 4})
            assert _ids(other.build(events).test) != _ids(first.test), fields
