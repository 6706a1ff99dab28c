"""Reasons for recommended slots (the one implementation the export and the API share): most
similar history item, continue, interest, group popularity, platform popularity, new."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender.errors import InvalidParameterError
from recommender.delivery import CatalogArrays
from recommender.explain import (
    CONTINUE,
    GROUP_POPULAR,
    INTEREST,
    NEW,
    POPULAR,
    SIMILAR,
    Explainer,
    most_similar,
    most_similar_row,
)

# r0 and r1 point one way, r2 and r3 the other; r4 is a zero vector; r5 matches r0 exactly.
VECTORS = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0, 0], [2, 0]], dtype=np.float32)
TITLES = np.array(["A", "B", "C", "D", "E", "F"], dtype=object)
# learner 0: r0 (2.0), r2 (1.0), r5 (0.5); learner 1 and 2: none; learner 3 (retiree): r1
HISTORY = sp.csr_matrix(np.array([
    [2.0, 0, 1.0, 0, 0, 0.5],
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0],
    [0, 1.0, 0, 0, 0, 0],
], dtype=np.float32))
GROUPS = np.array([None, "retiree", None, "retiree"], dtype=object)


def explainer(**options: int) -> Explainer:
    return Explainer(VECTORS, HISTORY, TITLES, GROUPS, **options)


def test_similar_history_item_and_continue() -> None:
    reasons = explainer().explain(np.array([0]), np.array([[1, 3, 0, -1]]))
    assert reasons.kind[0].tolist() == [SIMILAR, SIMILAR, CONTINUE, None]
    # r1 is as close to r0 as to r5 (same direction): the higher confidence, r0, wins
    assert reasons.because_resource_idx[0, :2].tolist() == [0, 2]
    assert reasons.text[0, 0] == "because you engaged with \u201cA\u201d"
    assert reasons.text[0, 3] is None


def test_a_continued_resource_points_to_another_history_item() -> None:
    # r0 is in the history itself: the reason says "continue"; r5 is the next most similar
    reasons = explainer().explain(np.array([0]), np.array([[0]]))
    assert reasons.kind[0, 0] == CONTINUE
    assert reasons.because_resource_idx[0, 0] == 5


def test_cold_learners_get_popularity_reasons_that_say_so() -> None:
    reasons = explainer().explain(np.array([1, 2]), np.array([[1, 4], [1, 4]]))
    assert reasons.kind.tolist() == [[GROUP_POPULAR, NEW], [POPULAR, NEW]]
    assert reasons.text[0, 0] == "popular with retirees"
    assert reasons.text[1, 0] == "popular on the platform"
    assert reasons.text[0, 1] == "new in the catalog"


def test_history_cap_and_blocks_do_not_change_ties() -> None:
    slots = np.array([[1, 3, 4], [1, 2, -1], [5, 0, 3], [0, 2, 3]])
    learners = np.arange(4)
    full = explainer().explain(learners, slots)
    blocked = explainer(block_size=1).explain(learners, slots)
    np.testing.assert_array_equal(full.because_resource_idx, blocked.because_resource_idx)
    assert full.text.tolist() == blocked.text.tolist()
    parts = [explainer().explain(learners[i:i + 1], slots[i:i + 1]).text for i in range(4)]
    assert np.concatenate(parts).tolist() == full.text.tolist()
    capped = explainer(max_history=1).explain(np.array([0]), np.array([[3]]))
    assert capped.because_resource_idx[0, 0] == 0  # only r0, the top-confidence item, is used


def test_one_learner_path_matches_the_segmented_path() -> None:
    """most_similar for one row (an API request: most_similar_row) picks what the blocked,
    segmented path picks for the same row: ties to the earlier history entry, a slot never
    its own reason, empty slots and a slot whose only candidate is itself give -1."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=(12, 4)).astype(np.float32)
    vectors = np.vstack([base, base[:4], np.zeros((1, 4), np.float32)])  # exact ties, zero
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    unit_of = lambda idx: unit[idx]  # noqa: E731
    for case in range(200):
        items = rng.choice(len(unit), int(rng.integers(1, 9)), replace=False).astype(np.int64)
        slots = rng.choice(len(unit), int(rng.integers(1, 8)), replace=False).astype(np.int64)
        if case % 4 == 0:
            slots[0] = items[0]
        if case % 5 == 0:
            slots[-1] = -1
        one = most_similar(unit_of, np.zeros(len(items), np.int64), items, slots[None, :])
        # The same learner twice (two rows) takes the segmented path, in blocks of one entry.
        two = most_similar(unit_of, np.repeat(np.arange(2), len(items)), np.tile(items, 2),
                           np.vstack([slots, slots]), block_size=len(slots))
        np.testing.assert_array_equal(one[0], two[0], err_msg=str(case))
        np.testing.assert_array_equal(
            one[0], most_similar_row(unit[np.maximum(slots, 0)], unit[items], slots, items))
    lone = most_similar(unit_of, np.zeros(1, np.int64), np.array([2]), np.array([[2, -1]]))
    assert lone.tolist() == [[-1, -1]]


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(InvalidParameterError):
        explainer(max_history=0)
    with pytest.raises(InvalidParameterError):
        explainer().explain(np.array([0, 1]), np.array([[1, 2]]))


def test_completed_interest_and_region_come_from_the_learner() -> None:
    """Learner 0 completed r0; learner 1 (retiree in region a) states interests; r1 is held
    in person in region b, next to a."""
    resources = pd.DataFrame({
        "resource_id": [f"r{i}" for i in range(6)],
        "mode": ["online", "offline", "online", "online", "online", "online"],
        "region": [None, "b", None, None, None, None],
        "category": ["digital_literacy"] * 6,
    })
    catalog = CatalogArrays.build(resources, pd.DataFrame({"region": ["a"], "neighbour": ["b"]}))
    completed = sp.csr_matrix(([1.0], ([0], [0])), shape=HISTORY.shape)
    explain = Explainer(
        VECTORS, HISTORY, TITLES, GROUPS, completed=completed,
        learner_interests=np.array([None, "想学 smartphone", None, None], dtype=object),
        learner_regions=np.array([None, "a", "a", "a"], dtype=object),
        resource_tags=[(), (), ("smartphone", "x"), (), (), ()],
        resource_categories=resources["category"].to_numpy(dtype=object), catalog=catalog,
    ).explain
    first = explain(np.array([0]), np.array([[1]]))
    assert first.text[0, 0] == "because you completed \u201cA\u201d"  # r0 was completed
    cold = explain(np.array([1, 2]), np.array([[2, 1, 4], [2, 1, 4]]))
    assert cold.kind.tolist() == [[INTEREST, GROUP_POPULAR, NEW], [POPULAR, POPULAR, NEW]]
    assert cold.text[0, 0] == "matches your interest: smartphone"
    assert cold.text[0, 1] == "popular with retirees in your region"
