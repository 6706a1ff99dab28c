"""Accuracy metrics against values worked out by hand, plus properties on random cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.errors import InvalidParameterError
from recommender.evaluation.metrics import (
    METRICS,
    hit_matrix,
    hit_rate_at_k,
    map_at_k,
    metrics_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

L2_3 = 1.0 / math.log2(3)  # discount at rank 2: 0.630930
L2_4 = 1.0 / math.log2(4)  # discount at rank 3: 0.5


def relevance(rows: list[list[int]], n_resources: int) -> sp.csr_matrix:
    """CSR learners x resources with a 1 for every listed resource."""
    r = [i for i, row in enumerate(rows) for _ in row]
    c = [j for row in rows for j in row]
    return sp.csr_matrix((np.ones(len(c)), (r, c)), shape=(len(rows), n_resources))


# Five learners over six resources, k = 3.
RELEVANT = relevance([[1, 3], [4], [], [0, 1, 2, 3], [2]], 6)
RECOMMENDED = np.array(
    [
        [3, 0, 1],  # hits at ranks 1 and 3 of 2 relevant
        [0, 1, 2],  # no hit
        [0, 1, 2],  # nothing relevant: NaN everywhere
        [2, -1, -1],  # padded list; 4 relevant > k
        [0, 2, 5],  # one hit at rank 2
    ]
)
EXPECTED = {
    # precision = hits / k
    "precision": [2 / 3, 0.0, np.nan, 1 / 3, 1 / 3],
    # recall = hits / n_relevant
    "recall": [2 / 2, 0.0, np.nan, 1 / 4, 1 / 1],
    # row0: DCG = 1 + 1/log2(4) = 1.5, IDCG(2 hits) = 1 + 1/log2(3) -> 1.5 / 1.630930 = 0.919721
    # row3: DCG = 1, IDCG(min(4,3)=3) = 1 + 0.630930 + 0.5 = 2.130930 -> 0.469279
    # row4: DCG = 1/log2(3) = 0.630930, IDCG(1) = 1
    "ndcg": [1.5 / (1 + L2_3), 0.0, np.nan, 1 / (1 + L2_3 + L2_4), L2_3],
    # row0: (P@1 * 1 + P@3 * 1) / min(2, 3) = (1 + 2/3) / 2 = 5/6
    # row3: (P@1) / min(4, 3) = 1/3;  row4: (P@2 = 1/2) / min(1, 3) = 1/2
    "map": [5 / 6, 0.0, np.nan, 1 / 3, 1 / 2],
    "hit_rate": [1.0, 0.0, np.nan, 1.0, 1.0],
    # 1 / rank of first hit: rank 1, none, -, rank 1, rank 2
    "mrr": [1.0, 0.0, np.nan, 1.0, 1 / 2],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metric_by_hand(name: str) -> None:
    values = METRICS[name](RECOMMENDED, RELEVANT, 3)
    np.testing.assert_allclose(values, EXPECTED[name], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_learners_without_test_items_are_nan_and_skipped_by_means(name: str) -> None:
    values = METRICS[name](RECOMMENDED, RELEVANT, 3)
    assert np.isnan(values[2]) and np.isfinite(np.delete(values, 2)).all()
    expected = np.delete(np.asarray(EXPECTED[name]), 2).mean()
    assert np.nanmean(values) == pytest.approx(expected, abs=1e-12)


def test_perfect_ranking_scores_one() -> None:
    relevant = relevance([[0, 1]], 5)
    recommended = np.array([[1, 0, 4]])
    # DCG = 1 + 1/log2(3) = IDCG; AP = (1/1 + 2/2) / 2 = 1
    assert ndcg_at_k(recommended, relevant, 3)[0] == pytest.approx(1.0)
    assert map_at_k(recommended, relevant, 3)[0] == pytest.approx(1.0)
    assert recall_at_k(recommended, relevant, 3)[0] == pytest.approx(1.0)
    # precision is 2/3: only 2 of the 3 slots can ever be hits
    assert precision_at_k(recommended, relevant, 3)[0] == pytest.approx(2 / 3)


def test_no_hits_score_zero() -> None:
    relevant = relevance([[4]], 5)
    recommended = np.array([[0, 1, 2]])
    for name, metric in METRICS.items():
        assert metric(recommended, relevant, 3)[0] == 0.0, name


def test_order_given_is_the_ranking() -> None:
    # Ties are broken upstream; the same two resources in the other order is another ranking.
    relevant = relevance([[1], [1]], 3)
    recommended = np.array([[0, 1], [1, 0]])
    np.testing.assert_allclose(ndcg_at_k(recommended, relevant, 2), [L2_3, 1.0])
    np.testing.assert_allclose(mrr_at_k(recommended, relevant, 2), [0.5, 1.0])
    np.testing.assert_allclose(map_at_k(recommended, relevant, 2), [0.5, 1.0])
    # set-based metrics do not care about the order
    np.testing.assert_allclose(recall_at_k(recommended, relevant, 2), [1.0, 1.0])


def test_k_larger_than_list() -> None:
    relevant = relevance([[0, 1, 2]], 5)
    recommended = np.array([[1, 0]])  # width 2, k = 5: three empty slots
    # precision = 2/5 (denominator k); recall = 2/3
    # DCG = 1 + 0.630930; IDCG(min(3,5)=3) = 1 + 0.630930 + 0.5 -> 0.765361
    # AP = (1/1 + 2/2) / min(3, 5) = 2/3
    assert precision_at_k(recommended, relevant, 5)[0] == pytest.approx(2 / 5)
    assert recall_at_k(recommended, relevant, 5)[0] == pytest.approx(2 / 3)
    assert ndcg_at_k(recommended, relevant, 5)[0] == pytest.approx((1 + L2_3) / (1 + L2_3 + L2_4))
    assert map_at_k(recommended, relevant, 5)[0] == pytest.approx(2 / 3)


def test_k_truncates_the_list() -> None:
    relevant = relevance([[2]], 3)
    recommended = np.array([[0, 1, 2]])
    assert hit_rate_at_k(recommended, relevant, 2)[0] == 0.0
    assert hit_rate_at_k(recommended, relevant, 3)[0] == 1.0


def test_padding_never_hits() -> None:
    relevant = relevance([[0]], 2)
    assert not hit_matrix(np.array([[-1, -1]]), relevant).any()
    assert precision_at_k(np.array([[-1, 0]]), relevant, 2)[0] == pytest.approx(0.5)


def test_duplicate_and_explicit_zero_relevance_entries() -> None:
    # resource 1 listed twice counts once; an explicit zero is not relevant
    relevant = sp.csr_matrix(
        (np.array([1.0, 1.0, 0.0]), (np.array([0, 0, 0]), np.array([1, 1, 2]))), shape=(1, 3)
    )
    before = (relevant.data.copy(), relevant.indices.copy())
    recommended = np.array([[2, 1]])
    assert recall_at_k(recommended, relevant, 2)[0] == 1.0  # 1 hit / 1 relevant
    np.testing.assert_array_equal(relevant.data, before[0])  # caller's matrix untouched
    np.testing.assert_array_equal(relevant.indices, before[1])


def test_ideal_ranking_has_ndcg_one_on_random_cases() -> None:
    rng = np.random.default_rng(7)
    n_resources, k = 50, 10
    for _ in range(200):
        n_rel = int(rng.integers(1, 20))
        rel = rng.choice(n_resources, size=n_rel, replace=False)
        rest = np.setdiff1d(np.arange(n_resources), rel)
        ranked = np.concatenate([rng.permutation(rel), rng.permutation(rest)])[:k]
        relevant = relevance([rel.tolist()], n_resources)
        assert ndcg_at_k(ranked[None, :], relevant, k)[0] == pytest.approx(1.0, abs=1e-12)
        assert map_at_k(ranked[None, :], relevant, k)[0] == pytest.approx(1.0, abs=1e-12)


def _reference(name: str, ranked: list[int], rel: set[int], k: int) -> float:
    """Plain per-learner loop, written independently of the vectorised code."""
    if not rel:
        return math.nan
    hits = [1 if (r >= 0 and r in rel) else 0 for r in ranked[:k]]
    if name == "precision":
        return sum(hits) / k
    if name == "recall":
        return sum(hits) / len(rel)
    if name == "ndcg":
        dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
        return dcg / sum(1 / math.log2(i + 2) for i in range(min(len(rel), k)))
    if name == "map":
        found, total = 0, 0.0
        for i, h in enumerate(hits):
            if h:
                found += 1
                total += found / (i + 1)
        return total / min(len(rel), k)
    if name == "hit_rate":
        return float(any(hits))
    first = next((i for i, h in enumerate(hits) if h), None)
    return 0.0 if first is None else 1 / (first + 1)


def test_vectorised_metrics_match_a_plain_loop() -> None:
    rng = np.random.default_rng(3)
    n_learners, n_resources, width = 60, 30, 8
    rows, ranked = [], []
    for _ in range(n_learners):
        rows.append(rng.choice(n_resources, size=int(rng.integers(0, 6)), replace=False).tolist())
        row = rng.choice(n_resources, size=width, replace=False)
        row[int(rng.integers(4, width + 1)):] = -1  # some padding
        ranked.append(row)
    recommended = np.array(ranked)
    relevant = relevance(rows, n_resources)
    for k in (1, 5, 8, 12):
        for name, metric in METRICS.items():
            expected = [_reference(name, list(r), set(rel), k) for r, rel in zip(ranked, rows)]
            np.testing.assert_allclose(metric(recommended, relevant, k), expected, atol=1e-12)


def test_metrics_at_k_equals_each_metric() -> None:
    table = metrics_at_k(RECOMMENDED, RELEVANT, [1, 3])
    for k in (1, 3):
        for name, metric in METRICS.items():
            np.testing.assert_array_equal(table[f"{name}_at_{k}"], metric(RECOMMENDED, RELEVANT, k))


@pytest.mark.parametrize(
    ("recommended", "k", "parameter"),
    [
        (np.array([[0, 1]]), 0, "k"),
        (np.array([[0, 1]]), 2.0, "k"),
        (np.array([[0, 9]]), 2, "recommended"),  # index outside the catalog
        (np.array([[0, -2]]), 2, "recommended"),
        (np.array([0, 1]), 2, "recommended"),  # not 2-D
        (np.array([[0, 1], [1, 0]]), 2, "relevant"),  # row count mismatch
        (np.array([[1, 1]]), 2, "recommended"),  # a relevant resource listed twice
    ],
)
def test_bad_input_names_the_parameter(recommended: np.ndarray, k: object, parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        ndcg_at_k(recommended, relevance([[1]], 3), k)  # type: ignore[arg-type]
    assert info.value.name == parameter
