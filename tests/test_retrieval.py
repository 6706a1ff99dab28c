"""Filtered top-k: never short when enough resources match, and the same answer as brute force."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.retrieval import FilteredRetriever
from recommender.errors import InvalidParameterError
from recommender.index import ResourceIndex

N, DIM = 20_000, 16


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(N, DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def retriever(vectors: np.ndarray) -> FilteredRetriever:
    return FilteredRetriever(vectors)


def brute_force(vectors: np.ndarray, query: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
    scores = vectors.astype(np.float64) @ query
    candidates = np.flatnonzero(allowed)
    return candidates[np.argsort(-scores[candidates], kind="stable")][:k]


@pytest.mark.parametrize("n_allowed", [10, 15, 300, 3_000, 12_000, N])
def test_returns_k_and_the_true_top_k(
    retriever: FilteredRetriever, vectors: np.ndarray, n_allowed: int
) -> None:
    rng = np.random.default_rng(n_allowed)
    allowed = np.zeros(N, dtype=bool)
    allowed[rng.choice(N, n_allowed, replace=False)] = True
    for _ in range(5):
        query = rng.normal(size=DIM)
        found = retriever.search(query, 10, allowed)
        assert len(found.resource_idx) == 10
        assert allowed[found.resource_idx].all()
        assert found.resource_idx.tolist() == brute_force(vectors, query, allowed, 10).tolist()


@pytest.mark.parametrize("factory, path", [("Flat", "index"), ("NormPrunedFlat", "index"),
                                           ("HNSW16,Flat", "exact")])
def test_very_selective_filter_against_the_query_direction(
    vectors: np.ndarray, factory: str, path: str
) -> None:
    """The allowed resources are the ones the query likes least: no fetch of FAISS hits finds
    them. An exact index takes the mask in one pass; an approximate one ends in exact scoring."""
    retriever = FilteredRetriever(vectors, ResourceIndex(vectors, factory))
    query = np.ones(DIM)
    worst = np.argsort(vectors @ query)[:2_500]  # bottom 12.5%: above exact_below, below any fetch
    allowed = np.zeros(N, dtype=bool)
    allowed[worst] = True
    found = retriever.search(query, 25, allowed)
    assert found.path == path
    assert found.resource_idx.tolist() == brute_force(vectors, query, allowed, 25).tolist()


def test_fewer_allowed_than_k_returns_all_of_them(retriever: FilteredRetriever) -> None:
    allowed = np.zeros(N, dtype=bool)
    allowed[[5, 50, 500]] = True
    found = retriever.search(np.ones(DIM), 10, allowed)
    assert sorted(found.resource_idx.tolist()) == [5, 50, 500]
    assert retriever.search(np.ones(DIM), 10, np.zeros(N, dtype=bool)).resource_idx.size == 0


def test_exclusions_are_honoured(retriever: FilteredRetriever, vectors: np.ndarray) -> None:
    query = np.random.default_rng(1).normal(size=DIM)
    top = retriever.search(query, 20).resource_idx
    found = retriever.search(query, 10, None, exclude=top[:5])
    assert not set(found.resource_idx) & set(top[:5])
    assert found.resource_idx.tolist() == top[5:15].tolist()


def test_approximate_index_still_returns_k(vectors: np.ndarray) -> None:
    small = vectors[:4_000]
    retriever = FilteredRetriever(small, ResourceIndex(small, "HNSW16,Flat"), exact_below=16)
    rng = np.random.default_rng(2)
    for share in (0.01, 0.05, 0.5):
        allowed = rng.random(len(small)) < share
        found = retriever.search(rng.normal(size=DIM), 30, allowed)
        assert len(found.resource_idx) == 30 and allowed[found.resource_idx].all()


def test_search_many_pads_short_rows(retriever: FilteredRetriever) -> None:
    allowed = np.zeros((2, N), dtype=bool)
    allowed[0, :100] = True
    allowed[1, :3] = True
    idx, scores = retriever.search_many(np.ones((2, DIM)), 5, allowed, exclude=[[0], []])
    assert (idx[0] >= 0).all() and 0 not in idx[0]
    assert sorted(idx[1, :3].tolist()) == [0, 1, 2] and (idx[1, 3:] == -1).all()
    assert np.isneginf(scores[1, 3:]).all()


def test_bad_inputs_raise(retriever: FilteredRetriever) -> None:
    with pytest.raises(InvalidParameterError):
        retriever.search(np.ones(DIM), 0)
    with pytest.raises(InvalidParameterError):
        retriever.search(np.ones(DIM + 1), 5)
    with pytest.raises(InvalidParameterError):
        retriever.search(np.ones(DIM), 5, np.ones(N - 1, dtype=bool))
