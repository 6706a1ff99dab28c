"""Why a resource is on a learner's delivery list, in words a learner can read: the one
reasons step of the delivery core, so every front end (API, batch export, pyfunc,
experiments) says the same thing about the same slot.

Per slot, the first that applies:

* ``continue``: the resource is in the learner's positive history ("pick up where you left
  off").
* ``similar``: a history resource that drives the slot's score (:func:`driving_items`): the
  learner's vector is split over their history (``u ~ sum_j a_j y_j``, among their
  :data:`MAX_HISTORY` highest-confidence resources), so each history resource ``j`` adds
  ``a_j (y_j . y_i)`` to the score of slot ``i``; the largest of these is cited only when it is
  positive and at least :data:`MIN_SHARE` of the score, else the slot gets one of the kinds
  below: "because you completed “X”" when that one was completed, else "because you looked
  into “X”".
* ``interest``: a tag or category word of the resource appears in the learner's stated
  interests: "matches your interest in smartphone".
* ``group_popular``: learners of the learner's group engaged with it: "popular with retirees in
  your area" when it is held in person in or next to the learner's region, else "popular with
  retirees".
* ``popular`` / ``new``: someone on the platform engaged with it, or nobody has yet.

The words come from :mod:`recommender.delivery.messages`, in the learner's language. The choice
is made by :func:`word_reasons` from per-slot facts, which :func:`explain` gathers from the
learner's vector and :class:`History` (bundle row plus stored events), their profile (group,
region, interests) and the served model plus its :class:`~recommender.delivery.overlay.Overlay`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from recommender.delivery.messages import DEFAULT_LANGUAGE, LANGUAGES, group_label, say
from recommender.features.content import CATEGORY_LABELS

if TYPE_CHECKING:
    from recommender.features.catalog import CatalogArrays
    from recommender.delivery.overlay import Overlay
    from recommender.delivery.served import ServedModel

SIMILAR, CONTINUE, INTEREST, GROUP_POPULAR, POPULAR, NEW = (
    "similar", "continue", "interest", "group_popular", "popular", "new",
)
KINDS: tuple[str, ...] = (CONTINUE, SIMILAR, INTEREST, GROUP_POPULAR, POPULAR, NEW)
MAX_HISTORY = 50  # history resources compared per learner
MIN_SHARE = 0.2  # of a slot's score, the least a history resource must add to be cited
_NONE = -1


def interest_word(tags: Sequence[str], category: str | None, interests: str | None,
                  language: str = DEFAULT_LANGUAGE) -> str | None:
    """The first tag or category word (two characters or more) found in ``interests``,
    preferring one written in ``language`` (Latin letters for English, else not) when the
    learner's interests hold both."""
    text = (interests or "").lower()
    if not text:
        return None
    words = [t for t in tags if len(t) >= 2]
    words += [w for w in CATEGORY_LABELS.get(category or "", "").split() if len(w) >= 2]
    found = [w for w in words if w.lower() in text]
    latin = language == "en"
    return next((w for w in found if w.isascii() == latin), found[0] if found else None)


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


SimilarTexts = dict[str, tuple[np.ndarray, np.ndarray]]


def similar_texts(titles: np.ndarray) -> SimilarTexts:
    """Per language and resource, the ``similar`` reason citing it: (looked into, completed)."""
    return {language: (
        np.array([say(language, "similar_engaged", title=t) for t in titles], dtype=object),
        np.array([say(language, "similar_completed", title=t) for t in titles], dtype=object),
    ) for language in LANGUAGES}


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
    language: str = DEFAULT_LANGUAGE,
) -> tuple[np.ndarray, np.ndarray]:
    """Kind and text per slot ``(n, k)`` from its facts, in the order of the module
    docstring: ``because`` the history resource driving the score (-1: none), ``interest`` the
    matched word or None, ``group_engaged`` learners of the learner's group who engaged with
    the resource, ``groups`` the learner's group per row (None: unknown), ``near`` held in
    person near the learner, ``engaged`` anyone engaged, ``texts`` :func:`similar_texts` of
    ``language``."""
    kind = np.empty(filled.shape, dtype=object)  # None-filled (np.full's cost, without it)
    text = np.empty(filled.shape, dtype=object)
    rest = filled.copy()

    def take(where: np.ndarray, label: str) -> np.ndarray:
        kind[where] = label
        rest[where] = False
        return where

    text[take(rest & own, CONTINUE)] = say(language, "continue")
    similar = take(rest & (because >= 0), SIMILAR)
    picked = because[similar]
    text[similar] = np.where(because_completed[similar], texts[1][picked], texts[0][picked])
    if not rest.any():  # every slot has its reason (usual for a learner with a history)
        return kind, text
    liked = take(rest & (interest != None), INTEREST)  # noqa: E711 - elementwise
    text[liked] = [say(language, "interest", word=word) for word in interest[liked]]
    known = (groups != None)[:, None]  # noqa: E711 - elementwise, one per row
    popular_in_group = take(rest & known & (group_engaged > 0), GROUP_POPULAR)
    rows, cols = np.nonzero(popular_in_group)
    text[rows, cols] = [
        say(language, "group_popular_near" if near[r, c] else "group_popular",
            group=group_label(str(groups[r]), language))
        for r, c in zip(rows.tolist(), cols.tolist())
    ]
    text[take(rest & engaged, POPULAR)] = say(language, "popular")
    text[take(rest.copy(), NEW)] = say(language, "new")
    return kind, text


def history_weights(vector: np.ndarray, item_vectors: np.ndarray) -> np.ndarray:
    """``a`` with ``vector ~ sum_j a_j item_vectors[j]``: the learner's vector split over their
    history resources (least squares, a tiny ridge so repeated or dependent items stay
    solvable). What each history resource adds to a score is then ``a_j (y_j . y_i)``."""
    gram = (item_vectors @ item_vectors.T).astype(np.float64)
    diagonal = gram.reshape(-1)[::len(gram) + 1]  # a view: the ridge goes on the diagonal
    diagonal += 1e-6 * max(float(diagonal.mean()) if len(diagonal) else 0.0, 1e-12)
    return np.linalg.solve(gram, (item_vectors @ vector).astype(np.float64))


def driving_items(
    slot_vectors: np.ndarray, item_vectors: np.ndarray, weights: np.ndarray,
    scores: np.ndarray, slots: np.ndarray, items: np.ndarray,
) -> np.ndarray:
    """Per slot of ``slots`` (-1 = empty; ``slot_vectors`` its rows, ``scores`` its scores),
    the history resource of ``items`` (``item_vectors``, ``weights`` from
    :func:`history_weights`) that adds most to its score, other than the slot's own; -1 when
    that addition is not positive or under :data:`MIN_SHARE` of a positive score (no history
    resource drives it). One small product per list: what an API request can afford."""
    if not len(items):
        return np.full(len(slots), _NONE, dtype=np.int64)
    adds = (slot_vectors @ item_vectors.T) * weights  # slots x history, float64
    adds[np.equal.outer(slots, items)] = -np.inf
    adds[slots < 0] = -np.inf
    best = adds.argmax(axis=1)  # the first (best-confidence) entry wins ties
    top = adds[np.arange(len(slots)), best]
    drives = np.isfinite(top) & (top > 0) & (scores > 0) & (top >= MIN_SHARE * scores)
    return np.where(drives, items[best], _NONE).astype(np.int64, copy=False)


@dataclass(frozen=True)
class History:
    """What the learner did, in bundle resource indices: positive history (best first, capped
    for the reasons' decomposition), which of it they completed, and every positively engaged
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
    vector: np.ndarray,
    group: str | None,
    region: str | None,
    interests: str | None,
    language: str = DEFAULT_LANGUAGE,
) -> list[Reason]:
    """A reason in ``language`` per global resource index in ``picked`` (bundle resources,
    then the API's) of the list of the learner whose query vector is ``vector``.

    The usual list (a learner with a history, every slot a bundle resource that the history
    explains: ``continue`` or ``similar``) takes :func:`_explained_by_history`, which gathers
    only those facts; any other list takes :func:`explain_general`. Both hand the facts to
    :func:`word_reasons`, and give the same reasons (tested)."""
    picked = np.asarray(picked, dtype=np.int64)
    if not len(picked):
        return []
    picked_list = picked.tolist()
    if len(history.resource_idx) and max(picked_list) < served.n_resources:
        reasons = _explained_by_history(served, picked, picked_list, history, group,
                                        vector=vector, language=language)
        if reasons is not None:
            return reasons
    return explain_general(served, overlay, picked, history, vector=vector, group=group,
                           region=region, interests=interests, language=language)


def _because(served: ServedModel, slot_vectors: np.ndarray, picked: np.ndarray,
             history: History, vector: np.ndarray) -> np.ndarray:
    """:func:`driving_items` of one list: the history resource each slot cites, or -1."""
    items = np.asarray(history.resource_idx, dtype=np.int64)
    if not len(items):
        return np.full(len(picked), _NONE, dtype=np.int64)
    item_vectors = served.bundle.resource_factors[items]
    weights = history_weights(vector, item_vectors)
    scores = slot_vectors @ vector
    return driving_items(slot_vectors, item_vectors, weights, scores, picked, items)


def _explained_by_history(
    served: ServedModel, picked: np.ndarray, picked_list: list[int], history: History,
    group: str | None, *, vector: np.ndarray, language: str = DEFAULT_LANGUAGE,
) -> list[Reason] | None:
    """The reasons when the history explains every slot (bundle resources only), else None:
    the other facts (interest, group, region, popularity) cannot change such a list, so they
    are not gathered; one decomposition and a few per-slot lookups instead."""
    because = _because(served, served.bundle.resource_factors[picked], picked, history, vector)
    because_list = because.tolist()
    positive = history.positive or frozenset(history.resource_idx.tolist())
    own = [i in positive for i in picked_list]
    if not all(o or b >= 0 for o, b in zip(own, because_list)):
        return None  # a slot needs the profile's facts
    completed = history.completed
    filled, no_interest, no_count, no = _constant_facts(len(picked_list))
    kinds, texts = word_reasons(
        filled, np.array([own]), because[None, :],
        np.array([[b in completed for b in because_list]]), no_interest, no_count,
        np.array([group], dtype=object), no, no, served.similar_texts[language], language)
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
                    history: History, *, vector: np.ndarray, group: str | None,
                    region: str | None, interests: str | None,
                    language: str = DEFAULT_LANGUAGE) -> list[Reason]:
    """:func:`explain` gathering every fact of every slot (API resources, learners without a
    history, slots the history does not explain)."""
    picked = np.asarray(picked, dtype=np.int64)
    n_main, k = served.n_resources, len(picked)
    if not k:
        return []

    picked_list = picked.tolist()
    items = np.asarray(history.resource_idx, dtype=np.int64)
    because = _because(served, overlay.vectors_of(served, np.maximum(picked, 0)), picked,
                       history, vector)[None, :]
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
        interest[0, slot] = interest_word(tags, category, interests, language)
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
                                engaged, served.similar_texts[language], language)
    return [Reason(kind, text) for kind, text in zip(kinds[0].tolist(), texts[0].tolist())]
