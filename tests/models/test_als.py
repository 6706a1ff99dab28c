"""The ALS adapter on the two-taste tiny world."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.errors import NotFittedError
from recommender.features import build_feature_set
from recommender.models import ALSModel


def _fit(world, **params):
    # Hide a2's r3 and b2's r6 so there is something left to recommend to them.
    train = world.events[~(
        ((world.events.learner_id == "a2") & (world.events.resource_id == "r3"))
        | ((world.events.learner_id == "b2") & (world.events.resource_id == "r6"))
    )]
    features = build_feature_set(world, train)
    model = ALSModel(factors=4, iterations=30, regularization=0.01, **params).fit(features)
    return model, features.learner_map, features.resource_map, features.exclusions


def test_recommends_within_taste_group(tiny_world):
    model, learners, resources, done = _fit(tiny_world)
    a2, b2 = learners.indices_of(["a2", "b2"])
    top, _ = model.recommend(np.array([a2, b2]), k=1, exclude=done)
    assert resources.id_of(top[0, 0]) == "r3"
    assert resources.id_of(top[1, 0]) == "r6"


def test_excluded_and_extra_excluded_never_returned(tiny_world):
    model, learners, resources, done = _fit(tiny_world)
    a1 = learners.index_of("a1")
    r4 = resources.index_of("r4")
    top, _ = model.recommend(a1, k=6, exclude=done, exclude_resources=np.array([r4]))
    returned = {resources.id_of(i) for i in top[0] if i >= 0}
    assert returned == {"r5", "r6"}  # r1..r3 completed, r4 excluded on request


def test_fit_returns_self_and_is_deterministic(tiny_world):
    first, *_ = _fit(tiny_world, random_state=3)
    second, *_ = _fit(tiny_world, random_state=3)
    np.testing.assert_allclose(first.resource_factors_, second.resource_factors_)
    assert first.learner_factors_.shape == (6, 4)
    assert first.get_params()["factors"] == 4


def test_unfitted_model_raises_clear_error():
    with pytest.raises(NotFittedError, match="ALSModel is not fitted yet"):
        ALSModel().recommend(0)


def test_fold_in_solves_with_single_threaded_blas() -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    from recommender.models.base import single_threaded_blas

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    with threadpool_limits(2, "blas"):
        assert blas_threads() == {2}
        with single_threaded_blas():
            assert blas_threads() == {1}
        assert blas_threads() == {2}  # and back afterwards
