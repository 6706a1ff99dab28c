"""Collaborative filtering with implicit's ALS (Hu, Koren and Volinsky 2008).

The only place that speaks implicit's user/item vocabulary; everything outside says learner and
resource. ALS runs single-threaded BLAS inside implicit's own thread pool, as implicit advises.

The same factorisation fitted by Spark MLlib (:mod:`recommender.spark`) solves slightly
different normal equations: confidence ``1 + alpha * r`` where implicit takes ``alpha * r``,
and a learner's regularization multiplied by their number of resources (ALS-WR). Such a model
says ``solver_form="spark"`` and its fold-in solves Spark's equations with implicit's solver,
so folding in a learner's own history reproduces the vector Spark trained.
"""

from __future__ import annotations

import copy
from typing import Any, Literal, Self

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet
from recommender.models.base import (
    EmbeddingModel,
    LearnerHistory,
    Profile,
    history_row,
    single_threaded_blas,
)
from recommender.models.state import Arrays, Params, State


class ALSModel(EmbeddingModel):
    """Implicit-feedback matrix factorisation; the confidence matrix weights observed pairs."""

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 2.0,
        iterations: int = 15,
        random_state: int = 0,
        num_threads: int = 0,
        solver_form: Literal["implicit", "spark"] = "implicit",
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads
        self.solver_form = solver_form

    def implicit_params(self) -> dict[str, Any]:
        """The arguments ``implicit``'s ``AlternatingLeastSquares`` gets from these settings
        (what :meth:`fit` fits with, and what a benchmark's raw fit must get to compare)."""
        return {"factors": self.factors, "regularization": self.regularization,
                "alpha": self.alpha, "iterations": self.iterations,
                "random_state": self.random_state, "num_threads": self.num_threads}

    def fit(self, features: FeatureSet) -> Self:
        if self.solver_form != "implicit":
            raise InvalidParameterError(
                "solver_form", self.solver_form,
                "'implicit' here; a 'spark' model is fitted by the Spark engine ([engine] kind)")
        user_items = sp.csr_matrix(features.interactions, dtype=np.float32)
        with threadpool_limits(1, "blas"):
            als = AlternatingLeastSquares(**self.implicit_params())
            als.fit(user_items, show_progress=False)
        self.als_ = als
        self.learner_factors_ = np.ascontiguousarray(als.user_factors, dtype=np.float32)
        self.resource_factors_ = np.ascontiguousarray(als.item_factors, dtype=np.float32)
        return self

    def fold_in(self, history: LearnerHistory, profile: Profile | None = None) -> np.ndarray:
        """The closed-form ALS learner solve against the fixed resource factors (implicit's
        ``recalculate_user``); an empty history gives the zero vector."""
        self._check_fitted()
        row = history_row(history.resource_idx, history.confidence, self.resource_factors_.shape[0])
        if row.nnz == 0:
            return np.zeros(self.resource_factors_.shape[1], dtype=np.float32)
        solver = self.als_
        if self.solver_form == "spark":
            # Spark's equations in implicit's terms: confidence 1 + alpha * r is implicit's
            # alpha * (r + 1 / alpha); the regularization grows with the learner's resources.
            row.data = row.data + np.float32(1.0 / self.alpha)
            _ = solver.YtY  # computed once on the shared solver, reused by the copy
            solver = copy.copy(solver)
            solver.regularization = self.regularization * row.nnz
        with single_threaded_blas():
            return np.asarray(solver.recalculate_user(0, row), dtype=np.float32)

    def state(self) -> State:
        """Hyper-parameters and both factor matrices: all a fold-in needs (the solver is rebuilt
        around the resource factors)."""
        self._check_fitted()
        return {"params": self.get_params()}, {
            "learner_factors_": self.learner_factors_, "resource_factors_": self.resource_factors_,
        }

    @classmethod
    def from_state(cls, params: Params, arrays: Arrays) -> ALSModel:
        model = cls(**params["params"])
        model.learner_factors_ = arrays["learner_factors_"]
        model.resource_factors_ = arrays["resource_factors_"]
        solver = AlternatingLeastSquares(
            factors=model.resource_factors_.shape[1], regularization=model.regularization,
            alpha=model.alpha, iterations=model.iterations, random_state=model.random_state,
            num_threads=model.num_threads,
        )
        solver.item_factors = np.ascontiguousarray(model.resource_factors_, dtype=np.float32)
        solver.user_factors = model.learner_factors_
        model.als_ = solver  # its recalculate_user is the fold-in
        return model
