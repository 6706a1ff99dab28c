"""The default configs choose what the searches inside ``fit`` chose before they moved out.

The recorded choices come from the old path (selection inside ``HybridModel.fit``,
``TimeAwareModel.fit`` and ``RecentPopularityModel.fit``), run on these worlds before the move;
the published experiment tables depend on them. Each search must choose the same and then be,
bit for bit, the estimator fitted with those parameters given explicitly.
"""

from __future__ import annotations

import numpy as np
import pytest
from two_tastes import tiny_tables

from recommender.data import validate_dataset
from recommender.features import FeatureSet, build_feature_set
from recommender.models import HybridModel, RecentPopularityModel, TimeAwareModel
from recommender.selection import (
    HybridWeightSearch,
    RecencyWindowSearch,
    TimeAwareSearch,
    build_model,
)
from time_worlds import shifting_world


@pytest.fixture(scope="module")
def tiny() -> FeatureSet:
    return build_feature_set(validate_dataset(*tiny_tables()))


@pytest.fixture(scope="module")
def shifting() -> FeatureSet:
    return shifting_world()


def _same_vectors(search, explicit) -> None:
    np.testing.assert_array_equal(search.learner_factors_, explicit.learner_factors_)
    np.testing.assert_array_equal(search.resource_factors_, explicit.resource_factors_)


def test_hybrid_default_chooses_the_recorded_weights(tiny: FeatureSet) -> None:
    search = build_model("hybrid", {}).fit(tiny)
    assert isinstance(search, HybridWeightSearch)
    assert search.best_params_ == {"weights": (0.25, 0.25, 0.5)}
    _same_vectors(search, HybridModel(weights=(0.25, 0.25, 0.5)).fit(tiny))


def test_recent_popularity_chooses_the_recorded_window(shifting: FeatureSet) -> None:
    search = build_model("recent_popularity",
                         {"window_days": "validation", "group_column": ""}).fit(shifting)
    assert isinstance(search, RecencyWindowSearch)
    assert search.best_params_ == {"window_days": 1.0}
    assert list(search.cv_results_["window_days"]) == [1.0, 3.0, 7.0, 14.0, 28.0]
    _same_vectors(search, RecentPopularityModel(window_days=1.0, group_column="").fit(shifting))


@pytest.mark.parametrize(("params", "chosen"), [
    ({}, {"window_days": 3.0, "weights": (0.0, 0.5, 0.5)}),
    ({"weights": [0.5, 0.25, 0.25]}, {"window_days": 3.0}),
    ({"breadth_groups": 3}, {"window_days": 3.0, "breadth_window_days": 3.0,
                             "weights": (0.0, 0.0, 0.5, 0.5)}),
])
def test_time_aware_chooses_the_recorded_windows_and_weights(
    shifting: FeatureSet, params: dict, chosen: dict
) -> None:
    search = build_model("time_aware", params).fit(shifting)
    assert isinstance(search, TimeAwareSearch)
    assert search.best_params_ == chosen
    assert len(search.validated_on_) == 3
    explicit = TimeAwareModel(**{**params, **chosen}).fit(shifting)
    _same_vectors(search, explicit)
