"""Filtered top-k: the best ``k`` resources among those a mask allows, never fewer than exist.

An exact index that can take the mask itself (``NormPrunedFlat``, ``Flat``: FAISS skips the
disallowed resources through an ID selector) answers in one pass. Otherwise FAISS ranks the whole
catalog and a filter keeps only part of it. Asking FAISS for ``k`` and then
filtering would return short lists for selective filters, so the retriever asks for more
(``k`` scaled by how selective the mask is), keeps the allowed hits in FAISS's order, grows the
fetch when that is not enough, and finally scores the allowed set exactly. A very selective
mask (few allowed resources) goes straight to exact scoring: scoring a few hundred vectors is
cheaper than any index search. So a filtered request returns ``min(k, n_allowed)`` resources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.checks import check_k, check_number
from recommender.errors import InvalidParameterError
from recommender.index import ResourceIndex

Exclusions = sp.csr_matrix | Sequence[np.ndarray] | None


@dataclass(frozen=True)
class Retrieved:
    """One query's answer: resource_idx and score, best first; how it was found."""

    resource_idx: np.ndarray
    scores: np.ndarray
    path: str  # "index" (FAISS hits sufficed) or "exact" (scored the allowed set)
    n_allowed: int


class FilteredRetriever:
    """Top-k under a boolean mask over resource_idx, on top of a :class:`ResourceIndex`.

    ``resource_vectors`` are the vectors the index was built from (row i = resource_idx i);
    they are needed for the exact fallback. ``exact_below`` is the allowed-set size under which
    exact scoring is used at once; ``max_fetch_share`` caps how much of the catalog the index is
    asked for before falling back to exact scoring.
    """

    def __init__(
        self,
        resource_vectors: np.ndarray,
        index: ResourceIndex | None = None,
        *,
        exact_below: int = 2048,
        max_fetch_share: float = 0.25,
        growth: int = 4,
    ) -> None:
        vectors = np.ascontiguousarray(resource_vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise InvalidParameterError("resource_vectors", vectors.shape, "a 2-D array")
        if index is None:
            index = ResourceIndex(vectors)
        if index.n_resources != len(vectors) or index.dim != vectors.shape[1]:
            raise InvalidParameterError(
                "index", (index.n_resources, index.dim), f"an index over {vectors.shape} vectors"
            )
        check_number("max_fetch_share", max_fetch_share, 0.0, 1.0, open_low=True)
        if isinstance(growth, bool) or not isinstance(growth, int) or growth < 2:
            raise InvalidParameterError("growth", growth, "an integer >= 2")
        self.vectors = vectors
        self.index = index
        self.exact_below = int(exact_below)
        self.max_fetch_share = float(max_fetch_share)
        self.growth = growth

    @property
    def n_resources(self) -> int:
        return len(self.vectors)

    def search(
        self,
        query: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        exclude: np.ndarray | None = None,
    ) -> Retrieved:
        """Best ``k`` allowed resources for one query vector, skipping ``exclude`` indices."""
        k = check_k(k)
        query = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        if query.shape[1] != self.vectors.shape[1]:
            raise InvalidParameterError(
                "query", query.shape, f"a vector of length {self.vectors.shape[1]}"
            )
        allowed = self._allowed(allowed, exclude)
        n_allowed = int(np.count_nonzero(allowed))
        want = min(int(k), n_allowed)
        if want == 0:
            return Retrieved(np.empty(0, np.int64), np.empty(0, np.float32), "exact", 0)
        if n_allowed > self.exact_below:
            one_pass = self.index.search_allowed(query, want, allowed)
            if one_pass is not None and len(one_pass[0]) >= want:
                return Retrieved(one_pass[0], one_pass[1], "index", n_allowed)
            n = self.n_resources
            fetch = min(n, int(np.ceil(want * n / n_allowed * 2)) + 16)
            limit = max(fetch, int(n * self.max_fetch_share))
            while True:
                found, scores = self.index.search(query, fetch)
                found, scores = found[0], scores[0]
                hit = found >= 0
                hit[hit] = allowed[found[hit]]
                if np.count_nonzero(hit) >= want:
                    return Retrieved(found[hit][:want].astype(np.int64),
                                     scores[hit][:want].astype(np.float32), "index", n_allowed)
                if fetch >= min(n, limit):
                    break
                fetch = min(n, limit, fetch * self.growth)
        return self._exact(query[0], want, allowed, n_allowed)

    def search_many(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        exclude: Exclusions = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row-wise :meth:`search`: ``(resource_idx, score)`` of shape (n_queries, k).

        ``allowed`` is one mask for every query (1-D) or one per query (2-D); ``exclude`` a
        learners x resources sparse matrix or a sequence of index arrays, one per query. Rows
        with fewer than ``k`` allowed resources are padded with -1 / -inf.
        """
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        n_queries = len(queries)
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=bool)
            if allowed.ndim == 2 and allowed.shape[0] != n_queries:
                raise InvalidParameterError(
                    "allowed", allowed.shape, f"{n_queries} rows, one per query"
                )
        rows = _exclusion_rows(exclude, n_queries)
        out_idx = np.full((n_queries, k), -1, dtype=np.int64)
        out_scores = np.full((n_queries, k), -np.inf, dtype=np.float32)
        for row in range(n_queries):
            mask = allowed[row] if allowed is not None and allowed.ndim == 2 else allowed
            found = self.search(queries[row], k, mask, rows[row])
            out_idx[row, : len(found.resource_idx)] = found.resource_idx
            out_scores[row, : len(found.scores)] = found.scores
        return out_idx, out_scores

    def _allowed(self, allowed: np.ndarray | None, exclude: np.ndarray | None) -> np.ndarray:
        if allowed is None:
            allowed = np.ones(self.n_resources, dtype=bool)
        else:
            allowed = np.asarray(allowed, dtype=bool)
            if allowed.shape != (self.n_resources,):
                raise InvalidParameterError(
                    "allowed", allowed.shape, f"shape ({self.n_resources},)"
                )
        if exclude is not None and len(exclude):
            allowed = allowed.copy()
            allowed[np.asarray(exclude, dtype=np.int64)] = False
        return allowed

    def _exact(
        self, query: np.ndarray, want: int, allowed: np.ndarray, n_allowed: int
    ) -> Retrieved:
        """Score the allowed set exactly; ties broken by resource_idx (lower first)."""
        if n_allowed * 4 > self.n_resources:  # gathering most rows costs more than one gemv
            scores = self.vectors @ query
            candidates = np.flatnonzero(allowed)
            scores = scores[candidates]
        else:
            candidates = np.flatnonzero(allowed)
            scores = self.vectors[candidates] @ query
        if want < len(candidates):  # keep every candidate tied with the want-th score, so
            # the lower resource_idx wins a tie at the cut as it does everywhere else
            cut = np.partition(-scores, want - 1)[want - 1]
            keep = -scores <= cut
            candidates, scores = candidates[keep], scores[keep]
        order = np.lexsort((candidates, -scores))[:want]
        return Retrieved(candidates[order].astype(np.int64), scores[order].astype(np.float32),
                         "exact", n_allowed)


def _exclusion_rows(exclude: Exclusions, n_queries: int) -> list[np.ndarray | None]:
    if exclude is None:
        return [None] * n_queries
    if sp.issparse(exclude):
        csr = sp.csr_matrix(exclude)
        rows = [csr.indices[csr.indptr[i]: csr.indptr[i + 1]] for i in range(csr.shape[0])]
    else:
        rows = [np.asarray(r, dtype=np.int64) for r in exclude]
    if len(rows) != n_queries:
        raise InvalidParameterError("exclude", len(rows), f"{n_queries} rows, one per query")
    return rows
