"""The searches that ran inside ``fit`` choose what they chose before they moved out.

Recorded on the old path (selection inside ``HybridModel.fit`` / ``TimeAwareModel.fit`` /
``RecentPopularityModel.fit``) before the move; the published experiment tables depend on it.
"""

from __future__ import annotations

import numpy as np
import pytest
from two_tastes import tiny_tables

from recommender.data import validate_dataset
from recommender.features import FeatureSet, build_feature_set
from recommender.models import HybridModel, RecentPopularityModel, TimeAwareModel
from time_worlds import shifting_world


@pytest.fixture(scope="module")
def tiny() -> FeatureSet:
    return build_feature_set(validate_dataset(*tiny_tables()))


def test_hybrid_default_chooses_the_recorded_weights(tiny: FeatureSet) -> None:
    model = HybridModel().fit(tiny)
    np.testing.assert_allclose(model.weights_, [0.25, 0.25, 0.5])


def test_recent_popularity_chooses_the_recorded_window() -> None:
    model = RecentPopularityModel(window_days="validation", group_column="").fit(shifting_world())
    assert model.window_days_ == 1.0


def test_time_aware_default_chooses_the_recorded_window_and_weights() -> None:
    model = TimeAwareModel().fit(shifting_world())
    assert model.window_days_ == 3.0
    np.testing.assert_allclose(model.weights_, [0.0, 0.5, 0.5])
