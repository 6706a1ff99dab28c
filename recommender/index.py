"""Inner-product indexes over resource vectors: FAISS, or norm-pruned exact search.

Exclusions and masks are not the index's business: :mod:`recommender.retrieval` builds the one
filtered top-k on top of it, which serving, the batch export, evaluation and the models'
``recommend`` share. The index type is a FAISS factory string ("Flat" exact; "HNSW32,Flat" approximate), which is the seam for
scaling out (e.g. "IVF4096,Flat") without code changes, or "NormPrunedFlat": exact search that
skips resources whose vector norm cannot win (:mod:`recommender.norm_index`), the fast choice
for matrix-factorisation vectors, whose norms are too unequal for HNSW's recall, or
"NormPrunedFlat,approx": the same, reading only the longest vectors wherever they are a deep
sample of the allowed resources (the serving default; recall@10 above 0.99 on the sample world).
``params`` of either: ``head_share=<share>`` (defaults 0.05 exact, 0.02 approximate).
"""

from __future__ import annotations

import faiss
import numpy as np

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

def _as_float32(matrix: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(matrix, dtype=np.float32)


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

    @property
    def keeps_exact(self) -> bool:
        """An approximate FAISS index (HNSW, IVF) keeps a flat copy, so rows it leaves short
        can be searched again exactly (:meth:`search_exact`); exact and norm-pruned indexes
        never leave a row short."""
        return self._exact is not None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best resources per query row, ``(resource_idx, score)`` each shaped
        ``(n_queries, k)``, equal scores in resource-index order among those fetched, -1 and
        ``-inf`` where the index returns fewer. No exclusions: that is
        :class:`recommender.retrieval.FilteredRetriever`'s job."""
        return self._ordered(self._index, queries, k)

    def search_exact(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` by a full scan (an approximate index's rows it left short)."""
        return self._ordered(self._exact if self._exact is not None else self._index,
                             queries, k)

    def _ordered(self, index: object, queries: np.ndarray, k: int
                 ) -> tuple[np.ndarray, np.ndarray]:
        if k < 1:
            raise InvalidParameterError("k", k, "an integer >= 1")
        queries = _as_float32(np.atleast_2d(queries))
        scores, found = index.search(queries, min(k, self.n_resources))  # type: ignore[attr-defined]
        order = np.lexsort((found, -scores.astype(np.float64)), axis=1)
        found = np.take_along_axis(found, order, axis=1).astype(np.int64)
        scores = np.take_along_axis(scores, order, axis=1).astype(np.float32)
        missing = found < 0
        scores[missing] = -np.inf
        if found.shape[1] < k:
            pad = ((0, 0), (0, k - found.shape[1]))
            found = np.pad(found, pad, constant_values=-1)
            scores = np.pad(scores, pad, constant_values=-np.inf)
        return found, scores

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
