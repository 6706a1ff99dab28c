"""The API's reasons: :mod:`recommender.explain` (the one implementation, shared with the batch
export) fed from what a request knows.

The API also serves learners whose history grew after training (stored events), learners known
only by a profile, anonymous visitors and resources added through the API; so the facts per slot
come from the request's :class:`History` (bundle row plus stored events), the learner's profile
(group, region, interests) and the served model plus its :class:`Overlay`, instead of a bundle's
matrices. The wording and the order of the reasons are :func:`recommender.explain.word_reasons`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from recommender.explain import (
    held_near,
    interest_word,
    most_similar,
    most_similar_row,
    word_reasons,
)
from recommender.serving.model_state import ServedModel
from recommender.serving.overlay import Overlay


@dataclass(frozen=True)
class History:
    """What the learner did, in bundle resource indices: positive history (best first, capped
    for the similarity search), which of it they completed, and every positively engaged
    resource (uncapped; empty: the capped list is all there is)."""

    resource_idx: np.ndarray
    completed: frozenset[int]
    positive: frozenset[int] = frozenset()


class Reason(NamedTuple):
    """One slot's reason (a tuple: ten of them per request, built cheaply)."""

    kind: str
    text: str


def explain(
    served: ServedModel,
    overlay: Overlay,
    picked: np.ndarray,
    history: History,
    *,
    group: str | None,
    region: str | None,
    interests: str | None,
) -> list[Reason]:
    """A reason per global resource index in ``picked`` (bundle resources, then the API's).

    The usual list (a learner with a history, every slot a bundle resource that the history
    explains: ``continue`` or ``similar``) takes :func:`_explained_by_history`, which gathers
    only those facts; any other list takes :func:`explain_general`. Both hand the facts to
    :func:`recommender.explain.word_reasons`, and give the same reasons (tested)."""
    picked = np.asarray(picked, dtype=np.int64)
    if not len(picked):
        return []
    picked_list = picked.tolist()
    if len(history.resource_idx) and max(picked_list) < served.n_resources:
        reasons = _explained_by_history(served, picked, picked_list, history, group)
        if reasons is not None:
            return reasons
    return explain_general(served, overlay, picked, history, group=group, region=region,
                           interests=interests)


def _explained_by_history(
    served: ServedModel, picked: np.ndarray, picked_list: list[int], history: History,
    group: str | None,
) -> list[Reason] | None:
    """The reasons when the history explains every slot (bundle resources only), else None:
    the other facts (interest, group, region, popularity) cannot change such a list, so they
    are not gathered; one product of unit vectors and a few per-slot lookups instead."""
    items = np.asarray(history.resource_idx, dtype=np.int64)
    units = served.unit_vectors
    because = most_similar_row(units[picked], units[items], picked, items)
    because_list = because.tolist()
    positive = history.positive or frozenset(items.tolist())
    own = [i in positive for i in picked_list]
    if not all(o or b >= 0 for o, b in zip(own, because_list)):
        return None  # a slot needs the profile's facts
    completed = history.completed
    filled, no_interest, no_count, no = _constant_facts(len(picked_list))
    kinds, texts = word_reasons(
        filled, np.array([own]), because[None, :],
        np.array([[b in completed for b in because_list]]), no_interest, no_count,
        np.array([group], dtype=object), no, no, served.similar_texts)
    return list(map(Reason, kinds[0].tolist(), texts[0].tolist()))


_CONSTANT_FACTS: dict[int, tuple[np.ndarray, ...]] = {}


def _constant_facts(k: int) -> tuple[np.ndarray, ...]:
    """For ``k`` slots, read-only: every slot filled, and the facts only slots the history
    leaves unexplained would read (none in :func:`_explained_by_history`): no interest, no
    group count, False (near, engaged). Built once per ``k``."""
    found = _CONSTANT_FACTS.get(k)
    if found is None:
        found = (np.ones((1, k), dtype=bool), np.empty((1, k), dtype=object),
                 np.zeros((1, k), dtype=np.int64), np.zeros((1, k), dtype=bool))
        for array in found:
            array.setflags(write=False)
        if len(_CONSTANT_FACTS) < 1024:  # k is at most the API's max_k: a handful of sizes
            _CONSTANT_FACTS[k] = found
    return found


def explain_general(served: ServedModel, overlay: Overlay, picked: np.ndarray,
                    history: History, *, group: str | None, region: str | None,
                    interests: str | None) -> list[Reason]:
    """:func:`explain` gathering every fact of every slot (API resources, learners without a
    history, slots the history does not explain)."""
    picked = np.asarray(picked, dtype=np.int64)
    n_main, k = served.n_resources, len(picked)
    if not k:
        return []

    picked_list = picked.tolist()
    any_side = picked_list and max(picked_list) >= n_main

    def unit_of(idx: np.ndarray) -> np.ndarray:
        if not any_side:  # history is bundle resources; so are the slots here
            return served.unit_vectors[idx]
        side = idx >= n_main
        units = served.unit_vectors[np.where(side, 0, idx)]
        if side.any():
            units[side] = overlay.unit_vectors[idx[side] - n_main]
        return units

    slots = picked[None, :]
    items = np.asarray(history.resource_idx, dtype=np.int64)
    because = most_similar(unit_of, np.zeros(len(items), np.int64), items, slots)
    positive = history.positive or frozenset(items.tolist())
    own = np.array([[i in positive for i in picked_list]])
    because_completed = np.array([[b in history.completed for b in because[0].tolist()]])
    main = picked < n_main
    interest = np.full((1, k), None, dtype=object)
    near = np.zeros((1, k), dtype=bool)
    for slot in np.flatnonzero(~own[0] & (because[0] < 0)).tolist():
        resource = int(picked[slot])
        if resource < n_main:
            tags, category = served.tags[resource], served.category_names[resource]
            catalog, row = served.catalog, resource
        else:
            row = resource - n_main
            tags, category, catalog = overlay.tags[row], overlay.category_of(row), overlay.catalog
        interest[0, slot] = interest_word(tags, category, interests)
        home = -1 if catalog is None else catalog.region_code(region)
        near[0, slot] = held_near(catalog, np.array([row]), home)[0]
    group_code = served.group_names.index(group) if group in served.group_names else -1
    group_engaged = np.zeros((1, k), dtype=np.int64)
    if group_code >= 0:
        group_engaged[0, main] = served.group_counts[group_code, picked[main]]
    engaged = np.zeros((1, k), dtype=bool)
    engaged[0, main] = served.engaged[picked[main]]
    kinds, texts = word_reasons(np.ones((1, k), bool), own, because, because_completed,
                                interest, group_engaged, np.array([group], dtype=object), near,
                                engaged, served.similar_texts)
    return [Reason(kind, text) for kind, text in zip(kinds[0].tolist(), texts[0].tolist())]
