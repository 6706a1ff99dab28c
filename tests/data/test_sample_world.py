"""The built-in sample world: deterministic, well-formed, realistic, and worth personalising."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender.data import Dataset, load_directory, validate_dataset, write_dataset
from recommender.data.sample_world import DEFAULT_SIZE, REGIONS, generate_world
from recommender.data.schema import CATEGORIES, EVENT_TYPES, LEARNER_GROUPS
from recommender.errors import InvalidParameterError

START = pd.Timestamp("2024-01-01", tz="UTC")
DAYS = 365
AS_OF = START + pd.Timedelta(days=DAYS)  # a fixed world: the checks below know its dates


@pytest.fixture(scope="module")
def world() -> Dataset:
    return generate_world(n_learners=800, n_resources=200, seed=7, as_of=AS_OF)


@pytest.fixture(scope="module")
def joined(world: Dataset) -> pd.DataFrame:
    """Events with the learner and resource columns the checks need."""
    learners = world.learners[["learner_id", "group", "languages", "created_at"]]
    resources = world.resources[
        ["resource_id", "language", "available_from", "available_until", "created_at"]
    ]
    return (
        world.events.merge(learners, on="learner_id")
        .merge(resources, on="resource_id", suffixes=("_learner", "_resource"))
    )


# -- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_tables() -> None:
    first = generate_world(n_learners=150, n_resources=60, seed=3, as_of=AS_OF)
    second = generate_world(n_learners=150, n_resources=60, seed=3, as_of=AS_OF)
    for name in ("learners", "resources", "events", "regions"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))


def test_different_seed_gives_different_tables() -> None:
    first = generate_world(n_learners=150, n_resources=60, seed=3, as_of=AS_OF)
    other = generate_world(n_learners=150, n_resources=60, seed=4, as_of=AS_OF)
    assert not first.learners.equals(other.learners)
    assert not first.resources.equals(other.resources)
    assert not first.events.equals(other.events)


def test_the_world_is_dated_relative_to_its_as_of_moment() -> None:
    """Same seed and as-of, same world; a later as-of moves every date by the same amount
    (the draws do not depend on the calendar), and the default is the start of today."""
    later = AS_OF + pd.Timedelta(days=400)
    first = generate_world(n_learners=150, n_resources=60, seed=3, as_of=AS_OF)
    moved = generate_world(n_learners=150, n_resources=60, seed=3, as_of=later)
    shift = later - AS_OF
    pd.testing.assert_series_equal(moved.events["timestamp"], first.events["timestamp"] + shift)
    for column in ("available_from", "available_until", "created_at"):
        pd.testing.assert_series_equal(moved.resources[column], first.resources[column] + shift)
    pd.testing.assert_frame_equal(moved.learners.drop(columns="created_at"),
                                  first.learners.drop(columns="created_at"))
    today = pd.Timestamp.now(tz="UTC").floor("D")
    default = generate_world(n_learners=60, n_resources=30, seed=3)
    if pd.Timestamp.now(tz="UTC").floor("D") == today:  # not across midnight
        dated = generate_world(n_learners=60, n_resources=30, seed=3, as_of=today)
        pd.testing.assert_frame_equal(default.events, dated.events)


def test_a_world_made_today_has_in_person_courses_open_near_learners_now() -> None:
    """The default world (as of today) offers offline and blended courses that are open at
    this moment and held in or next to the learner's region, to most learners, and online
    ones to all; some sessions are still to come."""
    from recommender.features.catalog import CatalogArrays, learner_profiles

    world = generate_world()  # the demo's world: defaults, as of today
    now = pd.Timestamp.now(tz="UTC")
    catalog = CatalogArrays.build(world.resources, world.regions)
    profiles = learner_profiles(world.learners)
    modes = world.resources["mode"].to_numpy()
    found = {mode: [] for mode in ("online", "offline", "blended")}
    for row in range(0, len(profiles), 20):
        allowed = catalog.mask(None, profiles[row], now=now)
        for mode, counts in found.items():
            counts.append(int((allowed & (modes == mode)).sum()))
    assert min(found["online"]) >= 10  # an English-only learner has fewer
    for mode in ("offline", "blended"):
        assert np.mean(np.array(found[mode]) > 0) >= 0.8, mode
        assert np.mean(found[mode]) >= 3, mode
    opens = pd.to_datetime(world.resources["available_from"], utc=True)
    assert (opens > now).sum() >= 10  # announced sessions, open later
    assert world.events["timestamp"].max() < now


# -- shape ---------------------------------------------------------------------------------


def test_requested_counts_and_id_formats(world: Dataset) -> None:
    assert len(world.learners) == 800
    assert len(world.resources) == 200
    assert world.learners["learner_id"].str.fullmatch(r"L\d{6}").all()
    assert world.resources["resource_id"].str.fullmatch(r"R\d{5}").all()
    assert world.events["event_id"].is_unique
    assert DEFAULT_SIZE == {"n_learners": 2000, "n_resources": 400}


def test_every_group_category_and_both_languages_present(world: Dataset) -> None:
    assert set(world.learners["group"]) == set(LEARNER_GROUPS)
    assert set(world.resources["category"]) == set(CATEGORIES)
    assert {"zh", "en"} <= set(world.resources["language"])
    # Titles follow the language, and a few Chinese items carry a bilingual title.
    english = world.resources.loc[world.resources["language"].eq("en"), "title"]
    assert english.map(str.isascii).all()
    chinese = world.resources.loc[world.resources["language"].eq("zh"), "title"]
    assert chinese.str.contains(r"[\u4e00-\u9fff]").all()
    assert chinese.str.contains(r"[\u4e00-\u9fff].* [A-Z][a-z]").any()


def test_learner_profiles_are_plausible(world: Dataset) -> None:
    learners = world.learners
    by_group = learners.groupby("group")
    assert (learners.loc[learners["group"].eq("youth"), "age_band"] == "16-24").all()
    old = by_group["age_band"].apply(lambda bands: bands.isin(["55-64", "65+"]).mean())
    assert old["retiree"] > 0.9
    rural = by_group["urban_rural"].apply(lambda where: where.eq("rural").mean())
    assert rural["rural_resident"] > 0.8
    with_needs = by_group["accessibility_needs"].apply(lambda needs: needs.notna().mean())
    assert with_needs["disabled"] > 0.7
    assert with_needs.drop(["disabled", "retiree"]).max() < 0.15
    owes_72 = by_group["credit_hours_required"].apply(lambda hours: hours.eq(72).mean())
    assert owes_72["employee"] > 0.6
    assert learners["languages"].str.split("|").map(lambda langs: "zh" in langs).all()
    assert learners["interests"].notna().mean() > 0.8
    assert learners["interests"].str.contains(r"[\u4e00-\u9fff]", na=False).any()
    assert learners["interests"].str.fullmatch(r"[ -~]+", na=False).any()  # English only


def test_offline_resources_have_regions_and_regions_are_symmetric(world: Dataset) -> None:
    resources = world.resources
    in_person = resources["mode"].isin(["offline", "blended"])
    assert in_person.any() and resources.loc[in_person, "region"].notna().all()
    regions = world.regions
    assert regions is not None and list(regions.columns[:2]) == ["region", "neighbour"]
    pairs = set(zip(regions["region"], regions["neighbour"], strict=True))
    assert pairs == {(b, a) for a, b in pairs}
    known = {name for name, _, _ in REGIONS}
    assert set(regions["region"]) == known
    assert set(world.learners["region"]) <= known
    assert set(resources["region"].dropna()) <= known


def test_catalog_mixes_formats_and_schedules(world: Dataset) -> None:
    resources = world.resources
    duration = resources["duration_minutes"]
    assert duration.between(5, 20).any() and (duration >= 360).any()
    micro = duration <= 20
    assert (resources.loc[micro, "credit_hours"] == 0).all()
    scheduled = resources["available_from"].notna()
    assert 0.1 < scheduled.mean() < 0.45
    assert (resources["available_until"].notna() == scheduled).all()
    assert (resources.loc[scheduled, "available_from"]
            >= resources.loc[scheduled, "created_at"]).all()


# -- events --------------------------------------------------------------------------------


def test_all_event_types_with_a_funnel(world: Dataset) -> None:
    counts = world.events["event_type"].value_counts()
    assert set(counts.index) == set(EVENT_TYPES)
    assert counts["view"] > counts["enroll"] > counts["complete"]
    values = world.events.groupby("event_type")["value"]
    assert values.min()["progress"] > 0 and values.max()["progress"] < 1
    assert set(values.unique()["rate"]) <= {1.0, 2.0, 3.0, 4.0, 5.0}


def test_activity_is_heavy_tailed_around_the_requested_mean(world: Dataset) -> None:
    per_learner = world.events.groupby("learner_id").size()
    assert per_learner.mean() == pytest.approx(30, rel=0.15)
    assert per_learner.min() <= 3
    assert per_learner.max() >= 150


def test_events_stay_inside_the_window(world: Dataset) -> None:
    stamps = world.events["timestamp"]
    assert stamps.min() >= START
    assert stamps.max() < START + pd.Timedelta(days=DAYS)


def test_no_event_before_creation_or_outside_a_schedule(joined: pd.DataFrame) -> None:
    assert (joined["timestamp"] >= joined["created_at_resource"]).all()
    assert (joined["timestamp"] >= joined["created_at_learner"]).all()
    scheduled = joined[joined["available_from"].notna()]
    assert len(scheduled) > 0
    assert (scheduled["timestamp"] >= scheduled["available_from"]).all()
    assert (scheduled["timestamp"] <= scheduled["available_until"]).all()


def test_funnel_timestamps_are_ordered(world: Dataset) -> None:
    first = world.events.pivot_table(
        index=["learner_id", "resource_id"], columns="event_type", values="timestamp",
        aggfunc="min",
    )
    enrolled = first[first["enroll"].notna()]
    assert (enrolled["view"] < enrolled["enroll"]).all()
    completed = enrolled[enrolled["complete"].notna()]
    assert (completed["enroll"] < completed["complete"]).all()
    progressed = enrolled[enrolled["progress"].notna()]
    assert (progressed["enroll"] < progressed["progress"]).all()
    assert first.loc[first["enroll"].isna(), "complete"].isna().all()


def test_learners_rarely_take_resources_in_a_language_they_do_not_read(
    joined: pd.DataFrame,
) -> None:
    taken = joined[joined["event_type"].isin(["enroll", "complete"])]
    foreign = [lang not in spoken.split("|")
               for lang, spoken in zip(taken["language"], taken["languages"], strict=True)]
    assert np.mean(foreign) < 0.02


def test_groups_lean_to_their_categories(world: Dataset) -> None:
    events = world.events.merge(world.learners[["learner_id", "group"]], on="learner_id")
    events = events.merge(world.resources[["resource_id", "category"]], on="resource_id")
    share = pd.crosstab(events["group"], events["category"], normalize="index")
    assert share.loc["retiree", "health_elderly_care"] > 2 * share.loc[
        "migrant_worker", "health_elderly_care"]
    assert share.loc["rural_resident", "agricultural_technology"] > 2 * share.loc[
        "employee", "agricultural_technology"]


def test_interests_drift_through_the_year() -> None:
    """A learner's early favourite category (from their first-quarter events) keeps more of
    their second quarter than of their last: taste moves. Both quarters are independent of the
    one the favourite was picked in, so regression to the mean cannot fake the drop."""
    world = generate_world(n_learners=4000, n_resources=300, seed=11, as_of=AS_OF)
    events = world.events[world.events["event_type"] != "dismiss"].merge(
        world.resources[["resource_id", "category"]], on="resource_id")
    quarter = ((events["timestamp"] - START).dt.days // 92).clip(upper=3)
    first = events[quarter == 0]
    favourite = first.groupby("learner_id")["category"].agg(lambda c: c.value_counts().index[0])

    def favourite_share(q: int) -> pd.Series:
        part = events[quarter == q]
        hit = part["category"].to_numpy() == part["learner_id"].map(favourite).to_numpy()
        return pd.Series(hit, index=part["learner_id"]).groupby(level=0).mean()

    second, last = favourite_share(1), favourite_share(3)
    both = second.index.intersection(last.index).intersection(favourite.index)
    assert len(both) > 500
    drop = second[both] - last[both]
    assert drop.mean() > 0.03, drop.mean()
    assert drop.mean() > 3 * drop.std() / np.sqrt(len(both))  # well beyond noise


# -- contract ------------------------------------------------------------------------------


def test_dataset_passes_validation_again(world: Dataset) -> None:
    again = validate_dataset(world.learners, world.resources, world.events, world.regions)
    assert again.summary()["n_events"] == len(world.events)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_through_files(tmp_path: Path, fmt: str) -> None:
    world = generate_world(n_learners=120, n_resources=50, seed=11, as_of=AS_OF)
    write_dataset(world, tmp_path / "world", fmt=fmt)
    loaded = load_directory(tmp_path / "world")
    for name in ("learners", "resources", "events", "regions"):
        pd.testing.assert_frame_equal(
            getattr(loaded, name), getattr(world, name), check_dtype=False,
        )


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("n_learners", {"n_learners": 0}),
        ("n_learners", {"n_learners": 2.5}),
        ("n_resources", {"n_resources": -3}),
        ("seed", {"seed": -1}),
        ("seed", {"seed": "zero"}),
        ("events_per_learner", {"events_per_learner": 0.0}),
        ("events_per_learner", {"events_per_learner": float("nan")}),
        ("start", {"start": "not a date"}),
        ("as_of", {"as_of": "not a date"}),
        ("start", {"start": "2024-01-01", "as_of": "2025-01-01"}),
        ("days", {"days": 0}),
    ],
)
def test_bad_parameters_name_the_parameter(name: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidParameterError, match=re.escape(repr(name))) as caught:
        generate_world(**kwargs)  # type: ignore[arg-type]
    assert caught.value.name == name


# -- worth personalising -------------------------------------------------------------------


def _time_split(world: Dataset) -> tuple[sp.csr_matrix, dict[int, set[int]]]:
    """Enroll/complete positives; each learner's last 20% (by time) is held out.

    Learners with a single positive stay in training only: they are a cold-start case.
    """
    events = world.events[world.events["event_type"].isin(["enroll", "complete"])]
    events = events.sort_values("timestamp", kind="stable")
    events = events.drop_duplicates(["learner_id", "resource_id"])
    learner_idx = pd.Index(world.learners["learner_id"]).get_indexer(events["learner_id"])
    resource_idx = pd.Index(world.resources["resource_id"]).get_indexer(events["resource_id"])
    positives = pd.DataFrame({"learner_idx": learner_idx, "resource_idx": resource_idx})
    rank = positives.groupby("learner_idx").cumcount()
    count = positives.groupby("learner_idx")["resource_idx"].transform("size")
    held_out = (rank >= np.floor(0.8 * count).astype(int)) & (count >= 2)
    train, test = positives[~held_out], positives[held_out]
    matrix = sp.csr_matrix(
        (np.ones(len(train), dtype=np.float32), (train["learner_idx"], train["resource_idx"])),
        shape=(len(world.learners), len(world.resources)),
    )
    truth = test.groupby("learner_idx")["resource_idx"].apply(set).to_dict()
    return matrix, truth


def _recall(recommended: dict[int, np.ndarray], truth: dict[int, set[int]]) -> float:
    hits = sum(len(truth[learner] & set(recommended[learner].tolist())) for learner in truth)
    return hits / sum(len(resources) for resources in truth.values())


def test_personalisation_beats_popularity_but_is_not_trivial() -> None:
    from implicit.als import AlternatingLeastSquares

    world = generate_world(n_learners=3000, n_resources=300, seed=0, as_of=AS_OF)
    train, truth = _time_split(world)
    learners = np.array(sorted(truth))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # implicit's BLAS-threads advice
        model = AlternatingLeastSquares(factors=32, iterations=15, random_state=0)
        model.fit(train, show_progress=False)
        als_ids, _ = model.recommend(learners, train[learners], N=10,
                                     filter_already_liked_items=True)
    als = _recall(dict(zip(learners, als_ids, strict=True)), truth)

    by_popularity = np.argsort(-np.asarray(train.sum(axis=0)).ravel(), kind="stable")
    popular = {}
    for learner in learners:
        seen = set(train[learner].indices.tolist())
        popular[learner] = np.array([r for r in by_popularity[: 10 + len(seen)]
                                     if r not in seen][:10])
    baseline = _recall(popular, truth)

    assert als >= 1.2 * baseline, (als, baseline)
    assert als < 0.9, als


# -- in-person use and accessibility needs agree with the delivery's own rules -------------


def _engaging_with_rules(world: Dataset) -> pd.DataFrame:
    """Engaging (not dismissed) events with the learner's group and place, and whether the
    resource passes the learner's accessibility filter and is local to them, both judged by
    the delivery's own rules (CatalogArrays.accessible, rerank.local_resources)."""
    from recommender.delivery.rerank import local_resources
    from recommender.features.catalog import CatalogArrays

    catalog = CatalogArrays.build(world.resources, world.regions)
    position = pd.Series(np.arange(len(world.resources)), index=world.resources["resource_id"])
    learners = world.learners[["learner_id", "group", "region", "urban_rural",
                               "accessibility_needs"]]
    events = world.events[world.events["event_type"] != "dismiss"].merge(learners, on="learner_id")
    resource_idx = position[events["resource_id"]].to_numpy()
    passes = np.ones(len(events), dtype=bool)
    local = np.zeros(len(events), dtype=bool)
    for (region, needs), rows in events.groupby(["region", "accessibility_needs"],
                                                dropna=False).indices.items():
        local[rows] = local_resources(catalog, resource_idx[rows], region)
        if isinstance(needs, str):
            passes[rows] = catalog.accessible(needs.split("|"))[resource_idx[rows]]
    return events.assign(passes=passes, local=local, has_need=events["accessibility_needs"].notna())


def test_learners_with_a_need_engage_with_what_their_filter_allows(world: Dataset) -> None:
    """The hard accessibility filter and the data agree: learners who declare a need engage
    with resources that meet it (by the filter's barrier rule) on at least 85% of their
    engaging events, the disabled group included; nobody else is filtered."""
    events = _engaging_with_rules(world)
    with_need = events[events["has_need"]]
    assert len(with_need) > 500
    assert with_need["passes"].mean() > 0.85
    assert with_need.loc[with_need["group"] == "disabled", "passes"].mean() > 0.85
    assert events.loc[~events["has_need"], "passes"].all()


def test_in_person_use_follows_the_group() -> None:
    """Local in-person resources (offline or blended in or next to the learner's province) are
    used far more by retirees and rural residents than by employees, and more by learners
    living in the countryside than in towns, though every learner reaches the same catalog."""
    events = _engaging_with_rules(generate_world(3000, 400, seed=0, as_of=AS_OF))
    local = events.groupby("group")["local"].mean()
    assert local["retiree"] > 2.5 * local["employee"]
    assert local["rural_resident"] > 2.5 * local["employee"]
    assert local["rural_resident"] > 0.08  # the world before gave every group 1-2%
    employees = events[events["group"] == "employee"]
    assert local["rural_resident"] > employees.loc[employees["urban_rural"] == "urban",
                                                   "local"].mean()
    where = events.groupby("urban_rural")["local"].mean()
    assert where["rural"] > 1.3 * where["urban"]


def test_in_person_use_follows_what_is_on_offer_nearby() -> None:
    """Where more in-person resources are within reach, the groups that go out use them more:
    across provinces, retirees' and rural residents' local share rises with the count of
    in-person resources local to the province (rank correlation)."""
    from scipy import stats

    from recommender.data.sample_world import REGION_BORDERS

    world = generate_world(3000, 400, seed=0, as_of=AS_OF)
    events = _engaging_with_rules(world)
    near = set(REGION_BORDERS) | {(b, a) for a, b in REGION_BORDERS}
    in_person = world.resources.loc[world.resources["mode"] != "online", "region"]
    goers = events[events["group"].isin(["retiree", "rural_resident"])]
    share = goers.groupby("region")["local"].mean()
    offered = [sum(region == home or (home, region) in near for region in in_person)
               for home in share.index]
    assert stats.spearmanr(offered, share.to_numpy()).statistic > 0.5
