"""The recency window and time-aware searches on a world whose right window is known, and
build_model's routing of a config to the estimator and its search."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from recommender.errors import ConfigError, InvalidParameterError
from recommender.evaluation.rolling import rolling_evaluate
from recommender.features import FeatureSet, InteractionWeights
from recommender.models import HybridModel, RecentPopularityModel, TimeAwareModel
from recommender.selection import (
    RecencyWindowSearch,
    TimeAwareSearch,
    build_model,
    check_model_params,
)
from time_worlds import START, dated_features, shifting_world


@pytest.fixture(scope="module")
def shifting() -> FeatureSet:
    return shifting_world()


def test_the_window_is_chosen_on_validation_data(shifting: FeatureSet) -> None:
    """At the cuts a 28-day window ranks the stale A's first for learners 30..39, a 3-day
    window the W's they have not started yet."""
    search = RecencyWindowSearch(RecentPopularityModel(group_column=None),
                                 window_candidates=(28.0, 3.0), validation_cuts=2)
    search.fit(shifting)
    assert search.best_params_ == {"window_days": 3.0}
    assert list(search.cv_results_["window_days"]) == [3.0, 28.0]
    scores = search.cv_results_["ndcg_at_10"]
    assert scores.iloc[0] > scores.iloc[1] and search.best_score_ == scores.iloc[0]
    assert search.best_estimator_.window_days == 3.0
    with pytest.raises(InvalidParameterError, match="window_days"):
        RecentPopularityModel(window_days=-1.0).fit(shifting)
    with pytest.raises(InvalidParameterError, match="window_candidates"):
        RecencyWindowSearch(RecentPopularityModel(), window_candidates=()).fit(shifting)


def test_time_aware_search_chooses_windows_then_a_coarse_weight_grid(
    shifting: FeatureSet,
) -> None:
    search = TimeAwareSearch(TimeAwareModel(), window_candidates=(3.0, 28.0), validation_cuts=2)
    search.fit(shifting)
    assert search.best_params_["window_days"] == 3.0
    assert search.window_results_["window_days"].tolist() == [3.0, 28.0]
    table = search.cv_results_
    assert table.shape[0] == 6  # the 3-part grid at step 0.5
    assert set(np.unique(table[search.best_estimator_.part_names].to_numpy())) <= {0.0, 0.5, 1.0}
    assert sum(search.best_params_["weights"]) == pytest.approx(1.0)
    assert len(search.validated_on_) == 2
    # A search is an estimator like any other: the rolling protocol clones and fits it per cut.
    result = rolling_evaluate(
        shifting, {"time_aware": clone(search), "recent": RecentPopularityModel(group_column=None)},
        [START + pd.Timedelta(days=50)],
    )
    assert set(result.summary()["mean"].index) == {"time_aware", "recent"}


def test_without_a_validation_window_the_choice_is_equal_weights_and_the_middle_window() -> None:
    features = dated_features([("a", "X", 0.0), ("b", "X", 0.0), ("a", "Y", 0.0)])
    search = TimeAwareSearch(TimeAwareModel()).fit(features)
    assert search.validated_on_ == []
    # the middle of the sorted candidates 3, 7, 14, 28
    assert search.best_params_ == {"window_days": 14.0, "weights": (1 / 3, 1 / 3, 1 / 3)}


def test_build_model_routes_each_key_to_the_estimator_or_its_search() -> None:
    weights = InteractionWeights()
    search = build_model("time_aware", {"peers": True, "grid_step": 0.25, "validation_cuts": 2},
                         random_state=7, interaction_weights=weights)
    assert isinstance(search, TimeAwareSearch)
    assert (search.grid_step, search.validation_cuts) == (0.25, 2)
    assert search.interaction_weights is weights
    assert search.windows == ("window_days",)  # no breadth part: no breadth window to choose
    breadth = build_model("time_aware", {"breadth_groups": 3, "breadth_window_days": 7})
    assert breadth.windows == ("window_days",) and breadth.estimator.breadth_window_days == 7
    assert search.estimator.peers is True and search.estimator.random_state == 7
    # Given weights: only the windows are searched; given windows too: the plain estimator.
    only_windows = build_model("time_aware", {"weights": [0.5, 0.25, 0.25]})
    assert isinstance(only_windows, TimeAwareSearch) and only_windows.grid_step is None
    plain = build_model("time_aware", {"weights": [0.5, 0.25, 0.25], "window_days": 3})
    assert type(plain) is TimeAwareModel and plain.window_days == 3.0
    assert type(build_model("recent_popularity", {"window_days": 3})) is RecentPopularityModel
    window = build_model("recent_popularity", {"window_days": "validation",
                                               "window_candidates": [3, 7]})
    assert isinstance(window, RecencyWindowSearch) and list(window.window_candidates) == [3, 7]
    assert window.estimator.window_days == 7.0  # the estimator's default until chosen
    assert type(build_model("hybrid", {"weights": [1, 1, 1]})) is HybridModel


@pytest.mark.parametrize(("name", "params", "key"), [
    ("recent_popularity", {"window_days": 7, "validation_cuts": 2}, "validation_cuts"),
    ("hybrid", {"weights": [1, 1, 1], "grid_step": 0.5}, "grid_step"),
    ("time_aware", {"weights": [1, 1, 1], "grid_step": 0.5}, "grid_step"),
    ("time_aware", {"grid_step": "coarse"}, "grid_step"),
    ("hybrid", {"validation_fraction": 0.2, "nonsense": 1}, "nonsense"),
])
def test_a_search_key_the_config_does_not_use_is_refused(name, params, key) -> None:
    problems = check_model_params(name, params)
    assert problems and all(f"'{key}'" in problem for problem in problems)
    with pytest.raises(ConfigError, match=key):
        build_model(name, params)
