"""Recent popularity per breadth group, on a tiny world whose answer is known.

Broad learners open the week's side material as well as its quiz, narrow learners only the
quiz. The cohort as a whole opened the quiz Q2 most lately, so plain recency gives everyone
Q2; within the broad group the side page S2 leads, so a broad learner gets S2 and a narrow
one Q2, also when their history is only posted (fold-in), with no refit.
"""

from __future__ import annotations

import pytest
from time_worlds import dated_features

from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet
from recommender.models import (
    BreadthRecencyModel,
    LearnerHistory,
    RecentPopularityModel,
    TimeAwareModel,
)

EARLY_SIDE = ["S1a", "S1b", "S1c"]


@pytest.fixture(scope="module")
def world() -> FeatureSet:
    """Five narrow learners did Q1 early and start Q2 now, two did only Q1; five broad learners
    did Q1 and three side pages early, four start S2 now and one Q2; "b" is broad and has
    started neither."""
    events = [(f"n{i}", "Q1", i % 3) for i in range(7)]
    events += [(f"n{i}", "Q2", 20 + i % 3) for i in range(5)]
    for i in range(5):
        events += [(f"w{i}", r, d) for r, d in zip(["Q1", *EARLY_SIDE], (0, 1, 2, 3))]
        events += [(f"w{i}", "S2" if i < 4 else "Q2", 20 + i % 3)]
    events += [("b", r, d) for r, d in zip(["Q1", *EARLY_SIDE], (1, 2, 3, 4))]
    return dated_features(events)


def _top(model, features: FeatureSet, learner_id: str) -> str:
    top, _ = model.recommend(features.learner_map.index_of(learner_id), k=1,
                             exclude=features.interactions)
    return features.resource_map.id_of(int(top[0][0]))


def test_a_broad_learner_gets_what_broad_learners_started_lately(world: FeatureSet) -> None:
    assert _top(RecentPopularityModel(group_column=None).fit(world), world, "b") == "Q2"
    model = BreadthRecencyModel(bins=2).fit(world)
    assert _top(model, world, "b") == "S2"
    assert model.groups_ == ["breadth_0", "breadth_1"]


def test_fold_in_places_a_posted_history_in_its_breadth_group(world: FeatureSet) -> None:
    model = BreadthRecencyModel(bins=2).fit(world)
    idx = world.resource_map.indices_of
    narrow = model.resource_factors_ @ model.fold_in(LearnerHistory(idx(["Q1"])))
    broad = model.resource_factors_ @ model.fold_in(LearnerHistory(idx(["Q1", *EARLY_SIDE])))
    assert narrow[idx(["Q2"])[0]] > narrow[idx(["S2"])[0]]
    assert broad[idx(["S2"])[0]] > broad[idx(["Q2"])[0]]
    # A fitted learner's vector is the fold-in of their own history.
    own = model.fold_in(LearnerHistory(idx(["Q1", *EARLY_SIDE])))
    assert (model.learner_factors_[world.learner_map.index_of("b")] == own).all()


def test_time_aware_can_add_the_breadth_part(world: FeatureSet) -> None:
    model = TimeAwareModel(breadth_groups=2, weights=(0.0, 0.0, 0.0, 1.0)).fit(world)
    assert model.part_names == ["recent_popularity", "sequence", "co_occurrence", "breadth"]
    assert _top(model, world, "b") == "S2"


def test_bins_must_be_a_positive_integer(world: FeatureSet) -> None:
    with pytest.raises(InvalidParameterError, match="bins"):
        BreadthRecencyModel(bins=0).fit(world)
