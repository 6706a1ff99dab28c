"""Accuracy metrics at a cut-off ``k``; each is defined once, here, and used everywhere.

Input convention (shared by every function in this module):

- ``recommended``: an ``(n_learners, width)`` int array of resource indices, best first, with
  ``-1`` for empty slots (a list shorter than ``width``). Only the first ``k`` columns count;
  ``k`` may exceed ``width`` (the missing slots are empty). A resource may appear at most once
  per row; a relevant resource repeated in a row raises (it would count as two hits), while a
  repeated miss changes no metric and is not searched for.
- ``relevant``: a learners x resources sparse matrix, rows aligned with ``recommended``. Every
  stored non-zero entry is a relevant resource (binary relevance: the value is not a grade).

**Order and ties.** The metrics never see scores: the ranking is the column order given. Ties
between equal scores are broken upstream (by resource index, in the retrieval code), so
equal-scoring lists in a different order are different rankings here and may score differently.

Every metric returns one value per learner so group breakdowns and paired comparisons reuse
them. Learners with no relevant resource get NaN; ``np.nanmean`` then leaves them out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
import scipy.sparse as sp

from recommender.checks import check_k
from recommender.errors import InvalidParameterError

Metric = Callable[[np.ndarray, sp.spmatrix, int], np.ndarray]


def _canonical(relevant: sp.spmatrix) -> sp.csr_matrix:
    """CSR with sorted, unique, non-zero entries; copies only when the input is not already."""
    matrix = sp.csr_matrix(relevant)
    if matrix.has_canonical_format and (matrix.data != 0).all():
        return matrix
    matrix = matrix.copy()
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def _check_recommended(recommended: np.ndarray, n_rows: int, n_resources: int) -> np.ndarray:
    recommended = np.asarray(recommended)
    if recommended.ndim != 2 or not np.issubdtype(recommended.dtype, np.integer):
        raise InvalidParameterError(
            "recommended", f"array of shape {recommended.shape} and dtype {recommended.dtype}",
            "a 2-D integer array (learners x ranks)",
        )
    if recommended.shape[0] != n_rows:
        raise InvalidParameterError(
            "relevant", f"{n_rows} rows", f"{recommended.shape[0]} rows, one per recommended row"
        )
    if recommended.size and (recommended.min() < -1 or recommended.max() >= n_resources):
        bad = recommended[(recommended < -1) | (recommended >= n_resources)][0]
        raise InvalidParameterError(
            "recommended", f"resource index {int(bad)}",
            f"indices in [0, {n_resources}) or -1 for an empty slot",
        )
    return recommended.astype(np.int64, copy=False)


def hit_matrix(recommended: np.ndarray, relevant: sp.spmatrix) -> np.ndarray:
    """Boolean ``(n, width)``: is the resource at each rank relevant to that learner?

    Each (learner, resource) pair is encoded as ``row * n_resources + resource``; in a canonical
    CSR matrix these codes are already sorted, so one binary search per slot finds the hits.
    """
    relevant = _canonical(relevant)
    n_rows, n_resources = relevant.shape
    recommended = _check_recommended(recommended, n_rows, n_resources)
    if recommended.size == 0 or relevant.nnz == 0:
        return np.zeros(recommended.shape, dtype=bool)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(relevant.indptr))
    relevant_codes = rows * n_resources + relevant.indices.astype(np.int64)
    codes = np.arange(n_rows, dtype=np.int64)[:, None] * n_resources + recommended
    position = np.searchsorted(relevant_codes, codes)
    found = (relevant_codes[np.minimum(position, len(relevant_codes) - 1)] == codes) & (
        recommended >= 0
    )
    _reject_repeated_hits(recommended, found)
    return found


def _reject_repeated_hits(recommended: np.ndarray, found: np.ndarray) -> None:
    """Raise if a row holds the same relevant resource twice (only rows with 2+ hits can)."""
    rows = np.flatnonzero(found.sum(axis=1) >= 2)
    if len(rows) == 0:
        return
    width = recommended.shape[1]
    # Misses get distinct negative stand-ins, so only repeated hits compare equal.
    masked = np.where(found[rows], recommended[rows], -1 - np.arange(width, dtype=np.int64))
    ordered = np.sort(masked, axis=1)
    repeated = ordered[:, 1:] == ordered[:, :-1]
    if repeated.any():
        row, col = np.argwhere(repeated)[0]
        raise InvalidParameterError(
            "recommended",
            f"row {int(rows[row])} lists resource {int(ordered[row, col])} twice",
            "each resource at most once per row",
        )


def _top(recommended: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` columns (2-D input only; anything else is rejected by hit_matrix)."""
    recommended = np.asarray(recommended)
    return recommended[:, :k] if recommended.ndim == 2 else recommended


def _n_relevant(relevant: sp.spmatrix) -> np.ndarray:
    return np.diff(_canonical(relevant).indptr).astype(np.float64)


def _discounts(k: int) -> np.ndarray:
    """``1 / log2(rank + 1)`` for ranks 1..k."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


# Each definition lives in one of these functions of (hits, n_relevant, k); ``hits`` is the
# ``(n, min(k, width))`` hit matrix of the top k. The public ``*_at_k`` wrappers and
# :func:`metrics_at_k` both call them, so nothing is defined twice.


def _precision(hits: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    return hits.sum(axis=1) / k


def _recall(hits: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    return hits.sum(axis=1) / n_rel


def _ndcg(hits: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    discounts = _discounts(k)
    dcg = hits @ discounts[: hits.shape[1]]
    ideal_cum = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal_cum[np.minimum(n_rel, k).astype(np.int64)]
    return dcg / idcg


def _map(hits: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    ranks = np.arange(1, hits.shape[1] + 1, dtype=np.float64)
    precision_at_rank = np.cumsum(hits, axis=1) / ranks
    return (precision_at_rank * hits).sum(axis=1) / np.minimum(n_rel, k)


def _hit_rate(hits: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    return hits.any(axis=1).astype(np.float64)


def _mrr(hits: np.ndarray, n_rel: np.ndarray, k: int) -> np.ndarray:
    first = np.argmax(hits, axis=1) if hits.shape[1] else np.zeros(len(hits), dtype=np.int64)
    any_hit = hits.any(axis=1)
    return np.where(any_hit, 1.0 / (first + 1.0), 0.0)


_FROM_HITS: dict[str, Callable[[np.ndarray, np.ndarray, int], np.ndarray]] = {
    "precision": _precision,
    "recall": _recall,
    "ndcg": _ndcg,
    "map": _map,
    "hit_rate": _hit_rate,
    "mrr": _mrr,
}


def _finish(values: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    """NaN for learners with nothing relevant: they cannot be scored, only skipped."""
    return np.where(n_rel > 0, values, np.nan)


def _evaluate(name: str, recommended: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    k = check_k(k)
    relevant = _canonical(relevant)
    hits = hit_matrix(_top(recommended, k), relevant).astype(np.float64)
    n_rel = _n_relevant(relevant)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _finish(_FROM_HITS[name](hits, n_rel, k), n_rel)


def precision_at_k(recommended: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """Hits in the top ``k`` divided by ``k``.

    The denominator is ``k`` even when a list is shorter (empty slots count as misses), so a
    model is not rewarded for recommending less.
    """
    return _evaluate("precision", recommended, relevant, k)


def recall_at_k(recommended: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """Share of a learner's relevant resources found in the top ``k``: hits / n_relevant.

    Not capped at ``k``: a learner with more than ``k`` relevant resources cannot reach 1.
    """
    return _evaluate("recall", recommended, relevant, k)


def ndcg_at_k(recommended: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """Normalised discounted cumulative gain with binary relevance.

    DCG = sum over ranks r (1-based, r <= k) of hit_r / log2(r + 1); it is divided by the DCG
    of an ideal list holding ``min(n_relevant, k)`` hits first, so a perfect ranking scores 1.
    """
    return _evaluate("ndcg", recommended, relevant, k)


def map_at_k(recommended: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """Average precision truncated at ``k`` (its mean over learners is MAP@k).

    AP@k = sum over ranks r <= k of precision@r * hit_r, divided by ``min(n_relevant, k)``, so
    a list with every slot a hit (or every relevant resource first) scores 1.
    """
    return _evaluate("map", recommended, relevant, k)


def hit_rate_at_k(recommended: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """1 if any of the top ``k`` is relevant, else 0."""
    return _evaluate("hit_rate", recommended, relevant, k)


def mrr_at_k(recommended: np.ndarray, relevant: sp.spmatrix, k: int) -> np.ndarray:
    """Reciprocal rank of the first relevant resource (1 / rank), 0 if none in the top ``k``."""
    return _evaluate("mrr", recommended, relevant, k)


METRICS: dict[str, Metric] = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "map": map_at_k,
    "hit_rate": hit_rate_at_k,
    "mrr": mrr_at_k,
}
"""Metric name -> ``f(recommended, relevant, k)`` returning one value per learner."""


def metrics_at_k(
    recommended: np.ndarray,
    relevant: sp.spmatrix,
    k_values: Iterable[int],
    names: Iterable[str] | None = None,
) -> Mapping[str, np.ndarray]:
    """Several metrics at several cut-offs from one hit matrix, keyed ``"{name}_at_{k}"``.

    Gives the same values as calling each function in :data:`METRICS`, but finds the hits once
    (at the largest ``k``) instead of once per metric and cut-off.
    """
    k_values = [check_k(k) for k in k_values]
    names = list(METRICS) if names is None else list(names)
    for name in names:
        if name not in _FROM_HITS:
            raise InvalidParameterError("names", name, f"one of {sorted(_FROM_HITS)}")
    if not k_values:
        return {}
    relevant = _canonical(relevant)
    hits_all = hit_matrix(_top(recommended, max(k_values)), relevant).astype(np.float64)
    n_rel = _n_relevant(relevant)
    results: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in k_values:
            hits = hits_all[:, :k]
            for name in names:
                results[f"{name}_at_{k}"] = _finish(_FROM_HITS[name](hits, n_rel, k), n_rel)
    return results


def index_recall_at_k(recommended: np.ndarray, exact: np.ndarray, n_resources: int,
                      k: int) -> np.ndarray:
    """Per learner: the share of an exact search's top ``k`` that the served index's list also
    holds in its top ``k`` (:func:`recall_at_k` with the exact list as the relevant set); what
    an approximate index costs. Learners whose exact list is empty get NaN."""
    exact = np.asarray(exact, dtype=np.int64)[:, :k]
    rows, cols = np.nonzero(exact >= 0)
    relevant = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, exact[rows, cols])),
                             shape=(len(exact), n_resources))
    return recall_at_k(recommended, relevant, k)

