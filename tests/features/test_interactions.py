"""The confidence matrix on a hand-made world whose values are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.features import (
    ConsumptionRule,
    IdMap,
    InteractionWeights,
    build_exclusion_matrix,
    build_interaction_matrix,
)
from recommender.errors import UnknownIdError
from recommender.features.interactions import event_indices

LEARNERS = IdMap("learner", ["u1", "u2"])
RESOURCES = IdMap("resource", ["r1", "r2", "r3"])


def _events(rows: list[tuple[str, str, str, float | None, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["learner_id", "resource_id", "event_type", "value",
                                        "timestamp"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["event_id"] = [f"e{i}" for i in range(len(frame))]
    return frame


EVENTS = _events([
    ("u1", "r1", "view", 3.0, "2024-01-01"),      # 1 * 3 clicks = 3
    ("u1", "r1", "complete", None, "2024-01-02"),  # + 5 -> 8
    ("u1", "r2", "view", None, "2024-01-03"),      # 1
    ("u1", "r2", "dismiss", None, "2024-01-04"),   # -10 -> -9 -> no confidence
    ("u2", "r3", "enroll", None, "2024-01-05"),    # 3
    ("u2", "r3", "enroll", None, "2024-01-06"),    # + 3 -> 6 (repeats aggregate)
])


def test_weights_aggregate_and_dismissal_removes_interest():
    plain = InteractionWeights(log_scale=False)
    matrix = build_interaction_matrix(EVENTS, LEARNERS, RESOURCES, plain).toarray()
    np.testing.assert_allclose(matrix, [[8.0, 0.0, 0.0], [0.0, 0.0, 6.0]])


def test_log_scaling():
    matrix = build_interaction_matrix(EVENTS, LEARNERS, RESOURCES).toarray()
    np.testing.assert_allclose(matrix, np.log1p([[8.0, 0.0, 0.0], [0.0, 0.0, 6.0]]), rtol=1e-6)


def test_recency_half_life_halves_old_weight():
    weights = InteractionWeights(log_scale=False, half_life_days=1.0)
    now = pd.Timestamp("2024-01-06", tz="UTC")
    matrix = build_interaction_matrix(EVENTS, LEARNERS, RESOURCES, weights, now=now).toarray()
    # u2/r3: enroll 1 day old (3 * 0.5) + enroll today (3) = 4.5
    assert matrix[1, 2] == pytest.approx(4.5)
    # u1/r1: 3 clicks 5 days old (3/32) + completion 4 days old (5/16)
    assert matrix[0, 0] == pytest.approx(3 / 32 + 5 / 16)


CONSUMPTION = ConsumptionRule().resolve(EVENTS["event_type"])


def test_exclusions_are_completed_and_dismissed():
    # The data records ends (complete), so u2's enrolment keeps r3 a candidate.
    excluded = build_exclusion_matrix(EVENTS, LEARNERS, RESOURCES, CONSUMPTION).toarray()
    np.testing.assert_array_equal(excluded, [[True, True, False], [False, False, False]])


def test_unknown_id_raises_lookup_error_naming_kind_and_id():
    bad = EVENTS.assign(resource_id=["r1", "r1", "r2", "r2", "r3", "nope"])
    with pytest.raises(UnknownIdError, match="unknown resource id 'nope'"):
        build_interaction_matrix(bad, LEARNERS, RESOURCES)


def test_idmap_round_trip_and_duplicates():
    assert LEARNERS.index_of("u2") == 1 and LEARNERS.id_of(1) == "u2"
    np.testing.assert_array_equal(RESOURCES.indices_of(["r3", "zz"], strict=False), [2, -1])
    with pytest.raises(ValueError, match="'a' repeats"):
        IdMap("learner", ["a", "b", "a"])


def test_indices_of_repeated_unknown_and_missing_ids():
    ids = pd.Series(["r2", "r1", "r2", "zz", None, "r2"], dtype=object)
    np.testing.assert_array_equal(RESOURCES.indices_of(ids, strict=False), [1, 0, 1, -1, -1, 1])
    np.testing.assert_array_equal(RESOURCES.indices_of(np.array(["r3", "r3"], dtype=object)),
                                  [2, 2])
    with pytest.raises(UnknownIdError, match="unknown resource id 'zz'"):
        RESOURCES.indices_of(ids)


def test_a_few_ids_and_many_ids_are_looked_up_alike():
    """Up to SMALL_LOOKUP ids go through a dict, more through pandas: the same answers."""
    from recommender.features.idmap import SMALL_LOOKUP

    pool = ["r2", "r1", "zz", None, "r3"]
    many = pd.Series([pool[i % len(pool)] for i in range(SMALL_LOOKUP + 11)], dtype=object)
    expected = np.array([{"r1": 0, "r2": 1, "r3": 2}.get(v, -1) for v in many])
    np.testing.assert_array_equal(RESOURCES.indices_of(many, strict=False), expected)
    few = many[:SMALL_LOOKUP]
    np.testing.assert_array_equal(RESOURCES.indices_of(few, strict=False), expected[:SMALL_LOOKUP])
    for ids in (few, many):
        with pytest.raises(UnknownIdError, match="unknown resource id 'zz'"):
            RESOURCES.indices_of(ids)


def test_matrices_from_given_event_indices_equal_the_looked_up_ones():
    indices = event_indices(EVENTS, LEARNERS, RESOURCES)
    np.testing.assert_array_equal(indices[0], LEARNERS.indices_of(EVENTS["learner_id"]))
    np.testing.assert_array_equal(indices[1], RESOURCES.indices_of(EVENTS["resource_id"]))
    np.testing.assert_array_equal(
        build_interaction_matrix(EVENTS, LEARNERS, RESOURCES, indices=indices).toarray(),
        build_interaction_matrix(EVENTS, LEARNERS, RESOURCES).toarray())
    np.testing.assert_array_equal(
        build_exclusion_matrix(EVENTS, LEARNERS, RESOURCES, CONSUMPTION, indices=indices)
        .toarray(),
        build_exclusion_matrix(EVENTS, LEARNERS, RESOURCES, CONSUMPTION).toarray())


def test_completion_matrix_holds_each_pairs_first_completion_time() -> None:
    from recommender.features import build_completion_matrix

    events = _events([
        ("u1", "r1", "complete", None, "2025-12-31T23:00:00Z"),
        ("u1", "r1", "complete", None, "2024-03-01T00:00:00Z"),  # earlier, listed later
        ("u1", "r2", "view", None, "2024-01-01T00:00:00Z"),
        ("u2", "r3", "complete", None, "1970-01-01T00:00:00Z"),  # the epoch: kept, not dropped
    ])
    matrix = build_completion_matrix(events, LEARNERS, RESOURCES)
    assert matrix.dtype == np.int64 and matrix.shape == (2, 3)
    assert matrix.nnz == 2
    assert matrix[0, 1] == 0 and matrix[0, 0] == pd.Timestamp("2024-03-01", tz="UTC").value // 1000
    assert matrix.indices[matrix.indptr[1]:matrix.indptr[2]].tolist() == [2]
    none = build_completion_matrix(events[events["event_type"] == "view"], LEARNERS, RESOURCES)
    assert none.nnz == 0 and none.shape == (2, 3)
