"""Top-k retrieval over resource vectors with FAISS, shared by offline evaluation and serving.

One implementation of "score every resource by inner product, drop the excluded ones, keep the
best k", so an offline metric sees exactly the candidate lists the API would return. The index
type is a FAISS factory string ("Flat" exact; "HNSW32,Flat" approximate), which is the seam for
scaling out (e.g. "IVF4096,Flat") without code changes, or "NormPrunedFlat": exact search that
skips resources whose vector norm cannot win (:mod:`recommender.norm_index`), the fast choice
for matrix-factorisation vectors, whose norms are too unequal for HNSW's recall, or
"NormPrunedFlat,approx": the same, reading only the longest vectors wherever they are a deep
sample of the allowed resources (the serving default; recall@10 above 0.99 on the sample world).
``params`` of either: ``head_share=<share>`` (defaults 0.05 exact, 0.02 approximate).
"""

from __future__ import annotations

from collections.abc import Sequence

import faiss
import numpy as np
import scipy.sparse as sp

from recommender.errors import InvalidParameterError
from recommender.norm_index import NormPrunedFlat

# Not FAISS factory strings: search pruned by vector norms (recommender.norm_index), exact, or
# approximate (the longest vectors only, where they are a deep sample of the allowed ones).
NORM_PRUNED = "NormPrunedFlat"
NORM_PRUNED_APPROX = "NormPrunedFlat,approx"
# What the API serves with unless told otherwise: on skewed-norm factor models (ALS, BPR) the
# head-only search keeps recall@10 above 0.99 at a fraction of a full scan's cost, and falls
# back to exact search for selective filters, large k and small catalogs
# (benchmarks/serve_load.py prints its recall and time beside the exact paths').
SERVING_INDEX = NORM_PRUNED_APPROX


def _norm_pruned_params(params: str) -> dict[str, float]:
    """``"head_share=0.05"`` -> keyword arguments of :class:`NormPrunedFlat`."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in params.split(","))):
        name, _, value = part.partition("=")
        if name.strip() != "head_share":
            raise InvalidParameterError("params", params, "head_share=<share> for NormPrunedFlat")
        try:
            out["head_share"] = float(value)
        except ValueError:
            raise InvalidParameterError("params", params, "head_share=<a number>") from None
    return out

ExclusionRows = sp.csr_matrix | Sequence[np.ndarray] | None


def _as_float32(matrix: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(matrix, dtype=np.float32)


def _exclusion_rows(exclude: ExclusionRows, n_queries: int) -> list[np.ndarray]:
    if exclude is None:
        return [np.empty(0, dtype=np.int64)] * n_queries
    if sp.issparse(exclude):
        csr = sp.csr_matrix(exclude)
        return [csr.indices[csr.indptr[i]: csr.indptr[i + 1]] for i in range(csr.shape[0])]
    return [np.asarray(row, dtype=np.int64) for row in exclude]


class ResourceIndex:
    """A FAISS inner-product index over resource vectors (row i is resource_idx i)."""

    def __init__(
        self, resource_vectors: np.ndarray, factory: str = "Flat", params: str = ""
    ) -> None:
        """``params`` are FAISS search parameters for the factory's index, e.g.
        ``"efSearch=64"`` for HNSW or ``"nprobe=16"`` for IVF (the recall/speed knob)."""
        vectors = _as_float32(resource_vectors)
        if vectors.ndim != 2:
            raise InvalidParameterError("resource_vectors", vectors.shape, "a 2-D array")
        self.factory = factory
        self.params = params
        self.dim = int(vectors.shape[1])
        self.n_resources = int(vectors.shape[0])
        self._exact = None
        if factory in (NORM_PRUNED, NORM_PRUNED_APPROX):  # see recommender.norm_index
            self._index = NormPrunedFlat(vectors, **_norm_pruned_params(params),
                                         approximate=factory == NORM_PRUNED_APPROX)
            return
        try:
            self._index = faiss.index_factory(self.dim, factory, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError:
            raise InvalidParameterError(
                "factory", factory, "a FAISS index factory string") from None
        if not self._index.is_trained:
            self._index.train(vectors)
        self._index.add(vectors)
        if params:
            try:
                faiss.ParameterSpace().set_index_parameters(self._index, params)
            except RuntimeError:
                raise InvalidParameterError(
                    "params", params, f"FAISS search parameters of a {factory} index") from None
        if factory != "Flat":
            self._exact = faiss.IndexFlatIP(self.dim)
            self._exact.add(vectors)

    def search(
        self, queries: np.ndarray, k: int, exclude: ExclusionRows = None,
        exclude_all: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` resources per query row, skipping each row's excluded resource indices
        and ``exclude_all`` (resource indices dropped for every row: one mask, not a copy per
        row, so a catalog-wide exclusion such as closed courses costs one lookup per hit).

        Returns ``(resource_idx, score)``, both shaped ``(n_queries, k)``; where fewer than ``k``
        resources remain after exclusion the tail is padded with -1 and ``-inf``.
        """
        if k < 1:
            raise InvalidParameterError("k", k, "an integer >= 1")
        queries = _as_float32(np.atleast_2d(queries))
        rows = _exclusion_rows(exclude, len(queries))
        if len(rows) != len(queries):
            raise InvalidParameterError("exclude", len(rows), f"{len(queries)} rows, one per query")
        blocked = None
        if exclude_all is not None and len(exclude_all):
            everywhere = np.asarray(exclude_all, dtype=np.int64)
            if everywhere.min() < 0 or everywhere.max() >= self.n_resources:
                raise InvalidParameterError(
                    "exclude_all", everywhere, f"resource indices in [0, {self.n_resources})")
            blocked = np.zeros(self.n_resources, dtype=bool)
            blocked[everywhere] = True
        longest = max((len(r) for r in rows), default=0)
        # One spare hit beyond what the list needs shows whether a score tie runs past the cut.
        n_blocked = 0 if blocked is None else int(np.count_nonzero(blocked))
        fetch = min(self.n_resources, k + longest + n_blocked + 1)
        scores, found = self._index.search(queries, fetch)
        out_idx, out_scores = _drop_excluded(found, scores, rows, k, blocked)
        tied = np.flatnonzero(_tied_at_cut(scores, out_scores))
        width = fetch
        while tied.size and width < self.n_resources:
            # A score tie runs past what was fetched for these rows: fetch further, for them
            # only, so equal scores are settled by resource index whatever the batch
            # (evaluation = serving).
            width = min(self.n_resources, 2 * width)
            scores, found = self._index.search(queries[tied], width)
            out_idx[tied], out_scores[tied] = _drop_excluded(
                found, scores, [rows[i] for i in tied], k, blocked
            )
            tied = tied[_tied_at_cut(scores, out_scores[tied])]
        if self._exact is not None:
            # An approximate index may return fewer than `fetch` hits; redo those rows exactly.
            # Rows with a gap, kept only where k resources remain open (counted for those alone).
            short = np.flatnonzero((out_idx < 0).any(axis=1))
            short = np.array([i for i in short.tolist() if self.n_resources - n_blocked - (
                len(rows[i]) if blocked is None else np.count_nonzero(~blocked[rows[i]])) >= k],
                dtype=np.int64)
            if short.size:
                s, f = self._exact.search(queries[short], fetch)
                fixed_idx, fixed_scores = _drop_excluded(f, s, [rows[i] for i in short], k,
                                                         blocked)
                out_idx[short], out_scores[short] = fixed_idx, fixed_scores
        return out_idx, out_scores

    def search_allowed(
        self, query: np.ndarray, k: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Exact best ``k`` of the ``allowed`` resources (bool over resource_idx) for one
        query, in one pass: ``(resource_idx, scores)``, equal scores in resource-index order,
        fewer than ``k`` only when fewer are allowed. None when this index cannot answer that
        exactly (an approximate index, or a score tie across the cut): the caller then
        over-fetches with :meth:`search` or scores the allowed set itself."""
        if k < 1:
            raise InvalidParameterError("k", k, "an integer >= 1")
        if isinstance(self._index, NormPrunedFlat):
            return self._index.search_allowed(query, k, allowed)
        if self.factory != "Flat":
            return None
        query = _as_float32(np.asarray(query).reshape(1, -1))
        bitmap = np.packbits(np.asarray(allowed, dtype=bool), bitorder="little")
        params = faiss.SearchParameters(
            sel=faiss.IDSelectorBitmap(self.n_resources, faiss.swig_ptr(bitmap)))
        scores, found = self._index.search(query, min(k + 1, self.n_resources), params=params)
        hit = found[0] >= 0
        found, scores = found[0][hit].astype(np.int64), scores[0][hit]
        ranked = np.lexsort((found, -scores))
        found, scores = found[ranked], scores[ranked]
        if len(scores) > k and scores[k] >= scores[k - 1]:
            return None  # a tie at the cut may continue among resources not fetched
        return found[:k], scores[:k].astype(np.float32)


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
