"""EASE: a closed-form resource-to-resource model (Steck 2019, "Embarrassingly Shallow
Autoencoders").

Scores are ``X @ B`` where ``X`` is the learners x resources history and ``B`` a resources x
resources weight matrix with a zero diagonal, from one regularised inverse of the Gram matrix:
``P = (X'X + lambda I)^-1``, ``B = -P / diag(P)``, ``diag(B) = 0``. No iterations, no seed, and a
strong baseline on small catalogs.

In the one embedding space the learner vector is the learner's own history row (``n_resources``
dimensions) and the resource vector is the resource's column of ``B``. The cost is the
dimension: vectors are ``n_resources`` wide, the Gram matrix and ``B`` are ``n_resources^2``
floats and the inverse is ``O(n_resources^3)`` (5,000 resources: 100 MB for ``B``, seconds to
invert; ``n_learners x n_resources`` float32 for the learner vectors, 700 MB at 35,000 learners).
Fine for catalogs of a few thousand; beyond that use ALS or a low-rank model. Fold-in is exact:
a learner's new vector is just their updated history row.

EASE's zero diagonal never scores a resource by the learner's own engagement with it, yet on a
learning platform the next thing a learner does is often to go back to a course they enrolled in
and have not completed (37% of the held-out relevant pairs on the sample world). ``resume_weight``
adds ``beta * I`` to ``B`` (resource vector = column of ``B`` + ``beta`` at its own position), a
"continue learning" term; completed and dismissed resources are excluded at retrieval anyway.
``resume_weight=0`` is textbook EASE.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet
from recommender.models.base import (
    EmbeddingModel,
    LearnerHistory,
    Profile,
    history_row,
    positive_history,
)


def _spd_inverse(matrix: np.ndarray, regularization: float) -> np.ndarray:
    """Inverse of a symmetric positive definite float32 matrix through LAPACK's Cholesky
    (potrf + potri): half the work of a general inverse, and float32 halves it again; with the
    ridge on the diagonal the relative error stays around 1e-6."""
    potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (matrix,))
    factor, info = potrf(matrix, lower=False, overwrite_a=True, clean=False)
    if info == 0:
        inverse, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise InvalidParameterError(
            "regularization", regularization,
            "a larger ridge: the Gram matrix is not numerically invertible",
        )
    upper = np.triu(inverse)
    return upper + np.triu(upper, 1).T


class EASEModel(EmbeddingModel):
    """Resource-to-resource linear model; ``binary`` uses 0/1 history instead of confidences."""

    _state_skip = ("weights_",)  # the resource vectors hold B (rebuilt by from_state)

    def __init__(
        self, regularization: float = 200.0, binary: bool = False, resume_weight: float = 0.5
    ) -> None:
        self.regularization = regularization
        self.binary = binary
        self.resume_weight = resume_weight

    def fit(self, features: FeatureSet) -> Self:
        if not isinstance(self.regularization, (int, float)) or self.regularization <= 0:
            raise InvalidParameterError("regularization", self.regularization, "a number > 0")
        if not isinstance(self.resume_weight, (int, float)) or self.resume_weight < 0:
            raise InvalidParameterError("resume_weight", self.resume_weight, "a number >= 0")
        history = positive_history(features.interactions, self.binary)
        gram = (history.T @ history).toarray()
        gram[np.diag_indices_from(gram)] += self.regularization
        precision = _spd_inverse(gram, self.regularization)
        weights = precision / -np.diag(precision)[None, :]
        np.fill_diagonal(weights, 0.0)
        self.weights_ = weights  # resources x resources; column j scores j
        resource = self.weights_.T.copy()
        resource[np.diag_indices_from(resource)] = self.resume_weight
        self.resource_factors_ = np.ascontiguousarray(resource)
        self.learner_factors_ = history.toarray()
        return self

    def fold_in(self, history: LearnerHistory, profile: Profile | None = None) -> np.ndarray:
        """Exact: the learner vector is the (binarised) history row."""
        self._check_fitted()
        row = history_row(history.resource_idx, history.confidence, self.resource_factors_.shape[0])
        return positive_history(row, self.binary).toarray().ravel()

    @classmethod
    def from_state(cls, params: dict, arrays: dict[str, np.ndarray]) -> EASEModel:
        model = super().from_state(params, arrays)
        weights = np.array(model.resource_factors_.T, copy=True)
        np.fill_diagonal(weights, 0.0)
        model.weights_ = weights
        return model
