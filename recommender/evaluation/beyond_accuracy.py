"""Beyond-accuracy metrics at a cut-off ``k``: coverage, novelty, diversity, popularity, exposure.

Same input convention as :mod:`recommender.evaluation.metrics`: ``recommended`` is an
``(n_learners, width)`` int array of resource indices, best first, ``-1`` for an empty slot; only
the first ``k`` columns count. Resource-side inputs (categories, vectors, attributes, the
training matrix's columns) are aligned with the resource index. Per-learner functions return
one value per row, NaN where the list has too few resources for the quantity to exist.

Popularity is always the share of training learners (learners with at least one training
interaction) who interacted with a resource, computed from the training interaction matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.errors import InvalidParameterError, UnknownIdError
from recommender.checks import check_k
from recommender.features.idmap import IdMap


def _top(recommended: np.ndarray, k: int, n_resources: int) -> np.ndarray:
    """The first ``k`` columns as int64, after checking shape and index range."""
    k = check_k(k)
    recommended = np.asarray(recommended)
    if recommended.ndim != 2 or not np.issubdtype(recommended.dtype, np.integer):
        raise InvalidParameterError(
            "recommended", f"array of shape {recommended.shape} and dtype {recommended.dtype}",
            "a 2-D integer array (learners x ranks)",
        )
    top = recommended[:, :k].astype(np.int64, copy=False)
    if top.size and (top.min() < -1 or top.max() >= n_resources):
        bad = top[(top < -1) | (top >= n_resources)][0]
        raise InvalidParameterError(
            "recommended", f"resource index {int(bad)}",
            f"indices in [0, {n_resources}) or -1 for an empty slot",
        )
    return top


def _learner_counts(train_interactions: sp.spmatrix) -> tuple[np.ndarray, int]:
    """Per resource, how many training learners interacted; and how many learners did at all."""
    matrix = sp.csr_matrix(train_interactions)
    nonzero = sp.csr_matrix((matrix != 0).astype(np.int8))
    counts = np.asarray(nonzero.sum(axis=0)).ravel().astype(np.float64)
    n_learners = int((np.diff(nonzero.indptr) > 0).sum())
    if n_learners == 0:
        raise InvalidParameterError(
            "train_interactions", "a matrix without interactions", "at least one interaction"
        )
    return counts, n_learners


def resource_popularity(train_interactions: sp.spmatrix) -> np.ndarray:
    """Per resource, the share of training learners who interacted with it (0 if none did).

    ``train_interactions`` is learners x resources (e.g. the confidence matrix); any stored
    non-zero counts as an interaction. The denominator is the number of learners with at least
    one training interaction, so empty rows (learners known only from the test period) do not
    dilute it.
    """
    counts, n_learners = _learner_counts(train_interactions)
    return counts / n_learners


def catalog_coverage(recommended: np.ndarray, n_resources: int, k: int) -> float:
    """Distinct resources recommended in anyone's top ``k``, divided by the catalog size."""
    if isinstance(n_resources, bool) or not isinstance(n_resources, (int, np.integer)) or (
        n_resources < 1
    ):
        raise InvalidParameterError("n_resources", n_resources, "a positive integer")
    top = _top(recommended, k, int(n_resources))
    return float(len(np.unique(top[top >= 0])) / n_resources)


def novelty_at_k(
    recommended: np.ndarray, train_interactions: sp.spmatrix, k: int
) -> np.ndarray:
    """Per learner, mean self-information ``-log2 p(resource)`` over the top ``k``.

    ``p`` is the share of training learners who interacted with the resource. Smoothing: a
    resource nobody interacted with in training is counted as if one learner had, so its
    self-information is ``log2(n_train_learners)``, the same as the rarest seen resource, not
    infinite. Empty slots are skipped; a learner with an empty list gets NaN.
    """
    counts, n_learners = _learner_counts(train_interactions)
    top = _top(recommended, k, len(counts))
    information = -np.log2(np.maximum(counts, 1.0) / n_learners)
    return _mean_over_slots(information, top)


def popularity_bias_at_k(
    recommended: np.ndarray, train_interactions: sp.spmatrix, k: int
) -> np.ndarray:
    """Per learner, the mean training popularity (share of learners) of the top ``k``.

    Higher means the list leans on what most learners already use; unseen resources count 0.
    Empty slots are skipped; a learner with an empty list gets NaN.
    """
    popularity = resource_popularity(train_interactions)
    return _mean_over_slots(popularity, _top(recommended, k, len(popularity)))


def _mean_over_slots(value_by_resource: np.ndarray, top: np.ndarray) -> np.ndarray:
    valid = top >= 0
    values = np.where(valid, value_by_resource[np.where(valid, top, 0)], 0.0)
    n_valid = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_valid > 0, values.sum(axis=1) / n_valid, np.nan)


def category_diversity_at_k(
    recommended: np.ndarray, resource_category: Sequence[object] | np.ndarray, k: int
) -> np.ndarray:
    """Per learner, the share of distinct pairs in the top ``k`` whose categories differ.

    0 means one category throughout, 1 means every resource in its own category. A missing
    category counts as one more category value. Lists with fewer than two resources get NaN.
    """
    codes, _ = pd.factorize(pd.Series(resource_category, dtype=object), use_na_sentinel=False)
    top = _top(recommended, k, len(codes))
    valid = top >= 0
    category = np.where(valid, codes[np.where(valid, top, 0)], -1)
    first, second = np.triu_indices(top.shape[1], k=1)
    pair_valid = valid[:, first] & valid[:, second]
    differs = (category[:, first] != category[:, second]) & pair_valid
    n_pairs = pair_valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pairs > 0, differs.sum(axis=1) / n_pairs, np.nan)


def vector_diversity_at_k(
    recommended: np.ndarray, resource_vectors: np.ndarray, k: int
) -> np.ndarray:
    """Per learner, the mean pairwise cosine distance (1 - cosine) within the top ``k``.

    Uses sum over pairs of cos = (|sum of unit vectors|^2 - sum of |unit vector|^2) / 2, so it
    costs one pass per rank instead of k^2 comparisons. A zero vector (e.g. a resource without
    text) has no direction: its cosine with anything is taken as 0, distance 1. Lists with
    fewer than two resources get NaN.
    """
    vectors = np.asarray(resource_vectors, dtype=np.float64)
    if vectors.ndim != 2:
        raise InvalidParameterError(
            "resource_vectors", f"array of shape {vectors.shape}", "a 2-D array (resources x dims)"
        )
    top = _top(recommended, k, vectors.shape[0])
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    valid = top >= 0
    total = np.zeros((top.shape[0], unit.shape[1]))
    squared = np.zeros(top.shape[0])
    for rank in range(top.shape[1]):
        rows = np.flatnonzero(valid[:, rank])
        picked = unit[top[rows, rank]]
        total[rows] += picked
        squared[rows] += (picked * picked).sum(axis=1)
    n_valid = valid.sum(axis=1)
    n_pairs = n_valid * (n_valid - 1) / 2
    cosine_sum = ((total * total).sum(axis=1) - squared) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pairs > 0, 1.0 - cosine_sum / n_pairs, np.nan)


def exposure_share(
    recommended: np.ndarray,
    resource_attribute: Sequence[object] | np.ndarray,
    k: int,
    discount: Literal["none", "log2"] = "none",
) -> dict[object, float]:
    """Share of all recommendation slots in the top ``k`` going to each attribute value.

    With ``discount="none"`` every filled slot weighs 1; with ``"log2"`` a slot at rank r
    (1-based) weighs 1 / log2(r + 1), the nDCG discount, because the top of a list is seen
    more. Shares sum to 1 over the values; every value present in ``resource_attribute``
    appears, with 0.0 if never recommended; a missing attribute is reported under ``None``.
    """
    if discount not in ("none", "log2"):
        raise InvalidParameterError("discount", discount, "'none' or 'log2'")
    codes, uniques = pd.factorize(
        pd.Series(resource_attribute, dtype=object), use_na_sentinel=False
    )
    top = _top(recommended, k, len(codes))
    valid = top >= 0
    if discount == "log2":
        rank_weight = 1.0 / np.log2(np.arange(2, top.shape[1] + 2, dtype=np.float64))
    else:
        rank_weight = np.ones(top.shape[1])
    weights = np.broadcast_to(rank_weight, top.shape)[valid]
    totals = np.bincount(codes[top[valid]], weights=weights, minlength=len(uniques))
    grand_total = totals.sum()
    labels = [None if pd.isna(value) else value for value in uniques]
    if grand_total == 0:
        return {label: 0.0 for label in labels}
    return {label: float(total / grand_total) for label, total in zip(labels, totals)}


def attribute_by_index(
    resources: pd.DataFrame, resource_map: IdMap, column: str
) -> np.ndarray:
    """``column`` of the resources table as an object array aligned with ``resource_map``.

    Feeds :func:`category_diversity_at_k` and :func:`exposure_share`; a resource the map knows
    but the table lacks raises :class:`UnknownIdError` rather than being guessed.
    """
    if column not in resources.columns:
        raise InvalidParameterError("column", column, f"one of {list(resources.columns)}")
    by_id = resources.set_index("resource_id")[column]
    position = by_id.index.get_indexer(pd.Index(resource_map.ids, dtype=object))
    if (position < 0).any():
        raise UnknownIdError("resource", resource_map.ids[int(np.flatnonzero(position < 0)[0])])
    return by_id.to_numpy(dtype=object)[position]
