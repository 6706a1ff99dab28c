"""Exclusion-aware top-k retrieval shared by evaluation and serving."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.errors import InvalidParameterError
from recommender.index import ResourceIndex

# Resource i has score i for the query [1, 0]: the best is the last one.
VECTORS = np.array([[float(i), 0.0] for i in range(6)], dtype=np.float32)
QUERY = np.array([[1.0, 0.0]], dtype=np.float32)


def test_top_k_in_score_order():
    idx, scores = ResourceIndex(VECTORS).search(QUERY, 3)
    np.testing.assert_array_equal(idx, [[5, 4, 3]])
    np.testing.assert_allclose(scores, [[5.0, 4.0, 3.0]])


def test_excluded_resources_never_appear_and_list_stays_full():
    idx, _ = ResourceIndex(VECTORS).search(QUERY, 3, [np.array([5, 3])])
    np.testing.assert_array_equal(idx, [[4, 2, 1]])


def test_padding_when_catalog_runs_out():
    idx, scores = ResourceIndex(VECTORS).search(QUERY, 5, sp.csr_matrix([[1, 1, 1, 0, 0, 0]]))
    np.testing.assert_array_equal(idx, [[5, 4, 3, -1, -1]])
    assert np.isneginf(scores[0, 3:]).all()


def test_approximate_index_matches_exact_on_small_catalog():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 8)).astype(np.float32)
    queries = rng.normal(size=(20, 8)).astype(np.float32)
    exclude = [rng.choice(500, size=30, replace=False) for _ in range(20)]
    exact, _ = ResourceIndex(vectors).search(queries, 10, exclude)
    approx, _ = ResourceIndex(vectors, "HNSW32,Flat").search(queries, 10, exclude)
    assert (approx >= 0).all()
    for row, banned in zip(approx, exclude, strict=True):
        assert not set(row) & set(banned)
    overlap = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert overlap >= 0.9


def test_bad_k_is_named():
    with pytest.raises(InvalidParameterError, match="'k'"):
        ResourceIndex(VECTORS).search(QUERY, 0)
