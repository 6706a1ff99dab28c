"""Global and per-group popularity, written as inner products."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data import validate_dataset
from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet, build_feature_set
from recommender.models import GroupPopularityModel, LearnerHistory, PopularityModel

# Retirees a1..a3 all use r1; rural b1, b2 both use r3; r2 is used by one of each; a1's only
# contact with r4 is a dismissal (no confidence); c1 (youth) has no events at all.
PLAN = [
    ("a1", "r1", "view"), ("a2", "r1", "view"), ("a3", "r1", "enroll"),
    ("a1", "r2", "view"), ("b1", "r2", "view"),
    ("b1", "r3", "view"), ("b2", "r3", "complete"),
    ("a1", "r4", "dismiss"),
]


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    learners = pd.DataFrame({
        "learner_id": ["a1", "a2", "a3", "b1", "b2", "c1"],
        "group": ["retiree"] * 3 + ["rural_resident"] * 2 + ["youth"],
    })
    resources = pd.DataFrame({
        "resource_id": ["r1", "r2", "r3", "r4"], "title": ["智能手机", "网上挂号", "大棚蔬菜", "果树修剪"],
        "category": ["digital_literacy"] * 2 + ["agricultural_technology"] * 2, "mode": ["online"] * 4,
    })
    events = pd.DataFrame([
        {"event_id": f"e{i}", "learner_id": learner, "resource_id": resource, "event_type": kind,
         "value": "", "timestamp": f"2024-01-01T{i:02d}:00:00Z"}
        for i, (learner, resource, kind) in enumerate(PLAN)
    ])
    return build_feature_set(validate_dataset(learners, resources, events))


def test_global_popularity_is_the_share_of_learners_who_engaged(features: FeatureSet) -> None:
    model = PopularityModel().fit(features)
    np.testing.assert_allclose(model.popularity_, [3 / 6, 2 / 6, 2 / 6, 0.0])  # dismissal counts 0
    np.testing.assert_array_equal(model.learner_factors_, np.ones((6, 1)))
    top, scores = model.recommend(np.arange(6), k=4)
    assert (top[:, 0] == 0).all() and (top[:, 3] == 3).all()  # same list for everyone
    np.testing.assert_allclose(scores[0], [0.5, 1 / 3, 1 / 3, 0.0], rtol=1e-6)


def test_each_group_sees_its_own_favourites_first(features: FeatureSet) -> None:
    model = GroupPopularityModel(global_weight=0.1).fit(features)
    assert model.groups_ == ["retiree", "rural_resident", "youth"]
    resources = features.resource_map
    top, _ = model.recommend(features.learner_map.indices_of(["a2", "b2", "c1"]), k=1)
    assert [resources.id_of(i) for i in top[:, 0]] == ["r1", "r3", "r1"]  # c1's group used nothing
    # Per-group shares: r2 is used by 1 of 3 retirees and 1 of 2 rural residents.
    np.testing.assert_allclose(model.resource_factors_[1, 1:], [1 / 3, 1 / 2, 0.0], rtol=1e-6)
    np.testing.assert_allclose(model.learner_factors_[0], [0.1, 1.0, 0.0, 0.0])


def test_global_weight_breaks_ties_within_a_group(features: FeatureSet) -> None:
    """For a retiree, r3 and r4 are both unused by the group; r3 is more popular overall."""
    model = GroupPopularityModel(global_weight=0.1).fit(features)
    top, _ = model.recommend(features.learner_map.index_of("a1"), k=4)
    assert [features.resource_map.id_of(i) for i in top[0]] == ["r1", "r2", "r3", "r4"]


def test_group_vector_for_newcomers(features: FeatureSet) -> None:
    model = GroupPopularityModel(global_weight=0.1).fit(features)
    nothing = LearnerHistory(np.array([], dtype=np.int64))
    rural = model.fold_in(nothing, profile={"group": "rural_resident"})
    np.testing.assert_allclose(rural, [0.1, 0.0, 1.0, 0.0])
    unknown = model.fold_in(LearnerHistory(np.array([0])), profile={"group": "astronaut"})
    np.testing.assert_allclose(unknown, [0.1, 0, 0, 0])
    no_global = GroupPopularityModel(global_weight=0.0).fit(features)
    np.testing.assert_allclose(no_global.group_vector(None), [1.0, 0, 0, 0])  # global list, not zeros


def test_invalid_global_weight_names_the_parameter(features: FeatureSet) -> None:
    with pytest.raises(InvalidParameterError, match="global_weight"):
        GroupPopularityModel(global_weight=-1).fit(features)
