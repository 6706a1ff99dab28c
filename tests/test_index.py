"""Top-k over resource vectors: the raw index, and the batched retrieval with exclusions
(FilteredRetriever.search_many) that evaluation and every model's recommend use."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.errors import InvalidParameterError
from recommender.index import ResourceIndex
from recommender.retrieval import FilteredRetriever

# Resource i has score i for the query [1, 0]: the best is the last one.
VECTORS = np.array([[float(i), 0.0] for i in range(6)], dtype=np.float32)
QUERY = np.array([[1.0, 0.0]], dtype=np.float32)


def test_top_k_in_score_order():
    idx, scores = ResourceIndex(VECTORS).search(QUERY, 3)
    np.testing.assert_array_equal(idx, [[5, 4, 3]])
    np.testing.assert_allclose(scores, [[5.0, 4.0, 3.0]])


def search(vectors, queries, k, exclude=None, *, factory="Flat", exclude_all=None):
    """The batched retrieval over an index of ``factory``."""
    retriever = FilteredRetriever(vectors, ResourceIndex(vectors, factory))
    return retriever.search_many(queries, k, exclude=exclude, exclude_all=exclude_all)


def test_excluded_resources_never_appear_and_list_stays_full():
    idx, _ = search(VECTORS, QUERY, 3, [np.array([5, 3])])
    np.testing.assert_array_equal(idx, [[4, 2, 1]])


def test_padding_when_catalog_runs_out():
    idx, scores = search(VECTORS, QUERY, 5, sp.csr_matrix([[1, 1, 1, 0, 0, 0]]))
    np.testing.assert_array_equal(idx, [[5, 4, 3, -1, -1]])
    assert np.isneginf(scores[0, 3:]).all()


def test_approximate_index_matches_exact_on_small_catalog():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 8)).astype(np.float32)
    queries = rng.normal(size=(20, 8)).astype(np.float32)
    exclude = [rng.choice(500, size=30, replace=False) for _ in range(20)]
    exact, _ = search(vectors, queries, 10, exclude)
    approx, _ = search(vectors, queries, 10, exclude, factory="HNSW32,Flat")
    assert (approx >= 0).all()
    for row, banned in zip(approx, exclude, strict=True):
        assert not set(row) & set(banned)
    overlap = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert overlap >= 0.9


def test_bad_k_is_named():
    with pytest.raises(InvalidParameterError, match="'k'"):
        ResourceIndex(VECTORS).search(QUERY, 0)


@pytest.mark.parametrize("factory", ["Flat", "NormPrunedFlat", "HNSW32,Flat"])
def test_exclude_all_equals_the_same_exclusion_in_every_row(factory: str) -> None:
    """A catalog-wide exclusion (one mask) answers exactly as adding it to each row's own
    exclusions, ties included (integer-valued vectors make many exact ties)."""
    rng = np.random.default_rng(3)
    vectors = rng.integers(0, 3, size=(300, 4)).astype(np.float32)
    queries = rng.integers(0, 3, size=(40, 4)).astype(np.float32)
    own = [rng.choice(300, size=int(rng.integers(0, 40)), replace=False) for _ in range(40)]
    everywhere = rng.choice(300, size=120, replace=False)
    idx, scores = search(vectors, queries, 15, own, factory=factory, exclude_all=everywhere)
    merged = [np.union1d(row, everywhere) for row in own]
    expected_idx, expected_scores = search(vectors, queries, 15, merged, factory=factory)
    np.testing.assert_array_equal(idx, expected_idx)
    np.testing.assert_array_equal(scores, expected_scores)
    assert not np.isin(idx, everywhere).any()


def test_exclude_all_that_empties_the_catalog_pads_and_bad_indices_are_named() -> None:
    idx, scores = search(VECTORS, QUERY, 3, exclude_all=np.array([5, 4, 3, 2]))
    np.testing.assert_array_equal(idx, [[1, 0, -1]])
    assert np.isneginf(scores[0, 2])
    with pytest.raises(InvalidParameterError, match="'exclude_all'"):
        search(VECTORS, QUERY, 3, exclude_all=np.array([6]))


@pytest.mark.parametrize("factory", ["Flat", "NormPrunedFlat", "HNSW32,Flat"])
def test_batched_rows_equal_one_by_one_searches_under_a_mask(factory: str) -> None:
    """The batched form and the per-row search (the delivery core's) give the same lists,
    ties included: one retrieval contract, two ways to run it."""
    rng = np.random.default_rng(5)
    vectors = rng.integers(0, 3, size=(3000, 4)).astype(np.float32)
    queries = rng.integers(0, 3, size=(30, 4)).astype(np.float32)
    own = [rng.choice(3000, size=int(rng.integers(0, 50)), replace=False) for _ in range(30)]
    retriever = FilteredRetriever(vectors, ResourceIndex(vectors, factory))
    batched, _ = retriever.search_many(queries, 12, exclude=own)
    for row, banned in enumerate(own):
        allowed = np.ones(3000, dtype=bool)
        allowed[banned] = False
        found = retriever.search(queries[row], 12, allowed)
        if factory != "HNSW32,Flat":  # an approximate index may differ; exact ones may not
            assert batched[row].tolist() == found.resource_idx.tolist()
        assert not set(batched[row].tolist()) & set(banned.tolist())
