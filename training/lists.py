"""Delivery lists for a chunk of learners: the retrieval paths batch export and pyfunc share.

:func:`top_k` is the bundle's offline view (pyfunc, :meth:`ServedModel.recommend`): the
learner vectors searched in a :class:`~recommender.index.ResourceIndex` over the resource
vectors, without each learner's exclusions (completed or dismissed resources).
:class:`ConstrainedLists` adds the learner's hard constraints (availability, place, language,
accessibility) the way the API applies them; the batch export uses it.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from recommender.bundle import Bundle
from recommender.delivery import CatalogArrays, FilteredRetriever, learner_profiles
from recommender.delivery.filters import TimeLike, to_timestamp
from recommender.index import ResourceIndex

LIST_COLUMNS = ["learner_id", "rank", "resource_id", "score"]


def long_format(
    bundle: Bundle, learner_idx: np.ndarray, resource_idx: np.ndarray, scores: np.ndarray
) -> dict[str, np.ndarray]:
    """Columns ``learner_id, rank, resource_id, score`` (one row per filled slot) plus
    ``_slot``, the (row, column) positions kept, for attaching per-slot data such as reasons."""
    filled = resource_idx >= 0
    rows, cols = np.nonzero(filled)
    return {
        "learner_id": bundle.learner_map.ids[np.asarray(learner_idx)[rows]],
        "rank": (cols + 1).astype(np.int32),
        "resource_id": bundle.resource_map.ids[resource_idx[rows, cols]],
        "score": scores[rows, cols].astype(np.float32),
        "_slot": np.stack([rows, cols], axis=1),
    }


class ConstrainedLists:
    """Batch delivery lists under each learner's hard constraints, as the API applies them.

    Availability at ``now``, place, language and accessibility go through the one catalog mask
    (:meth:`recommender.delivery.CatalogArrays.mask`, built once per distinct learner
    constraint set, which learners share); retrieval keeps the API's contract (the best ``k``
    allowed resources, never fewer than exist, without the learner's exclusions) but is batched:
    one index search per chunk and constraint set, over-fetched by how selective the mask is,
    with :class:`~recommender.delivery.FilteredRetriever`'s per-learner search only for rows
    that search leaves short.
    """

    def __init__(self, bundle: Bundle, index: ResourceIndex, now: TimeLike) -> None:
        self.bundle = bundle
        self.index = index
        self.now = to_timestamp("now", now) if now is not None else pd.Timestamp.now(tz="UTC")
        self.catalog = CatalogArrays.build(bundle.resources, bundle.regions)
        self.retriever = FilteredRetriever(bundle.resource_factors, index)
        self.profiles = learner_profiles(bundle.learners)
        self._codes: dict[tuple, int] = {}  # learner constraint facts -> mask number
        self._masks: list[np.ndarray] = []

    def at(self, now: TimeLike) -> ConstrainedLists:
        """The same lists at another moment (None: the current time), sharing the catalog,
        retriever and profiles; only the availability-dependent masks are rebuilt."""
        moved = copy.copy(self)
        moved.now = to_timestamp("now", now) if now is not None else pd.Timestamp.now(tz="UTC")
        moved._codes, moved._masks = {}, []
        return moved

    def _code(self, learner_idx: int) -> int:
        """The number of the learner's constraint mask (learners with equal facts share one)."""
        profile = self.profiles[learner_idx]
        key = (profile.region, profile.languages, profile.accessibility_needs)
        code = self._codes.get(key)
        if code is None:
            mask = self.catalog.mask(None, profile, now=self.now)
            mask.setflags(write=False)
            code = self._codes[key] = len(self._masks)
            self._masks.append(mask)
        return code

    def allowed(self, learner_idx: int) -> np.ndarray:
        """The learner's constraint mask (read-only)."""
        return self._masks[self._code(learner_idx)]

    def exclusions(self, learner_idx: int) -> np.ndarray:
        """Resources the learner is done with (completed or dismissed), as the API excludes."""
        done = self.bundle.exclusions
        return done.indices[done.indptr[learner_idx]: done.indptr[learner_idx + 1]]

    def top_k(self, learner_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(resource_idx, score)``, each ``(len(learner_idx), k)``; -1 / -inf pad short lists.

        One batched index search for the chunk, over-fetched for the typical learner's mask
        (fetch grows for the rows it leaves short); rows still short are searched one by one
        with the API's :class:`FilteredRetriever`, which falls back to exact scoring.
        """
        learner_idx = np.asarray(learner_idx, dtype=np.int64)
        n_rows, n = len(learner_idx), self.catalog.n_resources
        out_idx = np.full((n_rows, k), -1, dtype=np.int64)
        out_scores = np.full((n_rows, k), -np.inf, dtype=np.float32)
        if n_rows == 0:
            return out_idx, out_scores
        codes = np.array([self._code(int(learner)) for learner in learner_idx.tolist()])
        used, local = np.unique(codes, return_inverse=True)
        masks = np.stack([self._masks[code] for code in used.tolist()])  # (used, n)
        n_allowed = masks.sum(axis=1)[local]
        excluded = [self.exclusions(int(learner)) for learner in learner_idx.tolist()]
        want = np.minimum(k, n_allowed - np.array(
            [int(np.count_nonzero(masks[row, done])) for row, done in zip(local, excluded)]))
        need = np.minimum(n, np.ceil(k * n / np.maximum(n_allowed, 1) * 2).astype(np.int64) + 16)
        queries = self.bundle.learner_factors[learner_idx]
        pending = np.flatnonzero(want > 0)
        fetch = int(np.quantile(need[pending], 0.9)) if len(pending) else 0
        limit = max(fetch, int(n * self.retriever.max_fetch_share))
        while len(pending):
            found, scores = self.index.search(queries[pending], fetch,
                                              [excluded[row] for row in pending.tolist()])
            hit = (found >= 0) & masks[local[pending][:, None], np.maximum(found, 0)]
            done = hit.sum(axis=1) >= want[pending]
            rows = pending[done]
            order = np.argsort(~hit[done], axis=1, kind="stable")[:, :k]
            kept = np.take_along_axis(hit[done], order, axis=1)
            width = order.shape[1]
            out_idx[rows, :width] = np.where(
                kept, np.take_along_axis(found[done], order, axis=1), -1)
            out_scores[rows, :width] = np.where(
                kept, np.take_along_axis(scores[done], order, axis=1), -np.inf)
            pending = pending[~done]
            if fetch >= min(n, limit):
                break
            fetch = min(n, limit, fetch * self.retriever.growth)
        for row in pending.tolist():  # very selective masks: the API's exact fallback
            again = self.retriever.search(queries[row], k, masks[local[row]], excluded[row])
            out_idx[row, : len(again.resource_idx)] = again.resource_idx
            out_scores[row, : len(again.scores)] = again.scores
        return out_idx, out_scores
