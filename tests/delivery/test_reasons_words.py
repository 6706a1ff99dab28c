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

# Four dimensions; the learners' history spans the first three, the fourth is what no history
# explains. r1 leans to r0; r3 is closest (cosine) to r2 but lies more along r5; r4 is a zero
# vector; r6 is almost all fourth dimension.
VECTORS = np.array([[1, 0, 0, 0], [0.8, 0.6, 0, 0], [0, 1, 0, 0], [0, 0.8, 0.6, 0],
                    [0, 0, 0, 0], [0, 0, 1, 0], [0.1, 0, 0, 1]], dtype=np.float32)
TITLES = ["A", "B", "C", "D", "E", "F", "G"]
# learner 0: r0 (2.0), r2 (1.0), r5 (0.5); learner 1 and 2: none; learner 3 (retiree): r1
HISTORY = sp.csr_matrix(np.array([
    [2.0, 0, 1.0, 0, 0, 0.5, 0],
    [0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
    [0, 1.0, 0, 0, 0, 0, 0],
], dtype=np.float32))
GROUPS = [None, "retiree", None, "retiree"]
# Learner 0's vector: 1 x r0 + 0.2 x r2 + 1 x r5, plus 3 along what no history explains.
LEARNER_0 = np.array([1.0, 0.2, 1.0, 3.0], dtype=np.float32)


def served_model() -> ServedModel:
    """The four learners and seven resources above as a vectors-only bundle; r1 is held in
    person in region b, next to a."""
    resources = pd.DataFrame({
        "resource_id": [f"r{i}" for i in range(7)], "title": TITLES,
        "mode": ["online", "offline", "online", "online", "online", "online", "online"],
        "region": [None, "b", None, None, None, None, None],
        "category": ["digital_literacy"] * 7,
        "tags": [None, None, "smartphone|x", None, None, None, None],
    })
    learner_ids = [f"l{i}" for i in range(4)]
    bundle = Bundle(
        learner_map=IdMap("learner", learner_ids), resource_map=IdMap("resource",
                                                                      resources["resource_id"]),
        learner_factors=np.zeros((4, 4), np.float32), resource_factors=VECTORS,
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
            interests: str | None = None, region: str | None = None, language: str = "en"):
    vector = LEARNER_0 if row == 0 else np.zeros(4, np.float32)
    return explain(SERVED, Overlay.empty(SERVED), np.array(slots), history(row, completed),
                   vector=vector, group=GROUPS[row], region=region, interests=interests,
                   language=language)


def test_the_cited_history_item_is_the_one_that_drives_the_score() -> None:
    """r1's score comes mostly from r0 (1 x 0.8 of 0.92); r3 is most like r2 by cosine, but
    the learner's vector holds little of r2, so r5 adds most (0.6 of 0.76); r6's score is
    almost all the fourth dimension (r0 adds 0.1 of 3.1): no history item drives it."""
    found = reasons(0, [1, 3, 0, 6])
    assert [r.kind for r in found] == [SIMILAR, SIMILAR, CONTINUE, NEW]
    assert found[0].text == "Because you looked into \u201cA\u201d"
    assert found[1].text == "Because you looked into \u201cF\u201d"
    assert found[2].text == "Pick up where you left off"
    assert found[3].text == "New in the catalog"


def test_cold_learners_get_popularity_reasons_that_say_so() -> None:
    assert [(r.kind, r.text) for r in reasons(1, [1, 4])] == [
        (GROUP_POPULAR, "Popular with retirees"), (NEW, "New in the catalog")]
    assert [(r.kind, r.text) for r in reasons(2, [1, 4])] == [
        (POPULAR, "Popular with learners on the platform"), (NEW, "New in the catalog")]


def test_completed_interest_and_region_come_from_the_learner() -> None:
    first = reasons(0, [1], completed=frozenset({0}))
    assert first[0].text == "Because you completed \u201cA\u201d"  # r0 was completed
    stated = reasons(1, [2, 1, 4], interests="想学 smartphone", region="a")
    assert [r.kind for r in stated] == [INTEREST, GROUP_POPULAR, NEW]
    assert stated[0].text == "Matches your interest in \u201csmartphone\u201d"
    assert stated[1].text == "Popular with retirees in your area"
    plain = reasons(2, [2, 1, 4], region="a")
    assert [r.kind for r in plain] == [POPULAR, POPULAR, NEW]


def test_the_same_reasons_in_chinese() -> None:
    assert [r.text for r in reasons(0, [1, 3, 0, 6], completed=frozenset({5}),
                                    language="zh")] == [
        "因为你看过《A》", "因为你学完了《F》", "接着上次的进度继续学", "新上线的内容"]
    # r2's tags are "smartphone" and "x"; its category words hold 数字技能 (digital skills):
    # a Chinese reason names the Chinese word the learner wrote, an English one the English
    stated = reasons(1, [2, 1, 4], interests="想学 smartphone", region="a", language="zh")
    assert [r.text for r in stated] == [
        "和你感兴趣的“smartphone”有关", "你附近的退休的朋友都在学", "新上线的内容"]
    interests = "想学数字技能 smartphone"
    assert reasons(1, [2], interests=interests, language="zh")[0].text == "和你感兴趣的“数字技能”有关"
    assert reasons(1, [2], interests=interests)[0].text == (
        "Matches your interest in \u201csmartphone\u201d")
    assert reasons(2, [2], language="zh")[0].text == "平台上很多人在学"


def test_the_history_only_path_gives_the_general_answer() -> None:
    """A list the history explains alone takes a shortcut; it must say what the general path
    (every fact gathered) says."""
    from recommender.delivery.reasons import explain_general

    for slots in ([1, 3, 5], [0, 2, 3], [3, 1], [1, 6]):
        fast = reasons(0, slots)
        full = explain_general(SERVED, Overlay.empty(SERVED), np.array(slots), history(0),
                               vector=LEARNER_0, group=None, region=None, interests=None)
        assert fast == full
