"""Filtered top-k: the best ``k`` resources among those a mask allows, never fewer than exist;
the one retrieval behind the delivery core, evaluation and every model's ``recommend``.

An exact index that can take the mask itself (``NormPrunedFlat``, ``Flat``: FAISS skips the
disallowed resources through an ID selector) answers in one pass. Otherwise FAISS ranks the whole
catalog and a filter keeps only part of it. Asking FAISS for ``k`` and then
filtering would return short lists for selective filters, so the retriever asks for more
(``k`` scaled by how selective the mask is), keeps the allowed hits in FAISS's order, grows the
fetch when that is not enough, and finally scores the allowed set exactly. A very selective
mask (few allowed resources) goes straight to exact scoring: scoring a few hundred vectors is
cheaper than any index search. So a filtered request returns ``min(k, n_allowed)`` resources.

Many queries with per-row exclusions (offline evaluation, a model's ``recommend``) take
:meth:`FilteredRetriever.search_many`'s batched form of the same contract: one index search
for every row, fetched past the longest exclusion row, equal scores settled by resource index
whatever the batch (tested equal to the row-by-row answer).
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
                    kept = scores[hit][:want]
                    if fetch < n and scores[-1] >= kept[-1]:
                        break  # a score tie at the cut may run past the fetch: score exactly
                    return Retrieved(found[hit][:want].astype(np.int64),
                                     kept.astype(np.float32), "index", n_allowed)
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
        exclude_all: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row-wise :meth:`search`: ``(resource_idx, score)`` of shape (n_queries, k).

        ``exclude`` is a learners x resources sparse matrix or a sequence of index arrays, one
        per query; ``exclude_all`` resource indices dropped for every row (one mask, not a copy
        per row); ``allowed`` one mask for every query (1-D) or one per query (2-D, searched
        row by row). Rows with fewer than ``k`` resources left are padded with -1 / -inf.
        """
        k = check_k(k)
        queries = np.ascontiguousarray(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        n_queries = len(queries)
        rows = _exclusion_rows(exclude, n_queries)
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=bool)
            if allowed.ndim == 2:
                if allowed.shape[0] != n_queries:
                    raise InvalidParameterError(
                        "allowed", allowed.shape, f"{n_queries} rows, one per query")
                return self._row_by_row(queries, k, allowed, rows, exclude_all)
            allowed = self._allowed(allowed, exclude_all)
            exclude_all = np.flatnonzero(~allowed)
        return self._batched(queries, k, rows, exclude_all)

    def _row_by_row(
        self, queries: np.ndarray, k: int, allowed: np.ndarray, rows: list[np.ndarray],
        exclude_all: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        out_idx = np.full((len(queries), k), -1, dtype=np.int64)
        out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        for row in range(len(queries)):
            mask = self._allowed(allowed[row], exclude_all)
            found = self.search(queries[row], k, mask, rows[row])
            out_idx[row, : len(found.resource_idx)] = found.resource_idx
            out_scores[row, : len(found.scores)] = found.scores
        return out_idx, out_scores

    def _batched(
        self, queries: np.ndarray, k: int, rows: list[np.ndarray],
        exclude_all: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One index search for all rows, fetched past what the longest exclusion row and the
        catalog-wide exclusion can remove; rows whose cut falls in a score tie are fetched
        further (so ties settle by resource index whatever the batch), and rows an
        approximate index left short are searched again exactly."""
        n = self.n_resources
        blocked = None
        if exclude_all is not None and len(exclude_all):
            everywhere = np.asarray(exclude_all, dtype=np.int64)
            if everywhere.min() < 0 or everywhere.max() >= n:
                raise InvalidParameterError(
                    "exclude_all", everywhere, f"resource indices in [0, {n})")
            blocked = np.zeros(n, dtype=bool)
            blocked[everywhere] = True
        longest = max((len(r) for r in rows), default=0)
        n_blocked = 0 if blocked is None else int(np.count_nonzero(blocked))
        # One spare hit beyond what the list needs shows whether a score tie runs past the cut.
        fetch = min(n, k + longest + n_blocked + 1)
        found, scores = self.index.search(queries, fetch)
        out_idx, out_scores = _drop_excluded(found, scores, rows, k, blocked)
        tied = np.flatnonzero(_tied_at_cut(scores, out_scores))
        width = fetch
        while tied.size and width < n:
            width = min(n, 2 * width)
            found, scores = self.index.search(queries[tied], width)
            out_idx[tied], out_scores[tied] = _drop_excluded(
                found, scores, [rows[i] for i in tied], k, blocked)
            tied = tied[_tied_at_cut(scores, out_scores[tied])]
        if self.index.keeps_exact:
            # Rows with a gap, kept only where k resources remain open (counted for those alone).
            short = [i for i in np.flatnonzero((out_idx < 0).any(axis=1)).tolist()
                     if n - n_blocked - (len(rows[i]) if blocked is None
                                         else np.count_nonzero(~blocked[rows[i]])) >= k]
            if short:
                short_rows = np.array(short, dtype=np.int64)
                found, scores = self.index.search_exact(queries[short_rows], fetch)
                out_idx[short_rows], out_scores[short_rows] = _drop_excluded(
                    found, scores, [rows[i] for i in short], k, blocked)
        return out_idx, out_scores

    def _allowed(self, allowed: np.ndarray | None, exclude: np.ndarray | None) -> np.ndarray:
        """``allowed`` (None: everything) as a bool mask, without ``exclude``."""
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


def _exclusion_rows(exclude: Exclusions, n_queries: int) -> list[np.ndarray]:
    if exclude is None:
        return [np.empty(0, dtype=np.int64)] * n_queries
    if sp.issparse(exclude):
        csr = sp.csr_matrix(exclude)
        rows = [csr.indices[csr.indptr[i]: csr.indptr[i + 1]] for i in range(csr.shape[0])]
    else:
        rows = [np.asarray(r, dtype=np.int64) for r in exclude]
    if len(rows) != n_queries:
        raise InvalidParameterError("exclude", len(rows), f"{n_queries} rows, one per query")
    return rows


def _tied_at_cut(fetched_scores: np.ndarray, kept_scores: np.ndarray) -> np.ndarray:
    """Rows whose full list ends on a score the last fetched hit still has: a tie that may
    continue among resources not fetched."""
    boundary = kept_scores[:, -1]
    return np.isfinite(boundary) & (fetched_scores[:, -1] >= boundary)


def _drop_excluded(
    found: np.ndarray, scores: np.ndarray, rows: list[np.ndarray], k: int,
    blocked: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Remove excluded (per row, or ``blocked`` for all) and missing (-1) hits, keeping
    FAISS's order, and cut to ``k``."""
    n, width = found.shape
    # Equal scores in resource-index order (FAISS returns ties in no fixed order).
    tie_order = np.lexsort((found, -scores.astype(np.float64)), axis=1)
    found = np.take_along_axis(found, tie_order, axis=1)
    scores = np.take_along_axis(scores, tie_order, axis=1)
    drop = found < 0
    if blocked is not None:
        drop |= blocked[np.maximum(found, 0)]
    row_of = np.repeat(np.arange(n, dtype=np.int64), [len(r) for r in rows])
    if len(row_of):  # (row, resource) codes, looked up in the sorted excluded codes
        excluded_codes = np.sort(row_of * (1 << 32) + np.concatenate(rows).astype(np.int64))
        hit_codes = np.arange(n, dtype=np.int64)[:, None] * (1 << 32) + found
        at = np.minimum(np.searchsorted(excluded_codes, hit_codes), len(excluded_codes) - 1)
        drop |= excluded_codes[at] == hit_codes
    order = np.argsort(drop, axis=1, kind="stable")[:, :k]
    kept_idx = np.take_along_axis(found, order, axis=1)
    kept_scores = np.take_along_axis(scores, order, axis=1).astype(np.float32)
    kept_drop = np.take_along_axis(drop, order, axis=1)
    kept_idx = np.where(kept_drop, -1, kept_idx)
    kept_scores = np.where(kept_drop, -np.inf, kept_scores)
    if width < k:
        pad = k - width
        kept_idx = np.pad(kept_idx, ((0, 0), (0, pad)), constant_values=-1)
        kept_scores = np.pad(kept_scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    return kept_idx.astype(np.int64), kept_scores
