"""RP3beta: a three-step random walk learner -> resource -> learner -> resource, with popular
destinations discounted (Paudel et al. 2017, "Updatable, accurate, diverse, and scalable
recommendations for interactive applications"; a strong baseline in Dacrema et al. 2019).

``P_lr`` is each learner's history row-normalised, ``P_rl`` each resource's learners
row-normalised, both raised elementwise to ``alpha``; ``W = P_rl @ P_lr`` with column ``j``
divided by ``popularity_j ** beta``. The score is ``P_lr @ W``. As in :mod:`.ease`, that is an
inner product: the learner vector is the learner's normalised history row and the resource
vector is the resource's column of ``W`` (both ``n_resources`` wide, so the same catalog-size
limits apply). The walk's own return step (``W``'s diagonal) is kept: a resource the learner
used and did not finish stays a candidate, scored by how often its learners come back to it;
consumed resources are excluded at retrieval. Fold-in is exact (the normalised history row).
"""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp

from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet
from recommender.models.base import (
    EmbeddingModel,
    LearnerHistory,
    Profile,
    history_row,
    positive_history,
)


def _row_normalised(matrix: sp.csr_matrix, alpha: float) -> sp.csr_matrix:
    """Rows scaled to sum to 1, then raised to ``alpha`` (empty rows stay empty)."""
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums, dtype=np.float64), where=sums > 0)
    out = sp.csr_matrix(sp.diags(scale) @ matrix, dtype=np.float32)
    if alpha != 1.0:
        out.data = np.power(out.data, alpha, dtype=np.float32)
    return out


class RP3betaModel(EmbeddingModel):
    """Graph-walk resource-to-resource model; ``binary`` walks 0/1 edges (the paper's),
    otherwise the confidences weight them."""

    def __init__(self, alpha: float = 1.0, beta: float = 0.5, binary: bool = True) -> None:
        self.alpha = alpha
        self.beta = beta
        self.binary = binary

    def fit(self, features: FeatureSet) -> Self:
        for name in ("alpha", "beta"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise InvalidParameterError(name, value, "a number >= 0")
        history = positive_history(features.interactions, self.binary)
        learner_step = _row_normalised(history, self.alpha)
        resource_step = _row_normalised(sp.csr_matrix(history.T), self.alpha)
        walk = (resource_step @ learner_step).toarray()  # resources x resources
        popularity = np.asarray((history > 0).sum(axis=0), dtype=np.float64).ravel()
        discount = np.power(np.maximum(popularity, 1.0), -float(self.beta))
        walk *= discount[None, :].astype(np.float32)
        self.resource_factors_ = np.ascontiguousarray(walk.T, dtype=np.float32)
        self.learner_factors_ = learner_step.toarray()
        return self

    def fold_in(self, history: LearnerHistory, profile: Profile | None = None) -> np.ndarray:
        """Exact: the learner vector is the normalised history row."""
        self._check_fitted()
        row = history_row(history.resource_idx, history.confidence, self.resource_factors_.shape[0])
        return _row_normalised(positive_history(row, self.binary), self.alpha).toarray().ravel()
