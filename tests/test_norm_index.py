"""Norm-pruned search is exact: the same lists as a full FAISS scan, with skewed norms,
negative scores, k beyond the head, and through ResourceIndex's exclusions."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.errors import InvalidParameterError
from recommender.retrieval import FilteredRetriever
from recommender.index import ResourceIndex
from recommender.norm_index import NormPrunedFlat


@pytest.fixture(scope="module")
def skewed() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(3000, 16)).astype(np.float32)
    lengths = np.exp(rng.normal(-3, 1.5, size=(3000, 1))).astype(np.float32)  # long-tailed
    queries = rng.normal(size=(300, 16)).astype(np.float32)
    return directions * lengths, queries


@pytest.mark.parametrize("k", [1, 10, 400])
def test_same_answer_as_a_full_scan(skewed, k):
    vectors, queries = skewed
    exact_idx, exact_scores = ResourceIndex(vectors, "Flat").search(queries, k)
    pruned = ResourceIndex(vectors, "NormPrunedFlat", "head_share=0.05")
    idx, scores = pruned.search(queries, k)
    np.testing.assert_allclose(scores, exact_scores, rtol=1e-5, atol=1e-6)
    # The same resources; two whose scores agree to float rounding may swap places (FAISS and
    # BLAS round differently), never anything else.
    assert all(set(a) == set(b) for a, b in zip(idx, exact_idx))
    assert (idx == exact_idx).mean() > 0.999
    if k == 10:
        assert pruned._index.tail_scans < len(queries)  # the bound did prune


def test_exclusions_and_small_catalogs(skewed):
    vectors, queries = skewed
    done = [np.arange(0, 3000, 7)] * len(queries)
    a = FilteredRetriever(vectors, ResourceIndex(vectors, "Flat")).search_many(
        queries[:20], 5, exclude=done[:20])
    b = FilteredRetriever(vectors, ResourceIndex(vectors, "NormPrunedFlat")).search_many(
        queries[:20], 5, exclude=done[:20])
    np.testing.assert_array_equal(a[0], b[0])
    tiny = NormPrunedFlat(vectors[:3], head_share=0.5)
    scores, found = tiny.search(queries[:2], 5)
    assert (found[:, 3:] == -1).all() and sorted(found[0, :3]) == [0, 1, 2]


def test_bad_params_name_themselves(skewed):
    with pytest.raises(InvalidParameterError, match="head_share"):
        ResourceIndex(skewed[0], "NormPrunedFlat", "efSearch=3")
    with pytest.raises(InvalidParameterError, match="factory"):
        ResourceIndex(skewed[0], "NoSuchIndex")


@pytest.mark.parametrize("share", [0.002, 0.05, 0.5, 1.0])
@pytest.mark.parametrize("factory", ["NormPrunedFlat", "Flat"])
def test_search_under_a_mask_is_the_exact_top_k_of_the_allowed(skewed, share, factory):
    vectors, queries = skewed
    index = ResourceIndex(vectors, factory, "head_share=0.05" if factory != "Flat" else "")
    rng = np.random.default_rng(int(share * 1000))
    for query in queries[:40]:
        allowed = rng.random(len(vectors)) < share
        found = index.search_allowed(query, 10, allowed)
        assert found is not None
        idx, scores = found
        scored = vectors.astype(np.float64) @ query
        candidates = np.flatnonzero(allowed)
        truth = candidates[np.lexsort((candidates, -scored[candidates]))][:10]
        assert len(idx) == min(10, allowed.sum()) and allowed[idx].all()
        assert set(idx) == set(truth)
        np.testing.assert_allclose(scores, scored[truth], rtol=1e-4, atol=1e-5)


def test_masked_search_settles_ties_by_resource_index_or_declines(skewed):
    vectors, _ = skewed
    longest = vectors[:1] / np.linalg.norm(vectors[:1]) * 50
    tied = np.repeat(longest, 40, axis=0)  # forty equal, longest vectors: they tie on top
    catalog = np.vstack([vectors[1:200], tied])
    allowed = np.ones(len(catalog), dtype=bool)
    for factory in ("NormPrunedFlat", "Flat"):
        index = ResourceIndex(catalog, factory, "head_share=0.1" if factory != "Flat" else "")
        query = tied[0] * 10  # the tied resources score highest
        assert index.search_allowed(query, 5, allowed) is None  # the tie crosses the cut
        allowed_few = np.zeros(len(catalog), dtype=bool)
        allowed_few[[0, 1, 199, 200, 201]] = True  # three tied resources, all kept
        idx, _ = index.search_allowed(query, 5, allowed_few)
        assert idx[:3].tolist() == [199, 200, 201]


def test_masked_search_from_several_threads_matches_one_at_a_time(skewed):
    """Each thread fills its own head bitmap: concurrent requests (sync routes run in a
    thread pool) never read each other's mask."""
    from concurrent.futures import ThreadPoolExecutor

    vectors, queries = skewed
    index = NormPrunedFlat(vectors, head_share=0.05)
    rng = np.random.default_rng(7)
    masks = [rng.random(len(vectors)) < share for share in (0.01, 0.3, 0.9) * 20]
    work = list(zip(queries[: len(masks)], masks))
    alone = [index.search_allowed(q, 10, m) for q, m in work]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda pair: index.search_allowed(pair[0], 10, pair[1]), work))
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a[0], b[0])


def test_approximate_reads_only_a_deep_head_and_keeps_recall(skewed):
    vectors, queries = skewed
    exact_idx, _ = ResourceIndex(vectors, "Flat").search(queries, 10)
    approximate = ResourceIndex(vectors, "NormPrunedFlat,approx", "head_share=0.2")
    idx, scores = approximate.search(queries, 10)
    assert approximate._index.tail_scans == 0  # 600 head resources: deep enough for k=10
    head = set(approximate._index.order[:600].tolist())
    assert set(idx.ravel().tolist()) <= head  # answered from the head alone
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, exact_idx)])
    assert recall >= 0.95  # the tail holds few winners on skewed norms
    scored = vectors @ queries.T
    np.testing.assert_allclose(scores, np.take_along_axis(scored.T, idx, axis=1), rtol=1e-4,
                               atol=1e-5)  # the scores of what it returns are exact


def test_approximate_goes_exact_where_the_head_would_be_a_thin_sample(skewed):
    vectors, queries = skewed
    exact = ResourceIndex(vectors, "NormPrunedFlat", "head_share=0.2")
    approximate = ResourceIndex(vectors, "NormPrunedFlat,approx", "head_share=0.2")
    rng = np.random.default_rng(3)
    for query in queries[:30]:
        selective = rng.random(len(vectors)) < 0.02  # ~12 allowed in the head: too thin
        a, b = exact.search_allowed(query, 10, selective), approximate.search_allowed(
            query, 10, selective)
        np.testing.assert_array_equal(a[0], b[0])
        # Never short: the only allowed resources lie in the tail, and k of them are found.
        tail_only = np.zeros(len(vectors), dtype=bool)
        tail_only[approximate._index.order[-50:]] = True
        found, _ = approximate.search_allowed(query, 10, tail_only)
        assert len(found) == 10 and tail_only[found].all()
    # k beyond what the head can sample deeply: exact.
    big_k = approximate.search(queries[:5], 100)[0]
    np.testing.assert_array_equal(big_k, exact.search(queries[:5], 100)[0])
    # A small catalog is searched exactly whatever the flag says.
    small = ResourceIndex(vectors[:100], "NormPrunedFlat,approx")
    np.testing.assert_array_equal(small.search(queries, 10)[0],
                                  ResourceIndex(vectors[:100], "Flat").search(queries, 10)[0])


def test_approximate_is_a_factory_of_its_own():
    vectors = np.eye(4, dtype=np.float32)
    assert ResourceIndex(vectors, "NormPrunedFlat,approx")._index.approximate is True
    assert ResourceIndex(vectors, "NormPrunedFlat")._index.approximate is False
    with pytest.raises(InvalidParameterError, match="head_share"):
        ResourceIndex(vectors, "NormPrunedFlat,approx", "approximate=true")


def test_approximate_reads_deeper_under_a_filter_instead_of_losing_recall(skewed):
    """A filter allowing 30%: a 300-resource head holds ~90 allowed, too thin for 11 slots, so
    the search reads on into the tail until it has read a deep sample (or the bound stops it)."""
    vectors, queries = skewed
    exact = ResourceIndex(vectors, "NormPrunedFlat", "head_share=0.1")
    approximate = ResourceIndex(vectors, "NormPrunedFlat,approx", "head_share=0.1")
    allowed = np.random.default_rng(5).random(len(vectors)) < 0.3
    recall = []
    for query in queries[:60]:
        truth = exact.search_allowed(query, 10, allowed)[0]
        found = approximate.search_allowed(query, 10, allowed)[0]
        assert len(found) == 10 and allowed[found].all()
        recall.append(len(set(truth) & set(found)) / 10)
    assert approximate._index.tail_scans > 0 and np.mean(recall) >= 0.95
