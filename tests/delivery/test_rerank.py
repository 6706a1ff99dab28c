"""Re-ranking knobs move the metrics they promise to move, in the documented direction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender.delivery import (
    COMMUNITY_PROVIDER_TYPES,
    CatalogArrays,
    equal_service_rerank,
    mmr_rerank,
    rerank,
    rerank_many,
    served_by_community,
)
from recommender.errors import InvalidParameterError
from recommender.evaluation.beyond_accuracy import (
    category_diversity_at_k,
    exposure_share,
    vector_diversity_at_k,
)
from recommender.evaluation.groups import group_breakdown, group_gaps
from recommender.evaluation.metrics import ndcg_at_k

K = 10
SETTINGS = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def diversity_world(n_learners: int = 30, seed: int = 0):
    """Six categories with near-orthogonal vectors; each learner's scores favour one category
    heavily, so the model's own top 10 is nearly one category. Relevant = the model's top 10."""
    rng = np.random.default_rng(seed)
    n_categories, per_category = 6, 15
    category = np.repeat(np.arange(n_categories), per_category)
    vectors = np.eye(8)[category] + 0.15 * rng.normal(size=(len(category), 8))
    candidates = np.tile(np.arange(len(category)), (n_learners, 1))
    favourite = rng.integers(0, n_categories, n_learners)
    scores = (np.where(category[None, :] == favourite[:, None], 1.0, 0.0)
              + 0.1 * rng.random((n_learners, len(category))))
    top = np.argsort(-scores, axis=1)[:, :K]
    relevant = sp.csr_matrix((np.ones(top.size), (np.repeat(np.arange(n_learners), K), top.ravel())),
                             shape=(n_learners, len(category)))
    return candidates, scores, vectors, category, relevant


def test_diversity_raises_intra_list_diversity_and_lowers_relevance() -> None:
    candidates, scores, vectors, category, relevant = diversity_world()
    by_setting = []
    for diversity in SETTINGS:
        recommended, _ = rerank_many(candidates, scores, K, resource_vectors=vectors, diversity=diversity)
        by_setting.append((
            np.nanmean(category_diversity_at_k(recommended, category, K)),
            np.nanmean(vector_diversity_at_k(recommended, vectors, K)),
            np.nanmean(ndcg_at_k(recommended, relevant, K)),
        ))
    categories, spread, ndcg = (np.array(series) for series in zip(*by_setting))
    assert ndcg[0] == pytest.approx(1.0)
    assert categories[-1] > categories[0] + 0.3 and spread[-1] > spread[0] + 0.3
    assert (np.diff(categories) >= -0.02).all() and (np.diff(spread) >= -0.02).all()
    assert (np.diff(ndcg) <= 0.02).all() and ndcg[-1] < ndcg[0] - 0.2


def test_zero_diversity_keeps_the_model_order() -> None:
    idx, values = mmr_rerank(np.array([3, 1, 2]), np.array([0.5, 2.0, 1.0]), np.eye(4), 3, 0.0)
    assert idx.tolist() == [1, 2, 3]
    assert values.tolist() == pytest.approx([1.0, 0.5 / 1.5, 0.0])


def test_full_diversity_avoids_near_duplicates() -> None:
    vectors = np.array([[1.0, 0.0], [0.99, 0.01], [0.0, 1.0]])
    idx, _ = mmr_rerank(np.arange(3), np.array([1.0, 0.95, 0.1]), vectors, 2, 0.7)
    assert idx.tolist() == [0, 2]


def service_world(seed: int = 0):
    """Rural learners in r1 want their community school's offline courses, which the model ranks
    below national online ones; urban learners in r2 want the top online ones. Candidate lists
    already passed the place constraint: urban lists hold no r1 offline resources."""
    rng = np.random.default_rng(seed)
    online = 20
    resources = pd.DataFrame({
        "resource_id": [f"r{i}" for i in range(34)],
        "category": "literacy",
        "mode": ["online"] * online + ["offline"] * 10 + ["online"] * 4,
        "region": [None] * online + ["r1"] * 10 + [None] * 4,
        "provider_type": ["enterprise"] * online + ["community_school"] * 10 + ["library_museum"] * 4,
    })
    catalog = CatalogArrays.build(resources, pd.DataFrame({"region": ["r1"], "neighbour": ["r2x"]}))
    n_each = 20
    rows, candidates, scores, regions, setting = [], [], [], [], []
    for learner in range(2 * n_each):
        rural = learner < n_each
        pool = np.r_[np.arange(online), np.arange(online, 30) if rural else np.arange(30, 34)]
        score = np.where(pool < online, 2.0 + rng.random(len(pool)), 1.0 + 0.5 * rng.random(len(pool)))
        if rural:
            liked = rng.choice(np.arange(online, 30), 3, replace=False)
        else:
            liked = pool[np.argsort(-score)][rng.choice(6, 3, replace=False)]
        rows.extend((learner, r) for r in liked)
        order = np.argsort(-score)
        candidates.append(np.pad(pool[order], (0, 30 - len(pool)), constant_values=-1))
        scores.append(np.pad(score[order], (0, 30 - len(pool)), constant_values=-np.inf))
        regions.append("r1" if rural else "r2")
        setting.append("rural" if rural else "urban")
    rows_arr = np.array(rows)
    relevant = sp.csr_matrix((np.ones(len(rows_arr)), (rows_arr[:, 0], rows_arr[:, 1])), shape=(2 * n_each, 34))
    learners = pd.DataFrame({"learner_id": [f"l{i}" for i in range(2 * n_each)], "urban_rural": setting})
    return catalog, resources, np.array(candidates), np.array(scores), regions, relevant, learners


def test_equal_service_raises_community_exposure_and_narrows_the_gap() -> None:
    catalog, resources, candidates, scores, regions, relevant, learners = service_world()
    served = np.array([served_by_community(catalog, row, region) for row, region in zip(candidates, regions)])
    shares, gaps = [], []
    for weight in SETTINGS:
        recommended, _ = rerank_many(candidates, scores, K, served=served, equal_service=weight)
        share = exposure_share(recommended, resources["provider_type"].to_numpy(), K)
        shares.append(sum(share.get(kind, 0.0) for kind in COMMUNITY_PROVIDER_TYPES))
        ndcg = ndcg_at_k(recommended, relevant, K)
        table = group_gaps(group_breakdown({"ndcg": ndcg}, learners, ["urban_rural"], min_size=5))
        gaps.append(float(table.loc[0, "gap"]))
    assert shares[0] == 0.0 and shares[-1] > 0.4
    assert (np.diff(shares) >= 0).all()
    assert gaps[0] > 0.6 and gaps[-1] < 0.5 * gaps[0]
    assert (np.diff(gaps) <= 0.02).all()


def test_served_by_community_is_learner_aware() -> None:
    catalog = CatalogArrays.build(pd.DataFrame({
        "resource_id": ["a", "b", "c", "d"],
        "category": "literacy",
        "mode": ["offline", "offline", "online", "blended"],
        "region": ["r1", "r2", None, "r1"],
        "provider_type": ["enterprise", "enterprise", "library_museum", "vocational_school"],
    }))
    assert served_by_community(catalog, np.array([0, 1, 2, 3, -1]), "r1").tolist() == [
        True, False, True, True, False]
    assert served_by_community(catalog, np.array([0, 1, 2, 3]), None).tolist() == [
        False, False, True, False]


def test_equal_service_one_puts_every_served_candidate_first() -> None:
    idx, _ = equal_service_rerank(np.arange(4), np.array([4.0, 3.0, 2.0, 1.0]),
                                  np.array([False, False, True, True]), 4, 1.0)
    assert idx.tolist() == [2, 3, 0, 1]


def test_both_knobs_zero_is_the_model_order() -> None:
    idx, _ = rerank(np.array([7, 3, 5, -1]), np.array([0.1, 0.9, 0.5, -np.inf]), 4,
                    served=np.array([True, False, False, False]))
    assert idx.tolist() == [3, 5, 7, -1]


@pytest.mark.parametrize("kwargs", [{"diversity": 1.5}, {"equal_service": -0.1}, {"diversity": 0.5}])
def test_bad_parameters_raise(kwargs: dict) -> None:
    with pytest.raises(InvalidParameterError):
        rerank(np.arange(3), np.ones(3), 2, **kwargs)  # diversity without vectors raises too
