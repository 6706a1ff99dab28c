"""The one contract every model in MODELS keeps, on the two-taste tiny world of conftest.

a1..a3 use r1..r3 (digital literacy), b1..b3 use r4..r6 (agricultural technology); a2 never
used r3 and b2 never used r6, so the right next resource is r3 for a2 and r6 for b2 (for global
popularity, which has no taste: the most used resource each has not done, r5 and r2).
"""

from __future__ import annotations

import numpy as np
import pytest
from two_tastes import tiny_tables
from sklearn.base import clone

from recommender.data import validate_dataset
from recommender.errors import NotFittedError
from recommender.features import FeatureSet, build_feature_set
from recommender.models import MODELS, EmbeddingModel
from recommender.models.cold_start import fold_in

# Small settings for a 6 x 6 world; every other parameter is the model's default.
TINY_PARAMS: dict[str, dict] = {
    "als": {"factors": 4, "iterations": 30, "regularization": 0.01},
    "bpr": {"factors": 4, "iterations": 300, "learning_rate": 0.1},
    "content": {"n_components": 8},
    "hybrid": {"parts": ("als", "ease", "content"), "weights": None},
}
NO_TASTE = {"popularity"}  # the same list for everyone, by design


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    return build_feature_set(validate_dataset(*tiny_tables()))


def _make(name: str) -> EmbeddingModel:
    params = dict(TINY_PARAMS.get(name, {}))
    if name == "hybrid":  # hybrid parts get the tiny settings too
        params["parts"] = tuple(
            (part, MODELS[part](**TINY_PARAMS.get(part, {}))) for part in params["parts"]
        )
    return MODELS[name](**params)


@pytest.fixture(scope="module")
def fitted(features: FeatureSet) -> dict[str, EmbeddingModel]:
    return {name: _make(name).fit(features) for name in MODELS}


def test_registry_names() -> None:
    assert set(MODELS) >= {"popularity", "group_popularity", "als", "bpr", "ease", "content", "hybrid"}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fit_returns_self_and_learned_state_ends_in_underscore(name: str, features: FeatureSet) -> None:
    model = _make(name)
    before = set(vars(model))
    assert before == set(model.get_params(deep=False))  # the constructor only stores parameters
    assert model.fit(features) is model
    learned = set(vars(model)) - before
    assert learned and all(attribute.endswith("_") for attribute in learned), learned
    assert clone(model).get_params(deep=False).keys() == model.get_params(deep=False).keys()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_unfitted_model_raises_not_fitted(name: str) -> None:
    model = _make(name)
    with pytest.raises(NotFittedError, match=type(model).__name__):
        model.recommend(0)
    with pytest.raises(NotFittedError):
        fold_in(model, np.array([0]))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_vectors_share_one_space_and_inner_product_is_the_score(
    name: str, fitted: dict[str, EmbeddingModel], features: FeatureSet
) -> None:
    model = fitted[name]
    n_learners, n_resources = features.shape
    learners, resources = model.learner_factors_, model.resource_factors_
    assert learners.dtype == np.float32 and resources.dtype == np.float32
    assert learners.shape[0] == n_learners and resources.shape[0] == n_resources
    assert learners.shape[1] == resources.shape[1]
    assert np.isfinite(learners).all() and np.isfinite(resources).all()
    every = np.arange(n_learners)
    top, scores = model.recommend(every, k=n_resources)
    expected = (learners @ resources.T)[every[:, None], top]
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first


@pytest.mark.parametrize("name", sorted(MODELS))
def test_recommends_within_taste_group(
    name: str, fitted: dict[str, EmbeddingModel], features: FeatureSet
) -> None:
    model, learners, resources = fitted[name], features.learner_map, features.resource_map
    top, _ = model.recommend(learners.indices_of(["a2", "b2"]), k=1, exclude=features.exclusions)
    got = [resources.id_of(i) for i in top[:, 0]]
    assert got == (["r5", "r2"] if name in NO_TASTE else ["r3", "r6"])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_excludes_seen_and_an_arbitrary_set(
    name: str, fitted: dict[str, EmbeddingModel], features: FeatureSet
) -> None:
    model, learners, resources = fitted[name], features.learner_map, features.resource_map
    a1 = learners.index_of("a1")
    top, scores = model.recommend(
        a1, k=6, exclude=features.exclusions, exclude_resources=resources.indices_of(["r4"])
    )
    returned = {resources.id_of(i) for i in top[0] if i >= 0}
    assert returned == {"r5", "r6"}  # r1..r3 completed, r4 excluded on request
    assert (top[0, 2:] == -1).all() and np.isneginf(scores[0, 2:]).all()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fold_in_gives_a_vector_in_the_same_space(
    name: str, fitted: dict[str, EmbeddingModel], features: FeatureSet
) -> None:
    """A learner's own history, folded in without retraining, points the same way as training."""
    model, learners, resources = fitted[name], features.learner_map, features.resource_map
    a2 = learners.index_of("a2")
    row = features.interactions[a2]
    vector = fold_in(model, row.indices, row.data, features.learners.iloc[a2])
    assert vector.shape == (model.resource_factors_.shape[1],) and np.isfinite(vector).all()
    scores = model.resource_factors_ @ vector
    scores[row.indices] = -np.inf  # what a2 already did
    expected = "r5" if name in NO_TASTE else "r3"
    assert resources.id_of(int(np.argmax(scores))) == expected


@pytest.mark.parametrize("name", sorted(MODELS))
def test_default_fit_is_reproducible_from_its_seed(
    name: str, fitted: dict[str, EmbeddingModel], features: FeatureSet
) -> None:
    """A run must be reproducible from config and seed: a second fit gives the same factors."""
    again = _make(name).fit(features)
    np.testing.assert_array_equal(again.learner_factors_, fitted[name].learner_factors_)
    np.testing.assert_array_equal(again.resource_factors_, fitted[name].resource_factors_)
