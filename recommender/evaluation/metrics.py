"""Ranking metrics at a cut-off ``k``; each is defined once, here, and used everywhere.

Inputs are a ``(n_learners, k)`` array of recommended resource indices (-1 = empty slot) and a
learners x resources relevance matrix whose non-zeros are the resources each learner actually
engaged with in the test period. Per-learner values are returned so group breakdowns and paired
comparisons reuse them; learners with no relevant resources get NaN and are left out of means.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def hit_matrix(recommended: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Boolean ``(n, k)``: is the resource at each rank relevant to that learner?"""
    recommended = np.asarray(recommended, dtype=np.int64)
    relevant = sp.csr_matrix(relevant)
    n = recommended.shape[0]
    if relevant.shape[0] != n:
        raise ValueError(f"relevance has {relevant.shape[0]} rows for {n} recommendation rows")
    n_resources = np.int64(relevant.shape[1])
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(relevant.indptr))
    relevant_codes = rows * n_resources + relevant.indices.astype(np.int64)
    codes = np.arange(n, dtype=np.int64)[:, None] * n_resources + recommended
    return (recommended >= 0) & np.isin(codes, relevant_codes)


def _n_relevant(relevant: sp.csr_matrix) -> np.ndarray:
    return np.diff(sp.csr_matrix(relevant).indptr).astype(np.float64)


def recall_at_k(recommended: np.ndarray, relevant: sp.csr_matrix, k: int) -> np.ndarray:
    """Share of a learner's relevant resources found in the top ``k`` (hits / n_relevant)."""
    hits = hit_matrix(recommended[:, :k], relevant).sum(axis=1)
    n_rel = _n_relevant(relevant)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, hits / n_rel, np.nan)


def ndcg_at_k(recommended: np.ndarray, relevant: sp.csr_matrix, k: int) -> np.ndarray:
    """Normalised discounted cumulative gain with binary relevance.

    DCG = sum over ranks r (1-based) of hit_r / log2(r + 1); it is divided by the DCG of an
    ideal list holding ``min(n_relevant, k)`` hits first, so a perfect ranking scores 1.
    """
    hits = hit_matrix(recommended[:, :k], relevant)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts[: hits.shape[1]]).sum(axis=1)
    n_rel = _n_relevant(relevant)
    ideal_cum = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal_cum[np.minimum(n_rel, k).astype(np.int64)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, dcg / idcg, np.nan)


METRICS = {"ndcg": ndcg_at_k, "recall": recall_at_k}
