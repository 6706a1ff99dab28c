"""Hybrid: weighted concatenation of parts under given weights (the weight search is in
tests/selection/test_hybrid_search.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from two_tastes import tiny_validation_split

from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet
from recommender.models import (
    ALSModel,
    ContentModel,
    HistoryAges,
    HybridModel,
    LearnerHistory,
    ModelPart,
    PopularityModel,
    model_parts,
)
from recommender.models.hybrid import score_scale


def _als() -> ALSModel:
    return ALSModel(factors=4, iterations=30, regularization=0.01)


def _als_content(weights: tuple[float, float]) -> HybridModel:
    parts = (("als", _als()), ("content", ContentModel(n_components=8)))
    return HybridModel(parts=parts, weights=weights)


@pytest.fixture(scope="module")
def split() -> tuple[FeatureSet, pd.DataFrame]:
    return tiny_validation_split()


def test_hybrid_score_is_the_weighted_sum_of_normalised_part_scores(split) -> None:
    train, _ = split
    model = _als_content((0.3, 0.7)).fit(train)
    als, content = (part.model for part in model.parts_)
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
    for part, scale in zip(model.parts_, model.scales_):
        scores = part.model.learner_factors_ @ part.model.resource_factors_.T / scale
        assert np.sqrt(np.mean(np.var(scores, axis=1))) == pytest.approx(1.0, rel=1e-4)
    np.testing.assert_allclose(model.weights_, [0.5, 0.5])  # weights are normalised to sum 1


def test_parts_protocol_names_each_fitted_part_and_its_weight(split) -> None:
    train, _ = split
    model = _als_content((0.3, 0.7)).fit(train)
    assert all(isinstance(part, ModelPart) for part in model.parts_)
    assert [(part.name, type(part.model), part.weight) for part in model.parts_] == [
        ("als", ALSModel, pytest.approx(0.3)), ("content", ContentModel, pytest.approx(0.7)),
    ]
    assert model_parts(model) == model.parts_
    als = model.parts_[0].model
    assert model_parts(als) == [ModelPart("ALSModel", als, 1.0)]  # a plain model: one part


def test_weights_are_required(split) -> None:
    """Choosing them is the selection layer's job: no silent default inside fit."""
    train, _ = split
    parts = (("als", _als()), ("popularity", PopularityModel()))
    with pytest.raises(InvalidParameterError, match="weights"):
        HybridModel(parts=parts).fit(train)


def test_with_weights_reuses_the_fitted_parts(split) -> None:
    train, _ = split
    parts = (("als", _als()), ("popularity", PopularityModel()))
    model = HybridModel(parts=parts, weights=(1, 0)).fit(train)
    other = model.with_weights({"als": 0.0, "popularity": 1.0})
    assert other.parts_[0].model is model.parts_[0].model
    assert [part.weight for part in other.parts_] == [0.0, 1.0]
    popularity = model.parts_[1].model
    everyone = np.arange(6)
    np.testing.assert_array_equal(
        other.recommend(everyone, k=6)[0], popularity.recommend(everyone, k=6)[0]
    )
    assert not np.array_equal(model.learner_factors_, other.learner_factors_)  # original untouched


def test_fold_in_concatenates_weighted_part_fold_ins(split) -> None:
    train, _ = split
    model = _als_content((0.4, 0.6)).fit(train)
    row = train.interactions[0]
    ages = np.arange(row.nnz, dtype=np.float64)
    history = LearnerHistory(row.indices, row.data, HistoryAges(ages + 5.0, ages))
    expected = np.concatenate([
        c * part.model.fold_in(history) for c, part in zip(model.coefficients_, model.parts_)
    ])
    np.testing.assert_allclose(model.fold_in(history), expected, rtol=1e-5)


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
