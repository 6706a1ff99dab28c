"""Time-aware models on tiny worlds whose right answer is known.

- a chain world: every learner goes A -> B -> C, while X is what the cohort opened most
  lately; after A and B the sequence-aware models answer C, recency answers X;
- a scheduled resource outside its availability window never appears;
- a learner's list moves when they post events (fold-in), with no refit;
- (the recency window and the weights chosen on validation data: tests/selection);
- a resource whose release is tied to assessment deadlines is forecast right after the next
  deadline, and not mid-cycle.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data import validate_dataset
from recommender.errors import InvalidParameterError
from recommender.evaluation.rolling import recommend_available, rolling_window
from recommender.features import FeatureSet, build_feature_set
from recommender.models import (
    MODELS,
    BreadthRecencyModel,
    CoAccessModel,
    ColdStart,
    HistoryAges,
    LearnerHistory,
    PeerRecencyModel,
    RecentPopularityModel,
    SequenceModel,
    TimeAwareModel,
    cohort_position,
)
from recommender.models.schedule import (
    ScheduledPopularityModel,
    deadline_phase,
    default_time_aware_parts,
)

START = pd.Timestamp("2024-03-01", tz="UTC")
CHAIN = ["A", "B", "C"]


def _features(
    events: list[tuple[str, str, float]], resources: pd.DataFrame | None = None,
    learners: list[str] | None = None,
) -> FeatureSet:
    """A validated world from (learner_id, resource_id, day) view events."""
    frame = pd.DataFrame(events, columns=["learner_id", "resource_id", "day"])
    if resources is None:
        ids = sorted(frame["resource_id"].unique())
        resources = pd.DataFrame({"resource_id": ids, "title": [f"course {r}" for r in ids]})
    resources = resources.assign(category="digital_literacy", mode="online")
    learner_ids = learners or sorted(frame["learner_id"].unique())
    table = pd.DataFrame({
        "learner_id": learner_ids,
        "group": ["adult_learner"] * len(learner_ids),
        "interests": ["learning"] * len(learner_ids),
    })
    rows = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(frame))],
        "learner_id": frame["learner_id"],
        "resource_id": frame["resource_id"],
        "event_type": "view",
        "value": 1.0,
        "timestamp": [(START + pd.Timedelta(days=d)).isoformat() for d in frame["day"]],
    })
    return build_feature_set(validate_dataset(table, resources, rows))


@pytest.fixture(scope="module")
def chain() -> FeatureSet:
    """Ten learners walk A -> B -> C a day apart, starting on different days, ten others
    P -> Q -> R; twelve more start X lately (the cohort's recent favourite); "t" has done A
    and B, "u" only A."""
    events = []
    for i in range(10):
        events += [(f"l{i}", resource, 2 * i + step) for step, resource in enumerate(CHAIN)]
    events += [(f"x{i}", "X", 22 + i % 3) for i in range(12)]
    events += [(f"p{i}", resource, 2 * i + step) for i in range(10)
               for step, resource in enumerate(["P", "Q", "R"])]
    events += [("t", "A", 23), ("t", "B", 24), ("u", "A", 24)]
    return _features(events)


def _top(model, features: FeatureSet, learner_id: str, k: int = 1) -> list[str]:
    learner_idx = features.learner_map.index_of(learner_id)
    seen = features.interactions  # first-access mode: what they opened is not new to them
    top, _ = model.recommend(learner_idx, k=k, exclude=seen)
    return [features.resource_map.id_of(i) for i in top[0] if i >= 0]


def test_learners_who_go_a_b_c_get_c_after_a_and_b(chain: FeatureSet) -> None:
    assert _top(SequenceModel().fit(chain), chain, "t") == ["C"]
    assert _top(SequenceModel(fresh_days=3.0).fit(chain), chain, "t") == ["C"]
    assert _top(SequenceModel(rank=4).fit(chain), chain, "t") == ["C"]
    # Recency alone follows the cohort, not the learner's path: the contrast that matters.
    assert _top(RecentPopularityModel(group_column=None).fit(chain), chain, "t") == ["X"]


def test_time_aware_hybrid_puts_the_next_step_first(chain: FeatureSet) -> None:
    model = TimeAwareModel(weights=(0.25, 0.5, 0.25)).fit(chain)
    assert model.part_names == ["recent_popularity", "sequence", "co_occurrence"]
    assert [part.weight for part in model.parts_] == [0.25, 0.5, 0.25]
    assert _top(model, chain, "t", k=2) == ["C", "X"]
    assert _top(model, chain, "u", k=3) == ["B", "C", "X"]


def test_fold_in_moves_the_list_without_refitting(chain: FeatureSet) -> None:
    model = SequenceModel().fit(chain)
    resources = model.resource_factors_
    idx = chain.resource_map.indices_of
    after_a = model.fold_in(LearnerHistory(idx(["A"]), ages=HistoryAges.same([0.0])))
    after_ab = model.fold_in(LearnerHistory(idx(["A", "B"]), ages=HistoryAges.same([1.0, 0.0])))

    def best(vector: np.ndarray, seen: list[str]) -> str:
        scores = model.resource_factors_ @ vector
        scores[idx(seen)] = -np.inf
        return chain.resource_map.id_of(int(np.argmax(scores)))

    assert best(after_a, ["A"]) == "B"
    assert best(after_ab, ["A", "B"]) == "C"
    assert model.resource_factors_ is resources  # nothing was refitted


@pytest.mark.parametrize("name", ["sequence", "time_aware"])
def test_posted_events_move_a_known_learners_list_through_cold_start(
    chain: FeatureSet, name: str
) -> None:
    """The serving path: ColdStart folds the learner's training history plus new events."""
    model = (SequenceModel() if name == "sequence"
             else TimeAwareModel(weights=(0.25, 0.5, 0.25))).fit(chain)
    cold = ColdStart(model).fit(chain)
    learner_idx = chain.learner_map.index_of("u")  # u has done A: next is B
    posted = pd.DataFrame({  # u jumps to the other path
        "event_id": ["n1"], "learner_id": ["u"], "resource_id": ["Q"], "event_type": ["view"],
        "value": [1.0], "timestamp": [START + pd.Timedelta(days=25)],
    })
    before = cold.learner_vector(learner_idx=learner_idx)
    after = cold.learner_vector(learner_idx=learner_idx, events=posted)
    assert before.cold_start is None and after.cold_start == "fold_in"

    def ranking(vector: np.ndarray) -> list[str]:
        scores = model.resource_factors_ @ vector
        scores[chain.resource_map.indices_of(["A", "Q"])] = -np.inf  # the same candidates
        order = np.argsort(-scores, kind="stable")[:4]
        return [chain.resource_map.id_of(int(i)) for i in order]

    was, now = ranking(before.vector), ranking(after.vector)
    assert was[0] == "B" and now != was
    assert now.index("R") < (was.index("R") if "R" in was else len(was))  # Q's successor rises
    if name == "sequence":
        assert now[0] == "R"


def test_co_access_follows_peers_who_did_what_you_did(chain: FeatureSet) -> None:
    assert _top(CoAccessModel().fit(chain), chain, "t") == ["C"]


@pytest.fixture(scope="module")
def scheduled() -> FeatureSet:
    """S is what everyone opened lately, but its window closed on day 20."""
    resources = pd.DataFrame({
        "resource_id": ["S", "O", "P"],
        "title": ["scheduled", "open", "other"],
        "available_from": [START.isoformat(), None, None],
        "available_until": [(START + pd.Timedelta(days=20)).isoformat(), None, None],
    })
    events = [(f"l{i}", "S", 18 + i % 2) for i in range(8)]
    events += [(f"l{i}", "O", 18) for i in range(3)] + [("u", "P", 18)]
    return _features(events, resources)


def test_a_resource_outside_its_window_never_appears(scheduled: FeatureSet) -> None:
    model = RecentPopularityModel(group_column=None, window_days=30).fit(scheduled)
    learner_idx = scheduled.learner_map.index_of("u")
    plain, _ = model.recommend(learner_idx, k=3)
    assert scheduled.resource_map.id_of(int(plain[0, 0])) == "S"  # the filter is what hides it
    later = START + pd.Timedelta(days=21)
    top, _ = recommend_available(model, learner_idx, scheduled.resources, later, k=3)
    ids = [scheduled.resource_map.id_of(i) for i in top[0] if i >= 0]
    assert "S" not in ids and ids[0] == "O"
    during, _ = recommend_available(model, learner_idx, scheduled.resources,
                                    START + pd.Timedelta(days=19), k=3)
    assert scheduled.resource_map.id_of(int(during[0, 0])) == "S"
    # The rolling protocol applies the same windows: S is closed for a horizon after day 20.
    window = rolling_window(scheduled, START + pd.Timedelta(days=21), 7.0)
    assert scheduled.resource_map.indices_of(["S"])[0] in window.closed


def test_recency_is_scoped_to_the_learners_course_and_group() -> None:
    """Course 2's resource Z is the most started lately, but "k" studies course 1."""
    resources = pd.DataFrame({
        "resource_id": ["Y1", "Y2", "Z"], "title": ["y1", "y2", "z"],
        "code_presentation": ["2024A", "2024A", "2024B"],
    })
    events = [(f"z{i}", "Z", 10) for i in range(6)] + [(f"y{i}", "Y2", 10) for i in range(2)]
    events += [("k", "Y1", 9)]
    world = _features(events, resources)
    scoped = RecentPopularityModel(group_column=None, scope_column="code_presentation",
                                   global_weight=0.0).fit(world)
    assert _top(scoped, world, "k") == ["Y2"]
    assert _top(RecentPopularityModel(group_column=None).fit(world), world, "k") == ["Z"]
    vector = scoped.fold_in(LearnerHistory(world.resource_map.indices_of(["Y1"])))
    assert world.resource_map.id_of(int(np.argmax(scoped.resource_factors_ @ vector))) == "Y2"
    grouped = RecentPopularityModel().fit(world)  # one group here: its recency is global's
    assert grouped.groups_ == ["adult_learner"] and _top(grouped, world, "k") == ["Z"]


def test_time_aware_models_and_their_optional_parts_are_registered() -> None:
    """Every part an option swaps in can be named by a bundle."""
    assert MODELS["recent_popularity"] is RecentPopularityModel
    assert MODELS["sequence"] is SequenceModel
    assert MODELS["co_occurrence"] is CoAccessModel
    assert MODELS["time_aware"] is TimeAwareModel
    assert MODELS["scheduled_popularity"] is ScheduledPopularityModel
    assert MODELS["peer_recency"] is PeerRecencyModel
    assert MODELS["breadth_recency"] is BreadthRecencyModel


def test_cohort_position_says_who_is_behind(chain: FeatureSet) -> None:
    """l9 walks the chain last (days 18-20), l0 first (days 0-2): l9 is the one behind."""
    position = cohort_position(chain, recent_days=100.0).set_index("learner_id")
    assert position.loc["l9", "lag_days"] > 0 > position.loc["l0", "lag_days"]
    assert position.loc["l0", "started_share"] == pytest.approx(3 / 7)  # A, B, C of 7
    assert np.isnan(position.loc["l0", "idle_days"]) is np.False_


# --------------------------------------------------------------- the assessment schedule


def _deadline_world() -> FeatureSet:
    """Deadlines on days 10, 20 and 30. Four learners open the reading R1 on day 1; one day
    after the first deadline all four open forum F1 (a release: nobody could before). Forums
    F2 and F3 and reading X are still unopened."""
    deadlines = "|".join((START + pd.Timedelta(days=d)).isoformat() for d in (10, 20, 30))
    resources = pd.DataFrame({
        "resource_id": ["F1", "F2", "F3", "R1", "X"],
        "title": ["forum 1", "forum 2", "forum 3", "reading 1", "reading 2"],
        "kind": ["forum", "forum", "forum", "reading", "reading"],
        "assessment_deadlines": deadlines,
        "course_start": START.isoformat(),
    })
    learners = ["L1", "L2", "L3", "L4"]
    events = [(learner, "R1", 1.0) for learner in learners]
    events += [(learner, "F1", 11.0) for learner in learners]
    return _features(events, resources)


def _at(day: float) -> str:
    return (START + pd.Timedelta(days=day)).isoformat()


def test_deadline_phase_counts_days_since_the_latest_deadline() -> None:
    phase = deadline_phase(np.array([3.0, 10.0, 12.5, 25.0]), np.array([10.0, 20.0]))
    np.testing.assert_allclose(phase, [3.0, 0.0, 2.5, 5.0])


def test_release_tied_to_a_deadline_is_forecast_just_after_the_next_one() -> None:
    features = _deadline_world()
    model = ScheduledPopularityModel(window_days=7.0, category_column="kind", now=_at(20.5))
    model.fit(features)
    forecast = dict(zip(features.resource_map.ids, model.release_forecast_))
    # one forum release per past deadline (2 passed), uptake 4/4, spread over 2 unopened forums
    assert forecast["F2"] == pytest.approx(0.25) and forecast["F3"] == pytest.approx(0.25)
    assert forecast["X"] == 0.0  # readings were never released mid-course
    assert forecast["F1"] == 0.0 and forecast["R1"] == 0.0  # opened: their recency speaks
    learner = features.learner_map.index_of("L1")
    top, _ = model.recommend(np.array([learner]), k=2, exclude=features.interactions)
    assert sorted(features.resource_map.ids[i] for i in top[0]) == ["F2", "F3"]


def test_no_release_forecast_mid_cycle() -> None:
    features = _deadline_world()
    model = ScheduledPopularityModel(window_days=7.0, category_column="kind", now=_at(13.0))
    model.fit(features)
    # days 13..19 are 3..9 days after a deadline: forums come 1 day after one
    np.testing.assert_array_equal(model.release_forecast_, 0.0)


def test_release_forecast_names_a_missing_schedule_column() -> None:
    features = _deadline_world()
    model = ScheduledPopularityModel(deadline_column="deadlines", category_column="kind")
    with pytest.raises(InvalidParameterError, match="deadlines"):
        model.fit(features)


@pytest.mark.parametrize("anchor_on", ["first_access", "last_use"])
@pytest.mark.parametrize("model_class", [SequenceModel, CoAccessModel])
def test_fold_in_with_the_anchor_ages_reproduces_the_fitted_vector(model_class, anchor_on):
    # L1 starts A on day 0 and B on day 2 and goes back to A on day 5; the newest event (day 6)
    # is "now". Folding in L1's history with the ages the fit anchors on gives L1's vector.
    events = [("L1", "A", 0.0), ("L1", "B", 2.0), ("L1", "A", 5.0),
              ("L2", "A", 1.0), ("L2", "B", 3.0), ("L2", "C", 6.0)]
    features = _features(events)
    model = model_class(anchor_on=anchor_on).fit(features)
    a, b = features.resource_map.index_of("A"), features.resource_map.index_of("B")
    ages = HistoryAges(first_access=np.array([6.0, 4.0]), last_use=np.array([1.0, 4.0]))
    folded = model.fold_in(LearnerHistory(np.array([a, b]), ages=ages))  # reads its own kind
    learner = features.learner_map.index_of("L1")
    np.testing.assert_allclose(folded, model.learner_factors_[learner], rtol=1e-6)


@pytest.mark.parametrize("anchor_on", ["first_access", "last_use"])
@pytest.mark.parametrize("model_class", [SequenceModel, CoAccessModel])
def test_serving_fold_in_passes_the_ages_the_fit_used(model_class, anchor_on):
    """Serving's path (ColdStart from raw events) folds a learner's own events back into the
    vector training gave them: first-access ages for a model anchored on first access."""
    events = [("L1", "A", 0.0), ("L1", "B", 2.0), ("L1", "A", 6.0),  # A begun day 0, used day 6
              ("L2", "A", 1.0), ("L2", "B", 3.0), ("L2", "C", 5.0)]
    features = _features(events)
    model = model_class(anchor_on=anchor_on).fit(features)
    cold_start = ColdStart(model).fit(features)
    own = features.events[features.events["learner_id"] == "L1"].drop(columns="learner_id")
    found = cold_start.learner_vector(events=own)  # as a newcomer with L1's events
    assert found.cold_start == "fold_in"
    np.testing.assert_allclose(
        found.vector, model.learner_factors_[features.learner_map.index_of("L1")], rtol=1e-6)


def test_unknown_anchor_age_is_a_parameter_error():
    features = _features([("L1", "A", 0.0), ("L1", "B", 1.0)])
    with pytest.raises(InvalidParameterError, match="anchor_on"):
        SequenceModel(anchor_on="middle").fit(features)


def test_time_aware_with_the_release_forecast_puts_unreleased_resources_first():
    features = _deadline_world()  # every resource has the helper's one category here
    model = TimeAwareModel(
        parts=default_time_aware_parts(release_forecast=True), weights=[1.0, 0.0, 0.0],
    ).fit(features)
    recency = {part.name: part.model for part in model.parts_}["recent_popularity"]
    forecast = dict(zip(features.resource_map.ids, recency.release_forecast_))
    # "now" is the newest event (day 11), one day after the day-10 deadline, as F1 was: one
    # release (uptake 4/4) per passed deadline, spread over the three unopened resources
    assert forecast == pytest.approx({"F1": 0.0, "F2": 1 / 3, "F3": 1 / 3, "R1": 0.0, "X": 1 / 3})


def _lagging_world() -> FeatureSet:
    """Ten front runners did A, B, C early and start D now; six laggards did A, B later and
    start C now; "t" did A and B. The cohort's recent favourite is D; learners where t is
    started C."""
    events = [(f"f{i}", r, d) for i in range(10) for r, d in zip("ABC", (0, 3, 6))]
    events += [(f"f{i}", "D", 19 + i % 2) for i in range(10)]
    events += [(f"g{i}", r, d) for i in range(6) for r, d in zip("AB", (8, 12))]
    events += [(f"g{i}", "C", 19 + i % 2) for i in range(6)]
    events += [("t", "A", 10), ("t", "B", 14)]
    return _features(events)


def test_peers_give_a_lagging_learner_what_learners_at_their_position_started() -> None:
    world = _lagging_world()
    assert _top(RecentPopularityModel(group_column=None).fit(world), world, "t") == ["D"]
    peers = PeerRecencyModel(n_peers=5).fit(world)
    assert _top(peers, world, "t") == ["C"]
    # Fold-in finds the peers of a posted history at once, with no refit.
    idx = world.resource_map.indices_of

    def best(vector: np.ndarray, seen: list[str]) -> str:
        scores = peers.resource_factors_ @ vector
        scores[idx(seen)] = -np.inf
        return world.resource_map.id_of(int(np.argmax(scores)))

    assert best(peers.fold_in(LearnerHistory(idx(["A", "B"]))), ["A", "B"]) == "C"
    assert best(peers.fold_in(LearnerHistory(idx(["A"]))), ["A"]) == "C"  # near the laggards too


def test_peer_weights_are_shares_of_similar_learners() -> None:
    world = _lagging_world()
    peers = PeerRecencyModel(n_peers=5).fit(world)
    vector = peers.learner_factors_[world.learner_map.index_of("t")]
    assert vector[world.resource_map.index_of("C")] == pytest.approx(1.0)  # all 5 peers
    assert vector[world.resource_map.index_of("D")] == pytest.approx(0.0)
    with pytest.raises(InvalidParameterError, match="n_peers"):
        PeerRecencyModel(n_peers=0).fit(world)


def test_time_aware_can_add_the_peer_part(chain: FeatureSet) -> None:
    model = TimeAwareModel(peers=True, weights=(0.25, 0.25, 0.25, 0.25)).fit(chain)
    assert model.part_names == ["recent_popularity", "sequence", "co_occurrence", "peers"]
