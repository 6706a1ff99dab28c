"""Hybrid: weighted concatenation of parts, weights chosen on a validation split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from two_tastes import tiny_tables

from recommender.data import validate_dataset
from recommender.errors import InvalidParameterError, NotFittedError
from recommender.features import FeatureSet, build_feature_set
from recommender.models import (
    ALSModel,
    ContentModel,
    HybridModel,
    PopularityModel,
    choose_hybrid_weights,
)
from recommender.models.cold_start import fold_in
from recommender.models.hybrid import score_scale, weight_grid


def _als() -> ALSModel:
    return ALSModel(factors=4, iterations=30, regularization=0.01)


def _als_content(weights: tuple[float, float]) -> HybridModel:
    parts = (("als", _als()), ("content", ContentModel(n_components=8)))
    return HybridModel(parts=parts, weights=weights)


@pytest.fixture(scope="module")
def split() -> tuple[FeatureSet, pd.DataFrame]:
    """Train on the tiny world; validation: a2 goes on to r3 and b2 to r6, their group's third."""
    world = validate_dataset(*tiny_tables())
    validation = pd.DataFrame({
        "event_id": ["v1", "v2"], "learner_id": ["a2", "b2"], "resource_id": ["r3", "r6"],
        "event_type": ["view", "view"], "value": [np.nan, np.nan],
        "timestamp": pd.to_datetime(["2024-02-01T00:00Z", "2024-02-01T01:00Z"]),
    })
    return build_feature_set(world), validation


def test_hybrid_score_is_the_weighted_sum_of_normalised_part_scores(split) -> None:
    train, _ = split
    model = _als_content((0.3, 0.7)).fit(train)
    als, content = (part for _, part in model.parts_)
    expected = (
        0.3 * (als.learner_factors_ @ als.resource_factors_.T) / score_scale(als, train)
        + 0.7 * (content.learner_factors_ @ content.resource_factors_.T) / score_scale(content, train)
    )
    scores = model.learner_factors_ @ model.resource_factors_.T
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)
    top, scores = model.recommend(np.arange(6), k=6)
    np.testing.assert_allclose(scores, expected[np.arange(6)[:, None], top], rtol=1e-4, atol=1e-5)
    widths = als.resource_factors_.shape[1] + content.resource_factors_.shape[1]
    assert model.resource_factors_.shape[1] == widths


def test_parts_are_put_on_one_scale(split) -> None:
    train, _ = split
    model = _als_content((1, 1)).fit(train)
    for (_, part), scale in zip(model.parts_, model.scales_):
        scores = part.learner_factors_ @ part.resource_factors_.T / scale
        assert np.sqrt(np.mean(np.var(scores, axis=1))) == pytest.approx(1.0, rel=1e-4)
    np.testing.assert_allclose(model.weights_, [0.5, 0.5])  # weights are normalised to sum 1


def test_weights_are_chosen_on_validation(split) -> None:
    """Popularity recommends r5 / r2 (wrong), ALS r3 / r6 (right): the search must favour ALS."""
    train, validation = split
    parts = [("als", _als()), ("popularity", PopularityModel())]
    search = choose_hybrid_weights(parts, train, validation)
    table = search.table
    assert list(table.columns[:2]) == ["als", "popularity"] and len(table) == len(weight_grid(2))
    assert search.score == table["ndcg_at_10"].max() == pytest.approx(1.0)
    als_only = table[(table.als == 1.0)]["ndcg_at_10"].item()
    popularity_only = table[(table.popularity == 1.0)]["ndcg_at_10"].item()
    assert als_only == pytest.approx(1.0) and popularity_only < 0.7
    assert search.weights[0] >= search.weights[1]


def test_weights_none_searches_inside_fit(split) -> None:
    train, _ = split
    model = HybridModel(parts=(("als", _als()), ("popularity", PopularityModel()))).fit(train)
    assert model.weight_search_.metric == "ndcg_at_10"
    np.testing.assert_allclose(model.weights_, model.weight_search_.weights)
    assert model.weights_.sum() == pytest.approx(1.0)


def test_with_weights_reuses_the_fitted_parts(split) -> None:
    train, _ = split
    parts = (("als", _als()), ("popularity", PopularityModel()))
    model = HybridModel(parts=parts, weights=(1, 0)).fit(train)
    other = model.with_weights({"als": 0.0, "popularity": 1.0})
    assert other.parts_[0][1] is model.parts_[0][1]
    popularity = model.parts_[1][1]
    everyone = np.arange(6)
    np.testing.assert_array_equal(
        other.recommend(everyone, k=6)[0], popularity.recommend(everyone, k=6)[0]
    )
    assert not np.array_equal(model.learner_factors_, other.learner_factors_)  # original untouched


def test_fold_in_concatenates_weighted_part_fold_ins(split) -> None:
    train, _ = split
    model = _als_content((0.4, 0.6)).fit(train)
    row = train.interactions[0]
    expected = np.concatenate([
        c * fold_in(part, row.indices, row.data)
        for c, (_, part) in zip(model.coefficients_, model.parts_)
    ])
    np.testing.assert_allclose(model.fold_in(row.indices, row.data), expected, rtol=1e-5)


@pytest.mark.parametrize(("parts", "weights", "name"), [
    (("als", "content"), (1.0, -1.0), "weights"),
    (("als", "content"), (0.0, 0.0), "weights"),
    (("als", "content"), (1.0,), "weights"),
    (("als", "content"), {"als": 1.0}, "weights"),
    (("als", "als"), (1.0, 1.0), "parts"),
    (("als", "nonsense"), (1.0, 1.0), "parts"),
    (("hybrid",), (1.0,), "parts"),
    ((), None, "parts"),
])
def test_bad_parts_or_weights_name_the_parameter(split, parts, weights, name) -> None:
    train, _ = split
    with pytest.raises(InvalidParameterError, match=name):
        HybridModel(parts=parts, weights=weights).fit(train)


def test_weight_grid_and_unfitted_search(split) -> None:
    grid = weight_grid(3, 0.5)
    assert len(grid) == 6 and all(sum(w) == pytest.approx(1.0) for w in grid)
    assert grid[0] == (0.0, 0.5, 0.5)  # most balanced first (ties go to mixing)
    with pytest.raises(InvalidParameterError, match="grid_step"):
        weight_grid(2, 0.3)
    train, validation = split
    with pytest.raises(NotFittedError):
        choose_hybrid_weights(HybridModel(), train, validation)
