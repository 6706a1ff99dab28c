"""BPR's fold-in keeps its solver per resource factors and regularisation, never a stale one."""

from __future__ import annotations

import numpy as np

from recommender.features import build_feature_set
from recommender.models import BPRModel, LearnerHistory, add_resources


def test_fold_in_solver_follows_the_resource_factors_and_regularisation(tiny_world) -> None:
    model = BPRModel(factors=4, iterations=200, learning_rate=0.1).fit(
        build_feature_set(tiny_world))
    history = LearnerHistory(np.array([0, 1]))
    first = model.fold_in(history)
    np.testing.assert_array_equal(model.fold_in(history), first)  # the kept solver: same answer

    model.set_params(fold_in_regularization=model.fold_in_regularization * 100)
    assert not np.allclose(model.fold_in(history), first)

    grown = add_resources(model, 5 * model.resource_factors_[:1])  # a new, strong resource
    with_new = grown.fold_in(LearnerHistory(np.array([0, 1, len(model.resource_factors_)])))
    assert with_new.shape == first.shape and np.isfinite(with_new).all()
    assert grown.__dict__["_fold_in"][0] is grown.resource_factors_
