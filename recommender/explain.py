"""Why a resource is on a learner's delivery list, in words a learner can read.

One reason per recommended slot, deterministic and vectorised over a chunk of learners, so the
batch delivery export and the API say the same thing:

* ``similar``: "because you engaged with <title>": the resource in the learner's history whose
  vector (the model's, so the reason follows what the model scores) is most similar by cosine;
  ties go to the higher confidence, then the lower resource index.
* ``continue``: the recommended resource is itself in the learner's history (viewed, not done);
  ``because_resource_idx`` still names the most similar other history resource.
* ``group_popular``: a learner without history gets "popular with <group> learners (n engaged)".
* ``popular`` / ``new``: no group (or nobody in it engaged): platform-wide popularity, or a
  resource nobody has engaged with yet. A cold-start reason always says it is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.errors import InvalidParameterError

if TYPE_CHECKING:
    from recommender.bundle import Bundle

SIMILAR, CONTINUE, GROUP_POPULAR, POPULAR, NEW = (
    "similar", "continue", "group_popular", "popular", "new",
)
KINDS: tuple[str, ...] = (SIMILAR, CONTINUE, GROUP_POPULAR, POPULAR, NEW)
_NONE = -1


@dataclass(frozen=True)
class Reasons:
    """Per slot ``(n_learners, k)``: the reason kind (None for an empty slot), the history
    resource it points to (-1 when none) and the text shown to the learner (None when empty)."""

    kind: np.ndarray
    because_resource_idx: np.ndarray
    text: np.ndarray


class Explainer:
    """Reasons for recommended slots, from resource vectors, histories and learner groups.

    ``interactions`` is the learners x resources confidence matrix the model was fitted on;
    ``learner_groups`` (one label per learner, None/NaN for unknown) drives the cold-start
    reason. Only each learner's ``max_history`` highest-confidence resources are compared, so
    the cost per learner stays bounded whatever their history length.
    """

    def __init__(
        self,
        resource_vectors: np.ndarray,
        interactions: sp.spmatrix,
        titles: np.ndarray,
        learner_groups: np.ndarray | None = None,
        *,
        max_history: int = 50,
        block_size: int = 1 << 16,
    ) -> None:
        if isinstance(max_history, bool) or not isinstance(max_history, int) or max_history < 1:
            raise InvalidParameterError("max_history", max_history, "an integer >= 1")
        vectors = np.asarray(resource_vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise InvalidParameterError("resource_vectors", vectors.shape, "a 2-D array")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        history = interactions if sp.issparse(interactions) else sp.csr_matrix(interactions)
        self._history = history.tocsr().astype(np.float32, copy=False)  # no copy if it is one
        n_learners, n_resources = self._history.shape
        if n_resources != len(vectors) or len(titles) != n_resources:
            raise InvalidParameterError(
                "interactions", self._history.shape,
                f"{n_resources} == {len(vectors)} resource vectors == {len(titles)} titles",
            )
        self.max_history = max_history
        self.block_size = block_size
        titles = np.asarray(titles, dtype=object)
        self._similar_text = np.array(
            [f'because you engaged with "{t}"' for t in titles], dtype=object
        )
        self._group_code, self._group_names = _group_codes(learner_groups, n_learners)
        self._global_count, self._group_count = _engaged_counts(
            self._history, self._group_code, len(self._group_names))

    @classmethod
    def from_bundle(cls, bundle: Bundle, **options: int) -> Explainer:
        """An explainer over a bundle: its vectors, histories, titles and learner groups."""
        resources, learners = bundle.resources, bundle.learners
        titles = resources["title"] if "title" in resources else resources["resource_id"]
        groups = learners["group"].to_numpy(dtype=object) if "group" in learners else None
        return cls(bundle.resource_factors, bundle.interactions,
                   titles.astype(str).to_numpy(dtype=object), groups, **options)

    def explain(self, learner_idx: np.ndarray, resource_idx: np.ndarray) -> Reasons:
        """Reasons for ``resource_idx`` (``(n, k)``, -1 = empty slot) recommended to learners
        ``learner_idx`` (``(n,)``)."""
        learner_idx = np.asarray(learner_idx, dtype=np.int64).ravel()
        slots = np.asarray(resource_idx, dtype=np.int64)
        if slots.ndim != 2 or slots.shape[0] != len(learner_idx):
            raise InvalidParameterError(
                "resource_idx", slots.shape, f"a 2-D array with {len(learner_idx)} rows"
            )
        because, is_own = self._most_similar(learner_idx, slots)
        filled = slots >= 0
        has_history = np.diff(self._history.indptr)[learner_idx] > 0
        kind = np.full(slots.shape, None, dtype=object)
        text = np.full(slots.shape, None, dtype=object)

        own = filled & is_own
        kind[own] = CONTINUE
        text[own] = "continue where you left off"
        similar = filled & ~own & (because >= 0)
        kind[similar] = SIMILAR
        text[similar] = self._similar_text[because[similar]]
        cold = filled & ~similar & ~own & ~has_history[:, None]
        warm_left = filled & ~similar & ~own & has_history[:, None]
        self._popularity_reasons(learner_idx, slots, cold | warm_left, kind, text)
        return Reasons(kind=kind, because_resource_idx=because, text=text)

    def _popularity_reasons(
        self, learner_idx: np.ndarray, slots: np.ndarray, where: np.ndarray,
        kind: np.ndarray, text: np.ndarray,
    ) -> None:
        """Group, then platform popularity, then "new", for the slots in ``where``."""
        rows, cols = np.nonzero(where)
        if not len(rows):
            return
        resource = slots[rows, cols]
        group = self._group_code[learner_idx[rows]]
        in_group = np.zeros(len(rows), dtype=np.int64)
        known = group >= 0
        in_group[known] = self._group_count[group[known], resource[known]]
        overall = self._global_count[resource]
        labels = np.where(in_group > 0, GROUP_POPULAR, np.where(overall > 0, POPULAR, NEW))
        kind[rows, cols] = labels
        phrases = np.empty(len(rows), dtype=object)
        phrases[labels == NEW] = "new in the catalog: nobody has engaged with it yet"
        for selector, template, counts in (
            (labels == POPULAR, "popular on the platform ({n} {learners} engaged)", overall),
            (labels == GROUP_POPULAR, "popular with {g} learners ({n} engaged)", in_group),
        ):
            picked = np.flatnonzero(selector)
            if not len(picked):
                continue
            g_code = np.where(labels[picked] == GROUP_POPULAR, group[picked], 0)
            keys = np.stack([g_code, counts[picked]], axis=1)
            unique, inverse = np.unique(keys, axis=0, return_inverse=True)
            rendered = np.array([
                template.format(g=self._group_names[g] if len(self._group_names) else "", n=n,
                                learners="learner" if n == 1 else "learners")
                for g, n in unique
            ], dtype=object)
            phrases[picked] = rendered[inverse.ravel()]
        text[rows, cols] = phrases

    def _most_similar(
        self, learner_idx: np.ndarray, slots: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per slot: the most similar other history resource (-1 if none), and whether the
        slot's resource is itself in the learner's history."""
        n, k = slots.shape
        because = np.full((n, k), _NONE, dtype=np.int64)
        is_own = self._in_history(learner_idx, slots)
        row_of, hist = self._capped_history(learner_idx)
        if not len(hist) or not k:
            return because, is_own
        n_entries = len(hist)
        best_sim = np.full((n, k), -np.inf, dtype=np.float32)
        for lo in range(0, n_entries, max(1, self.block_size // k)):
            hi = min(n_entries, lo + max(1, self.block_size // k))
            rows, items = row_of[lo:hi], hist[lo:hi]
            targets = slots[rows]  # (b, k)
            valid = targets >= 0
            same = targets == items[:, None]
            sims = np.einsum(
                "bd,bkd->bk", self._unit[items], self._unit[np.where(valid, targets, 0)]
            )
            sims = np.where(valid & ~same, sims, -np.inf).astype(np.float32)
            # Entries are ordered by (learner, confidence desc, index asc): the first entry
            # reaching a learner's maximum wins ties, and a strict ">" keeps earlier blocks'.
            seg_max, seg_arg = _segment_argmax(sims, rows)
            seg_rows = np.unique(rows)
            better = seg_max > best_sim[seg_rows]
            cur = because[seg_rows]
            best_sim[seg_rows] = np.where(better, seg_max, best_sim[seg_rows])
            because[seg_rows] = np.where(better, items[seg_arg], cur)
        because[~np.isfinite(best_sim)] = _NONE
        return because, is_own

    def _in_history(self, learner_idx: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Per slot: is the slot's resource among the learner's positive history?"""
        sub = self._history[learner_idx]
        sub = sp.csr_matrix((sub.data > 0, sub.indices, sub.indptr), shape=sub.shape)
        sub.eliminate_zeros()
        sub.sort_indices()
        n_resources = np.int64(sub.shape[1])
        rows = np.repeat(np.arange(sub.shape[0], dtype=np.int64), np.diff(sub.indptr))
        codes = rows * n_resources + sub.indices.astype(np.int64)
        if not len(codes):
            return np.zeros(slots.shape, dtype=bool)
        wanted = np.arange(len(slots), dtype=np.int64)[:, None] * n_resources + slots
        position = np.minimum(np.searchsorted(codes, wanted), len(codes) - 1)
        return (codes[position] == wanted) & (slots >= 0)

    def _capped_history(self, learner_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Entries (chunk row, resource) of each learner's top ``max_history`` positive
        resources, ordered by (row, confidence desc, resource asc)."""
        sub = self._history[learner_idx]
        counts = np.diff(sub.indptr)
        row_of = np.repeat(np.arange(len(learner_idx), dtype=np.int64), counts)
        positive = sub.data > 0
        order = np.lexsort((sub.indices, -sub.data, row_of))
        order = order[positive[order]]
        row_of, items = row_of[order], sub.indices[order].astype(np.int64)
        first = np.searchsorted(row_of, row_of, side="left")
        keep = (np.arange(len(row_of)) - first) < self.max_history
        return row_of[keep], items[keep]


def _segment_argmax(values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each run of equal ``rows`` (sorted), per column: max and first position reaching it."""
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    seg_max = np.maximum.reduceat(values, starts, axis=0)
    seg_id = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(rows)]))
    position = np.arange(len(rows), dtype=np.int64)[:, None]
    hit = values == seg_max[seg_id]
    first = np.minimum.reduceat(np.where(hit, position, len(rows)), starts, axis=0)
    return seg_max, np.minimum(first, len(rows) - 1)


def _group_codes(
    learner_groups: np.ndarray | None, n_learners: int
) -> tuple[np.ndarray, np.ndarray]:
    """Group code per learner (-1 unknown) and the group names, sorted."""
    if learner_groups is None:
        return np.full(n_learners, -1, dtype=np.int64), np.empty(0, dtype=object)
    labels = pd.Series(np.asarray(learner_groups, dtype=object))
    if len(labels) != n_learners:
        raise InvalidParameterError(
            "learner_groups", f"{len(labels)} labels", f"{n_learners}, one per learner"
        )
    labels = labels.where(labels.notna() & (labels.astype(str) != ""), None)
    codes, names = pd.factorize(labels, sort=True)
    return codes.astype(np.int64), np.asarray(names, dtype=object)


def _engaged_counts(
    history: sp.csr_matrix, group_code: np.ndarray, n_groups: int, block: int = 100_000
) -> tuple[np.ndarray, np.ndarray]:
    """Learners who engaged (confidence > 0) with each resource, overall and per group.

    Counted over blocks of learners, so the temporary memory does not grow with the history.
    """
    n_resources = history.shape[1]
    overall = np.zeros(n_resources, dtype=np.int64)
    by_group = np.zeros(n_groups * n_resources, dtype=np.int64)
    for lo in range(0, history.shape[0], block):
        part = history[lo: lo + block]
        rows = np.repeat(np.arange(part.shape[0]), np.diff(part.indptr))
        positive = part.data > 0
        resources = part.indices[positive].astype(np.int64)
        overall += np.bincount(resources, minlength=n_resources)
        groups = group_code[lo + rows[positive]]
        known = groups >= 0
        by_group += np.bincount(groups[known] * n_resources + resources[known],
                                minlength=n_groups * n_resources)
    return overall, by_group.reshape(n_groups, n_resources)
