"""Reasons for recommended slots (the delivery core's one reasons step): most similar history
item, continue, interest, group popularity, platform popularity, new."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.bundle import Bundle
from recommender.delivery.overlay import Overlay
from recommender.delivery.reasons import (
    CONTINUE,
    GROUP_POPULAR,
    INTEREST,
    NEW,
    POPULAR,
    SIMILAR,
    History,
    explain,
)
from recommender.delivery.served import ServedModel
from recommender.features.idmap import IdMap

# r0 and r1 point one way, r2 and r3 the other; r4 is a zero vector; r5 matches r0 exactly.
VECTORS = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0, 0], [2, 0]], dtype=np.float32)
TITLES = ["A", "B", "C", "D", "E", "F"]
# learner 0: r0 (2.0), r2 (1.0), r5 (0.5); learner 1 and 2: none; learner 3 (retiree): r1
HISTORY = sp.csr_matrix(np.array([
    [2.0, 0, 1.0, 0, 0, 0.5],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 1.0, 0, 0, 0, 0],
], dtype=np.float32))
GROUPS = [None, "retiree", None, "retiree"]


def served_model() -> ServedModel:
    """The four learners and six resources above as a vectors-only bundle; r1 is held in
    person in region b, next to a."""
    resources = pd.DataFrame({
        "resource_id": [f"r{i}" for i in range(6)], "title": TITLES,
        "mode": ["online", "offline", "online", "online", "online", "online"],
        "region": [None, "b", None, None, None, None],
        "category": ["digital_literacy"] * 6,
        "tags": [None, None, "smartphone|x", None, None, None],
    })
    learner_ids = [f"l{i}" for i in range(4)]
    bundle = Bundle(
        learner_map=IdMap("learner", learner_ids), resource_map=IdMap("resource",
                                                                      resources["resource_id"]),
        learner_factors=np.zeros((4, 2), np.float32), resource_factors=VECTORS,
        exclusions=sp.csr_matrix(([1.0], ([0], [0])), shape=HISTORY.shape), interactions=HISTORY,
        resources=resources, learners=pd.DataFrame({"learner_id": learner_ids, "group": GROUPS}),
        manifest={"version": "reasons-test"},
        regions=pd.DataFrame({"region": ["a"], "neighbour": ["b"]}),
    )
    return ServedModel.from_bundle(bundle, "Flat")


SERVED = served_model()


def history(row: int, completed: frozenset[int] = frozenset()) -> History:
    """Learner ``row``'s positive history, best first (confidence, then resource index)."""
    values = HISTORY[row].toarray()[0]
    order = sorted((-v, i) for i, v in enumerate(values.tolist()) if v > 0)
    return History(np.array([i for _, i in order], dtype=np.int64), completed)


def reasons(row: int, slots: list[int], *, completed: frozenset[int] = frozenset(),
            interests: str | None = None, region: str | None = None):
    return explain(SERVED, Overlay.empty(SERVED), np.array(slots), history(row, completed),
                   group=GROUPS[row], region=region, interests=interests)


def test_similar_history_item_and_continue() -> None:
    found = reasons(0, [1, 3, 0])
    assert [r.kind for r in found] == [SIMILAR, SIMILAR, CONTINUE]
    # r1 is as close to r0 as to r5 (same direction): the higher confidence, r0, wins
    assert found[0].text == "because you engaged with \u201cA\u201d"
    assert found[1].text == "because you engaged with \u201cC\u201d"


def test_cold_learners_get_popularity_reasons_that_say_so() -> None:
    assert [(r.kind, r.text) for r in reasons(1, [1, 4])] == [
        (GROUP_POPULAR, "popular with retirees"), (NEW, "new in the catalog")]
    assert [(r.kind, r.text) for r in reasons(2, [1, 4])] == [
        (POPULAR, "popular on the platform"), (NEW, "new in the catalog")]


def test_completed_interest_and_region_come_from_the_learner() -> None:
    first = reasons(0, [1], completed=frozenset({0}))
    assert first[0].text == "because you completed \u201cA\u201d"  # r0 was completed
    stated = reasons(1, [2, 1, 4], interests="想学 smartphone", region="a")
    assert [r.kind for r in stated] == [INTEREST, GROUP_POPULAR, NEW]
    assert stated[0].text == "matches your interest: smartphone"
    assert stated[1].text == "popular with retirees in your region"
    plain = reasons(2, [2, 1, 4], region="a")
    assert [r.kind for r in plain] == [POPULAR, POPULAR, NEW]


def test_the_history_only_path_gives_the_general_answer() -> None:
    """A list the history explains alone takes a shortcut; it must say what the general path
    (every fact gathered) says."""
    from recommender.delivery.reasons import explain_general

    for slots in ([1, 3, 5], [0, 2, 3], [3, 1]):
        fast = reasons(0, slots)
        full = explain_general(SERVED, Overlay.empty(SERVED), np.array(slots), history(0),
                               group=None, region=None, interests=None)
        assert fast == full
