"""The hybrid's weight search: a GridSearchCV-shaped wrapper around an unfitted HybridModel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from two_tastes import tiny_validation_split

from recommender.errors import InvalidParameterError, NotFittedError
from recommender.features import FeatureSet
from recommender.models import ALSModel, HybridModel, LearnerHistory, PopularityModel
from recommender.selection import HybridWeightSearch, build_model, weight_grid
from recommender.selection.hybrid import score_weight_grid


def _parts() -> tuple[tuple[str, object], ...]:
    return (("als", ALSModel(factors=4, iterations=30, regularization=0.01)),
            ("popularity", PopularityModel()))


@pytest.fixture(scope="module")
def split() -> tuple[FeatureSet, pd.DataFrame]:
    return tiny_validation_split()


def test_grid_scores_favour_the_part_that_is_right(split) -> None:
    """Popularity recommends r5 / r2 (wrong), ALS r3 / r6 (right): the grid must say so."""
    train, validation = split
    hybrid = HybridModel(parts=_parts(), weights=(1.0, 1.0)).fit(train)
    table = score_weight_grid(hybrid, train, validation, weight_grid(2))
    assert list(table.columns[:2]) == ["als", "popularity"] and len(table) == len(weight_grid(2))
    als_only = table[table.als == 1.0]["ndcg_at_10"].item()
    popularity_only = table[table.popularity == 1.0]["ndcg_at_10"].item()
    assert als_only == pytest.approx(1.0) and popularity_only < 0.7


def test_search_refits_the_best_weights_and_is_that_model_after_fit(split) -> None:
    train, _ = split
    search = build_model("hybrid", {"parts": _parts(), "grid_step": 0.5})
    assert isinstance(search, HybridWeightSearch) and search.grid_step == 0.5
    assert search.fit(train) is search
    assert len(search.cv_results_) == len(weight_grid(2, 0.5))
    assert search.best_score_ == search.cv_results_["ndcg_at_10"].max()
    weights = search.best_params_["weights"]
    explicit = HybridModel(parts=_parts(), weights=weights).fit(train)
    assert isinstance(search.best_estimator_, HybridModel)
    np.testing.assert_array_equal(search.learner_factors_, explicit.learner_factors_)
    np.testing.assert_array_equal(search.resource_factors_, explicit.resource_factors_)
    assert [part.weight for part in search.parts_] == pytest.approx(list(weights))
    history = LearnerHistory(np.array([0, 1]))
    np.testing.assert_array_equal(search.fold_in(history), explicit.fold_in(history))
    top, _ = search.recommend(np.arange(6), k=2)
    np.testing.assert_array_equal(top, explicit.recommend(np.arange(6), k=2)[0])


def test_given_weights_build_the_plain_estimator() -> None:
    model = build_model("hybrid", {"parts": ["als", "popularity"], "weights": [0.5, 0.5]})
    assert type(model) is HybridModel and list(model.weights) == [0.5, 0.5]


def test_weight_grid_and_unfitted_search(split) -> None:
    grid = weight_grid(3, 0.5)
    assert len(grid) == 6 and all(sum(w) == pytest.approx(1.0) for w in grid)
    assert grid[0] == (0.0, 0.5, 0.5)  # most balanced first (ties go to mixing)
    with pytest.raises(InvalidParameterError, match="grid_step"):
        weight_grid(2, 0.3)
    search = HybridWeightSearch(HybridModel(parts=_parts()))
    with pytest.raises(NotFittedError, match="HybridWeightSearch"):
        search.recommend(0)
    with pytest.raises(AttributeError):
        search.best_estimator_  # noqa: B018
    with pytest.raises(InvalidParameterError, match="estimator"):
        HybridWeightSearch(PopularityModel()).fit(split[0])
