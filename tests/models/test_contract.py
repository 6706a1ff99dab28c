"""The one contract every model keeps, on the two-taste tiny world of conftest: every class in
MODELS, every option that swaps in another class, and the searches ``build_model`` returns.

a1..a3 use r1..r3 (digital literacy), b1..b3 use r4..r6 (agricultural technology); a2 never
used r3 and b2 never used r6, so the right next resource is r3 for a2 and r6 for b2 (for models
with no taste on this world, global popularity among them: the most used resource each has not
done, r5 and r2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from two_tastes import tiny_tables
from sklearn.base import clone

from recommender.bundle import build_bundle, load_bundle, save_bundle
from recommender.data import validate_dataset
from recommender.errors import NotFittedError
from recommender.features import FeatureSet, build_feature_set
from recommender.models import (
    MODELS,
    OPTION_PARTS,
    ALSModel,
    ContentModel,
    EASEModel,
    EmbeddingModel,
    HistoryAges,
    LearnerHistory,
    model_parts,
)
from recommender.selection import AUTO, SearchCV, build_model

TINY_ALS = {"factors": 4, "iterations": 30, "regularization": 0.01}
TINY_PARTS = (("als", ALSModel(**TINY_ALS)), ("ease", EASEModel()),
              ("content", ContentModel(n_components=8)))
# (label, MODELS name, config params): every registered class with small settings for a 6 x 6
# world, the options that swap in other classes, and the configs that ask for a search.
CASES: list[tuple[str, str, dict]] = [
    ("popularity", "popularity", {}),
    ("group_popularity", "group_popularity", {}),
    ("als", "als", TINY_ALS),
    ("bpr", "bpr", {"factors": 4, "iterations": 300, "learning_rate": 0.1}),
    ("ease", "ease", {}),
    ("content", "content", {"n_components": 8}),
    ("hybrid", "hybrid", {"parts": TINY_PARTS, "weights": (0.25, 0.25, 0.5)}),
    ("hybrid_search", "hybrid", {"parts": TINY_PARTS}),
    # parts as full model specs, as a config writes them (each built by build_model)
    ("hybrid_configured_parts", "hybrid", {
        "parts": {"ease": {"regularization": 50.0}, "als": {**TINY_ALS, "alpha": 4.0}},
        "weights": {"ease": 0.75, "als": 0.25}}),
    ("rp3beta", "rp3beta", {}),
    # the default model: a family chosen on validation (no time pressure on a 6 x 6 world)
    ("auto_search", "auto", {"candidates": ["popularity", "ease", "rp3beta"],
                             "budget_factor": 1e9, "hybrid_parts": 0}),
    ("recent_popularity", "recent_popularity", {}),
    ("recent_popularity_search", "recent_popularity", {"window_days": "validation"}),
    ("scheduled_popularity", "scheduled_popularity", {}),
    ("peer_recency", "peer_recency", {"n_peers": 2}),
    ("breadth_recency", "breadth_recency", {}),
    ("sequence", "sequence", {}),
    ("co_occurrence", "co_occurrence", {}),
    ("time_aware", "time_aware", {"weights": (0.25, 0.5, 0.25), "window_days": 7}),
    ("time_aware_search", "time_aware", {}),
    ("time_aware_peers", "time_aware", {"peers": True}),
    # equal weights (no validation window on this world) would let two tasteless parts of four
    # outvote the two with taste; the windows are still searched
    ("time_aware_breadth", "time_aware", {"breadth_groups": 2, "weights": (0, 0.5, 0.25, 0.25)}),
    ("time_aware_release_forecast", "time_aware", {"release_forecast": True}),
]
LABELS = [label for label, _, _ in CASES]
# The same list for everyone on this world: global popularity by design, or recency counted
# globally or within groups that mix the two tastes (breadth groups: how many resources).
NO_TASTE = {"popularity", "scheduled_popularity", "breadth_recency"}


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    learners, resources, events = tiny_tables()
    resources = resources.assign(  # the assessment schedule the release forecast reads
        assessment_deadlines="", course_start="2024-01-01T00:00:00Z")
    return build_feature_set(validate_dataset(learners, resources, events))


def _make(label: str) -> EmbeddingModel:
    _, name, params = CASES[LABELS.index(label)]
    return build_model(name, params)


@pytest.fixture(scope="module")
def fitted(features: FeatureSet) -> dict[str, EmbeddingModel]:
    return {label: _make(label).fit(features) for label in LABELS}


def test_every_registered_class_is_in_the_contract() -> None:
    assert {name for _, name, _ in CASES} == set(MODELS) | {AUTO}
    assert OPTION_PARTS < set(MODELS)


@pytest.mark.parametrize("label", LABELS)
def test_every_class_a_config_reaches_is_registered(
    label: str, fitted: dict[str, EmbeddingModel]
) -> None:
    """A search is its best estimator to a bundle; that estimator and all its parts must be
    classes a bundle can name."""
    model = fitted[label]
    estimator = model.best_estimator_ if isinstance(model, SearchCV) else model
    registered = set(MODELS.values())
    assert type(estimator) in registered
    assert all(type(part.model) in registered for part in model_parts(estimator))
    if label.endswith("search"):
        assert isinstance(model, SearchCV)


@pytest.mark.parametrize("label", LABELS)
def test_fit_returns_self_and_learned_state_ends_in_underscore(
    label: str, features: FeatureSet
) -> None:
    model = _make(label)
    before = set(vars(model))
    assert before == set(model.get_params(deep=False))  # the constructor only stores parameters
    assert model.fit(features) is model
    learned = set(vars(model)) - before
    assert learned and all(attribute.endswith("_") for attribute in learned), learned
    assert clone(model).get_params(deep=False).keys() == model.get_params(deep=False).keys()


@pytest.mark.parametrize("label", LABELS)
def test_unfitted_model_raises_not_fitted(label: str) -> None:
    model = _make(label)
    with pytest.raises(NotFittedError, match=type(model).__name__):
        model.recommend(0)
    with pytest.raises(NotFittedError):
        model.fold_in(LearnerHistory(np.array([0])))


@pytest.mark.parametrize("label", LABELS)
def test_vectors_share_one_space_and_inner_product_is_the_score(
    label: str, fitted: dict[str, EmbeddingModel], features: FeatureSet
) -> None:
    model = fitted[label]
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


@pytest.mark.parametrize("label", LABELS)
def test_recommends_within_taste_group(
    label: str, fitted: dict[str, EmbeddingModel], features: FeatureSet
) -> None:
    model, learners, resources = fitted[label], features.learner_map, features.resource_map
    top, _ = model.recommend(learners.indices_of(["a2", "b2"]), k=1, exclude=features.exclusions)
    got = [resources.id_of(i) for i in top[:, 0]]
    assert got == (["r5", "r2"] if label in NO_TASTE else ["r3", "r6"])


@pytest.mark.parametrize("label", LABELS)
def test_excludes_seen_and_an_arbitrary_set(
    label: str, fitted: dict[str, EmbeddingModel], features: FeatureSet
) -> None:
    model, learners, resources = fitted[label], features.learner_map, features.resource_map
    a1 = learners.index_of("a1")
    top, scores = model.recommend(
        a1, k=6, exclude=features.exclusions, exclude_resources=resources.indices_of(["r4"])
    )
    returned = {resources.id_of(i) for i in top[0] if i >= 0}
    assert returned == {"r5", "r6"}  # r1..r3 completed, r4 excluded on request
    assert (top[0, 2:] == -1).all() and np.isneginf(scores[0, 2:]).all()


@pytest.mark.parametrize("label", LABELS)
def test_fold_in_gives_a_vector_in_the_same_space(
    label: str, fitted: dict[str, EmbeddingModel], features: FeatureSet
) -> None:
    """A learner's own history, folded in without retraining, points the same way as training."""
    model, learners, resources = fitted[label], features.learner_map, features.resource_map
    a2 = learners.index_of("a2")
    row = features.interactions[a2]
    vector = model.fold_in(LearnerHistory(row.indices, row.data), features.learners.iloc[a2])
    assert vector.shape == (model.resource_factors_.shape[1],) and np.isfinite(vector).all()
    scores = model.resource_factors_ @ vector
    scores[row.indices] = -np.inf  # what a2 already did
    expected = "r5" if label in NO_TASTE else "r3"
    assert resources.id_of(int(np.argmax(scores))) == expected


@pytest.mark.parametrize("label", LABELS)
def test_default_fit_is_reproducible_from_its_seed(
    label: str, fitted: dict[str, EmbeddingModel], features: FeatureSet
) -> None:
    """A run must be reproducible from config and seed: a second fit gives the same factors."""
    again = _make(label).fit(features)
    np.testing.assert_array_equal(again.learner_factors_, fitted[label].learner_factors_)
    np.testing.assert_array_equal(again.resource_factors_, fitted[label].resource_factors_)


@pytest.mark.parametrize("label", LABELS)
def test_saved_in_a_bundle_and_restored_as_the_plain_estimator(
    label: str, fitted: dict[str, EmbeddingModel], features: FeatureSet, tmp_path: Path
) -> None:
    """What is fitted is what a bundle serves: the same class (a search's best estimator), the
    same vectors, lists and fold-ins after a save and load."""
    model = fitted[label]
    loaded = load_bundle(save_bundle(build_bundle(model, None, features, {}), tmp_path / "b"))
    estimator = model.best_estimator_ if isinstance(model, SearchCV) else model
    assert type(loaded.model) is type(estimator)
    assert loaded.model.get_params(deep=False).keys() == estimator.get_params(deep=False).keys()
    if isinstance(model, SearchCV):
        assert loaded.manifest["selection"]["search"] == type(model).__name__
    np.testing.assert_array_equal(loaded.model.learner_factors_, model.learner_factors_)
    np.testing.assert_array_equal(loaded.model.resource_factors_, model.resource_factors_)
    everyone = np.arange(features.shape[0])
    for a, b in zip(model.recommend(everyone, 3, features.exclusions),
                    loaded.model.recommend(everyone, 3, loaded.exclusions)):
        np.testing.assert_array_equal(a, b)
    row = features.interactions[features.learner_map.index_of("a2")]
    ages = np.linspace(0.0, 2.0, row.nnz)
    history = LearnerHistory(row.indices, row.data, HistoryAges(ages + 1.0, ages))
    profile = features.learners.iloc[1]
    np.testing.assert_array_equal(model.fold_in(history, profile),
                                  loaded.model.fold_in(history, profile))
