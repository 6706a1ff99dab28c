"""Why a resource is on a learner's delivery list, in words a learner can read: the one
implementation behind the batch delivery export (:class:`Explainer`) and the API
(:mod:`recommender.serving.reasons`), so both say the same thing about the same slot.

Per slot, the first that applies:

* ``continue``: the resource is in the learner's positive history ("continue where you left
  off"); ``because_resource_idx`` still names the most similar other history resource.
* ``similar``: the history resource most similar to it (cosine of the model's vectors, so the
  reason follows what the model scores; among the learner's ``max_history`` highest-confidence
  resources, ties to the higher confidence, then the lower resource index): "because you
  completed “X”" when that one was completed, else "because you engaged with “X”".
* ``interest``: a tag or category word of the resource appears in the learner's stated
  interests: "matches your interest: smartphone".
* ``group_popular``: learners of the learner's group engaged with it: "popular with retirees in
  your region" when it is held in person in or next to the learner's region, else "popular with
  retirees".
* ``popular`` / ``new``: someone on the platform engaged with it, or nobody has yet.

The choice is made by :func:`word_reasons` from per-slot facts; each caller gathers the facts
from what it holds (a bundle's matrices for the export; a request's history, profile and the
API's own resources for serving).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.errors import InvalidParameterError
from recommender.features.content import CATEGORY_LABELS

if TYPE_CHECKING:
    from recommender.bundle import Bundle
    from recommender.delivery import CatalogArrays

SIMILAR, CONTINUE, INTEREST, GROUP_POPULAR, POPULAR, NEW = (
    "similar", "continue", "interest", "group_popular", "popular", "new",
)
KINDS: tuple[str, ...] = (CONTINUE, SIMILAR, INTEREST, GROUP_POPULAR, POPULAR, NEW)
MAX_HISTORY = 50  # history resources compared per learner
_NONE = -1

GROUP_LABELS: dict[str, str] = {
    "employee": "employees", "rural_resident": "rural residents",
    "migrant_worker": "migrant workers", "unemployed": "job seekers", "retiree": "retirees",
    "disabled": "learners with disabilities", "veteran": "veterans", "youth": "young learners",
}


def group_label(group: str) -> str:
    """How a learner group is named in a reason ("retiree" -> "retirees")."""
    return GROUP_LABELS.get(group, f"{group.replace('_', ' ')} learners")


def interest_word(tags: Sequence[str], category: str | None, interests: str | None) -> str | None:
    """The first tag or category word (two characters or more) found in ``interests``."""
    text = (interests or "").lower()
    if not text:
        return None
    words = [t for t in tags if len(t) >= 2]
    words += [w for w in CATEGORY_LABELS.get(category or "", "").split() if len(w) >= 2]
    return next((w for w in words if w.lower() in text), None)


def held_near(catalog: CatalogArrays | None, rows: np.ndarray, home: np.ndarray | int
              ) -> np.ndarray:
    """Per catalog row: held in person in the learner's region or one next to it (``home``:
    the learner's region code in ``catalog``, -1 unknown; broadcast against ``rows``)."""
    rows = np.asarray(rows, dtype=np.int64)
    if catalog is None or catalog.near.size == 0:  # no regions in the catalog: nothing is near
        return np.zeros(rows.shape, dtype=bool)
    home = np.asarray(home, dtype=np.int64)
    held = catalog.region.codes[rows]
    return (catalog.in_person[rows] & (home >= 0) & (held >= 0)
            & catalog.near[np.maximum(home, 0), np.maximum(held, 0)])


@dataclass(frozen=True)
class Reasons:
    """Per slot ``(n_learners, k)``: the reason kind (None for an empty slot), the history
    resource it points to (-1 when none) and the text shown to the learner (None when empty)."""

    kind: np.ndarray
    because_resource_idx: np.ndarray
    text: np.ndarray


def similar_texts(titles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per resource, the ``similar`` reason pointing to it: (engaged with, completed)."""
    engaged = np.array([f"because you engaged with \u201c{t}\u201d" for t in titles], dtype=object)
    completed = np.array([f"because you completed \u201c{t}\u201d" for t in titles], dtype=object)
    return engaged, completed


def word_reasons(
    filled: np.ndarray,
    own: np.ndarray,
    because: np.ndarray,
    because_completed: np.ndarray,
    interest: np.ndarray,
    group_engaged: np.ndarray,
    groups: np.ndarray,
    near: np.ndarray,
    engaged: np.ndarray,
    texts: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Kind and text per slot ``(n, k)`` from its facts, in the order of the module
    docstring: ``because`` the most similar history resource (-1: none), ``interest`` the
    matched word or None, ``group_engaged`` learners of the learner's group who engaged with
    the resource, ``groups`` the learner's group per row (None: unknown), ``near`` held in
    person near the learner, ``engaged`` anyone engaged, ``texts`` :func:`similar_texts`."""
    kind = np.empty(filled.shape, dtype=object)  # None-filled (np.full's cost, without it)
    text = np.empty(filled.shape, dtype=object)
    rest = filled.copy()

    def take(where: np.ndarray, label: str) -> np.ndarray:
        kind[where] = label
        rest[where] = False
        return where

    text[take(rest & own, CONTINUE)] = "continue where you left off"
    similar = take(rest & (because >= 0), SIMILAR)
    picked = because[similar]
    text[similar] = np.where(because_completed[similar], texts[1][picked], texts[0][picked])
    if not rest.any():  # every slot has its reason (usual for a learner with a history)
        return kind, text
    liked = take(rest & (interest != None), INTEREST)  # noqa: E711 - elementwise
    text[liked] = [f"matches your interest: {word}" for word in interest[liked]]
    known = (groups != None)[:, None]  # noqa: E711 - elementwise, one per row
    popular_in_group = take(rest & known & (group_engaged > 0), GROUP_POPULAR)
    rows, cols = np.nonzero(popular_in_group)
    text[rows, cols] = [
        f"popular with {group_label(str(groups[r]))}{' in your region' if near[r, c] else ''}"
        for r, c in zip(rows.tolist(), cols.tolist())
    ]
    text[take(rest & engaged, POPULAR)] = "popular on the platform"
    text[take(rest.copy(), NEW)] = "new in the catalog"
    return kind, text


def most_similar(
    unit_of: Callable[[np.ndarray], np.ndarray],
    row_of: np.ndarray,
    items: np.ndarray,
    slots: np.ndarray,
    block_size: int = 1 << 16,
) -> np.ndarray:
    """Per slot ``(n, k)``: the most similar history resource other than the slot's own
    (-1 if none). History entries ``(row_of, items)`` come ordered by (row, confidence desc,
    resource asc), so the first entry reaching a row's maximum wins ties; ``unit_of`` maps
    resource indices to unit vectors (slots may hold resources the history cannot)."""
    n, k = slots.shape
    if n == 1 and len(items) and k:  # one learner (an API request): no segment bookkeeping
        row = slots[0]
        return most_similar_row(unit_of(np.where(row >= 0, row, 0)), unit_of(items), row,
                                items)[None, :]
    because = np.full((n, k), _NONE, dtype=np.int64)
    if not len(items) or not k:
        return because
    best_sim = np.full((n, k), -np.inf, dtype=np.float32)
    step = max(1, block_size // k)
    for lo in range(0, len(items), step):
        rows, chunk = row_of[lo: lo + step], items[lo: lo + step]
        targets = slots[rows]  # (b, k)
        valid = targets >= 0
        same = targets == chunk[:, None]
        sims = np.einsum("bd,bkd->bk", unit_of(chunk), unit_of(np.where(valid, targets, 0)))
        sims = np.where(valid & ~same, sims, -np.inf).astype(np.float32)
        # A strict ">" keeps earlier entries' (and earlier blocks') winners on ties.
        seg_max, seg_arg = _segment_argmax(sims, rows)
        seg_rows = np.unique(rows)
        better = seg_max > best_sim[seg_rows]
        best_sim[seg_rows] = np.where(better, seg_max, best_sim[seg_rows])
        because[seg_rows] = np.where(better, chunk[seg_arg], because[seg_rows])
    because[~np.isfinite(best_sim)] = _NONE
    return because


def most_similar_row(
    slot_units: np.ndarray, item_units: np.ndarray, slots: np.ndarray, items: np.ndarray
) -> np.ndarray:
    """:func:`most_similar` for one learner whose unit vectors are already gathered: per slot
    of ``slots`` (-1 = empty; ``slot_units`` its rows) the most similar of ``items`` (history
    order, ``item_units`` its rows) other than the slot's own, -1 if none. One small product
    and a handful of array calls: what an API request can afford per list."""
    if not len(items):
        return np.full(len(slots), _NONE, dtype=np.int64)
    sims = slot_units @ item_units.T  # slots x history
    sims[np.equal.outer(slots, items) | (slots < 0)[:, None]] = -np.inf
    best = sims.argmax(axis=1)  # the first (best-confidence) entry wins ties
    found = np.isfinite(sims[np.arange(len(slots)), best])
    return np.where(found, items[best], _NONE).astype(np.int64, copy=False)


class Explainer:
    """Reasons for recommended slots of bundle learners, vectorised over a chunk of learners.

    ``interactions`` is the learners x resources confidence matrix the model was fitted on
    (positive entries are the history); ``completed`` the learners x resources matrix of what
    each learner finished (None: nothing known); ``learner_groups``, ``learner_interests`` and
    ``learner_regions`` one value per learner (None/NaN for unknown); ``resource_tags`` and
    ``resource_categories`` one per resource; ``catalog`` places resources for "in your
    region". Only each learner's ``max_history`` highest-confidence resources are compared, so
    the cost per learner stays bounded whatever their history length.
    """

    def __init__(
        self,
        resource_vectors: np.ndarray,
        interactions: sp.spmatrix,
        titles: np.ndarray,
        learner_groups: np.ndarray | None = None,
        *,
        completed: sp.spmatrix | None = None,
        learner_interests: np.ndarray | None = None,
        learner_regions: np.ndarray | None = None,
        resource_tags: Sequence[tuple[str, ...]] | None = None,
        resource_categories: np.ndarray | None = None,
        catalog: CatalogArrays | None = None,
        max_history: int = MAX_HISTORY,
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
        self._completed = None if completed is None else sp.csr_matrix(completed)
        if self._completed is not None and self._completed.shape != self._history.shape:
            raise InvalidParameterError("completed", self._completed.shape,
                                        f"the interactions' shape {self._history.shape}")
        self.max_history = max_history
        self.block_size = block_size
        self._texts = similar_texts(np.asarray(titles, dtype=object))
        self._group_code, self._group_names = _group_codes(learner_groups, n_learners)
        self._interests = _per_row("learner_interests", learner_interests, n_learners)
        self._regions = _per_row("learner_regions", learner_regions, n_learners)
        self._tags = list(resource_tags) if resource_tags is not None else [()] * n_resources
        self._categories = _per_row("resource_categories", resource_categories, n_resources)
        if len(self._tags) != n_resources:
            raise InvalidParameterError("resource_tags", len(self._tags),
                                        f"{n_resources}, one per resource")
        self._catalog = catalog
        self._home = np.array([-1 if catalog is None else catalog.region_code(region)
                               for region in self._regions], dtype=np.int64)
        self._global_count, self._group_count = _engaged_counts(
            self._history, self._group_code, len(self._group_names))

    @classmethod
    def from_bundle(cls, bundle: Bundle, **options: int) -> Explainer:
        """An explainer over a bundle: its vectors, histories, completions, titles, learner
        groups, interests and regions, resource tags and categories, and catalog."""
        from recommender.delivery import CatalogArrays
        from recommender.delivery.filters import split_list

        resources, learners = bundle.resources, bundle.learners

        def column(frame: pd.DataFrame, name: str) -> np.ndarray | None:
            return frame[name].to_numpy(dtype=object) if name in frame else None

        titles = resources["title"] if "title" in resources else resources["resource_id"]
        tags = column(resources, "tags")
        return cls(
            bundle.resource_factors, bundle.interactions,
            titles.astype(str).to_numpy(dtype=object), column(learners, "group"),
            completed=bundle.exclusions, learner_interests=column(learners, "interests"),
            learner_regions=column(learners, "region"),
            resource_tags=None if tags is None else [split_list(t) for t in tags],
            resource_categories=column(resources, "category"),
            catalog=CatalogArrays.build(resources, bundle.regions), **options,
        )

    def explain(self, learner_idx: np.ndarray, resource_idx: np.ndarray) -> Reasons:
        """Reasons for ``resource_idx`` (``(n, k)``, -1 = empty slot) recommended to learners
        ``learner_idx`` (``(n,)``)."""
        learner_idx = np.asarray(learner_idx, dtype=np.int64).ravel()
        slots = np.asarray(resource_idx, dtype=np.int64)
        if slots.ndim != 2 or slots.shape[0] != len(learner_idx):
            raise InvalidParameterError(
                "resource_idx", slots.shape, f"a 2-D array with {len(learner_idx)} rows"
            )
        filled = slots >= 0
        row_of, items = self._capped_history(learner_idx)
        because = most_similar(lambda idx: self._unit[idx], row_of, items, slots,
                               self.block_size)
        own = _in_rows(self._history, learner_idx, slots, positive=True)
        has_because = because >= 0
        because_completed = (_in_rows(self._completed, learner_idx, because)
                             if self._completed is not None else np.zeros(slots.shape, bool))
        safe = np.maximum(slots, 0)
        interest = np.full(slots.shape, None, dtype=object)
        stated = np.array([self._interests[i] is not None for i in learner_idx.tolist()],
                          dtype=bool)
        for row, col in zip(*np.nonzero(filled & ~own & ~has_because & stated[:, None])):
            resource = slots[row, col]
            interest[row, col] = interest_word(self._tags[resource], self._categories[resource],
                                               self._interests[learner_idx[row]])
        near = held_near(self._catalog, safe, self._home[learner_idx][:, None])
        group = self._group_code[learner_idx]
        group_engaged = np.zeros(slots.shape, dtype=np.int64)
        known = group >= 0
        group_engaged[known] = self._group_count[group[known][:, None], safe[known]]
        names = np.append(self._group_names, None)[group]  # code -1 picks the trailing None
        kind, text = word_reasons(filled, own, because, because_completed, interest,
                                  group_engaged, names, near, self._global_count[safe] > 0,
                                  self._texts)
        return Reasons(kind=kind, because_resource_idx=because, text=text)

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


def _in_rows(matrix: sp.csr_matrix, learner_idx: np.ndarray, slots: np.ndarray,
             positive: bool = False) -> np.ndarray:
    """Per slot: is the slot's resource a stored (positive, if asked) entry of the learner's
    row of ``matrix``?"""
    sub = matrix[learner_idx]
    data = sub.data > 0 if positive else sub.data != 0
    sub = sp.csr_matrix((data, sub.indices, sub.indptr), shape=sub.shape)
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


def _segment_argmax(values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each run of equal ``rows`` (sorted), per column: max and first position reaching it."""
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    seg_max = np.maximum.reduceat(values, starts, axis=0)
    seg_id = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(rows)]))
    position = np.arange(len(rows), dtype=np.int64)[:, None]
    hit = values == seg_max[seg_id]
    first = np.minimum.reduceat(np.where(hit, position, len(rows)), starts, axis=0)
    return seg_max, np.minimum(first, len(rows) - 1)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _per_row(name: str, values: np.ndarray | None, n: int) -> np.ndarray:
    """One text (or None) per row; missing values become None."""
    if values is None:
        return np.full(n, None, dtype=object)
    out = np.array([_text_or_none(v) for v in values], dtype=object)
    if len(out) != n:
        raise InvalidParameterError(name, f"{len(out)} values", f"{n}, one per row")
    return out


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
