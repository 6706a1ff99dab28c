"""Collaborative filtering with implicit's Bayesian Personalized Ranking (Rendle et al. 2009).

The adapter around implicit (user/item are implicit's words; outside, learner and resource).
implicit keeps the resource bias as the last factor column and a constant 1 in the learners'
last column, so ``user_factors @ item_factors.T`` already is implicit's score: both arrays are
kept whole (``factors + 1`` columns) and the inner product stays exact.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.bpr import BayesianPersonalizedRanking

from recommender.features import FeatureSet
from recommender.models.base import (
    EmbeddingModel,
    LearnerHistory,
    Profile,
    history_row,
    single_threaded_blas,
)


class BPRModel(EmbeddingModel):
    """Pairwise ranking matrix factorisation; any positive confidence counts as "preferred".

    ``num_threads`` defaults to 1 because implicit's BPR updates shared factors without locks
    (Hogwild): with more threads, the same seed gives a different model each run. Raise it for
    speed when bit-for-bit reproducibility from config and seed does not matter."""

    _state_skip = ("bpr_",)  # fold-in solves against resource_factors_, not the BPR solver

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        verify_negative_samples: bool = True,
        fold_in_regularization: float = 0.1,
        random_state: int = 0,
        num_threads: int = 1,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.verify_negative_samples = verify_negative_samples
        self.fold_in_regularization = fold_in_regularization
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, features: FeatureSet) -> Self:
        user_items = sp.csr_matrix(features.interactions, dtype=np.float32)
        bpr = BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=self.iterations,
            verify_negative_samples=self.verify_negative_samples,
            random_state=self.random_state,
            num_threads=self.num_threads,
        )
        bpr.fit(user_items, show_progress=False)
        self.bpr_ = bpr
        self.learner_factors_ = np.ascontiguousarray(bpr.user_factors, dtype=np.float32)
        self.resource_factors_ = np.ascontiguousarray(bpr.item_factors, dtype=np.float32)
        trained = self.learner_factors_[np.diff(user_items.indptr) > 0, :-1]
        norms = np.linalg.norm(trained, axis=1)
        self.learner_norm_ = float(np.median(norms)) if len(norms) else 1.0
        return self

    def _fold_in_solver(self) -> AlternatingLeastSquares:
        """An ALS solver over the resource factors (bias column dropped), made once per
        resource factors: it caches their Gram matrix, the costly part of a solve."""
        cached = self.__dict__.get("_fold_in")
        if (cached is None or cached[0] is not self.resource_factors_
                or cached[1] != self.fold_in_regularization):
            solver = AlternatingLeastSquares(
                factors=self.resource_factors_.shape[1] - 1,
                regularization=self.fold_in_regularization,
                alpha=1.0,
                num_threads=1,
            )
            solver.item_factors = np.ascontiguousarray(self.resource_factors_[:, :-1])
            cached = self.__dict__["_fold_in"] = (
                self.resource_factors_, self.fold_in_regularization, solver)
        return cached[2]

    def fold_in(self, history: LearnerHistory, profile: Profile | None = None) -> np.ndarray:
        """BPR has no closed-form user solve, so fold in as ALS would against the fixed BPR
        resource factors (implicit's ``recalculate_user``), rescale to the median norm of trained
        learners (BPR scores are only meaningful at that scale against the biases), and append
        the constant bias column."""
        self._check_fitted()
        row = history_row(history.resource_idx, history.confidence, self.resource_factors_.shape[0])
        vector = np.zeros(self.resource_factors_.shape[1], dtype=np.float32)
        vector[-1] = 1.0
        if row.nnz == 0:
            return vector  # no history: the resource biases alone (BPR's popularity)
        with single_threaded_blas():
            direction = self._fold_in_solver().recalculate_user(0, row)
        norm = float(np.linalg.norm(direction))
        if norm > 0:
            vector[:-1] = direction * (self.learner_norm_ / norm)
        return vector
