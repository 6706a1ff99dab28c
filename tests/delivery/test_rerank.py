"""Re-ranking knobs move the metrics they promise to move, in the documented direction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender.delivery import (
    COMMUNITY_PROVIDER_TYPES,
    CatalogArrays,
    calibrated_rerank,
    category_mix,
    exposure_rerank,
    fair_share,
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
    """Held to their share of what each learner can reach (rural: 10 of 30 candidates are
    their community school's; urban: 4 of 24 library resources), community resources get
    that share of the slots at equal_service = 1, and the rural learners' ndcg gap narrows."""
    catalog, resources, candidates, scores, regions, relevant, learners = service_world()
    served = np.array([served_by_community(catalog, row, region) for row, region in zip(candidates, regions)])
    reach = np.array([row[idx >= 0].mean() for row, idx in zip(served, candidates)])
    shares, gaps = [], []
    for weight in SETTINGS:
        recommended, _ = rerank_many(candidates, scores, K, served=served, equal_service=weight,
                                     target_share=reach)
        share = exposure_share(recommended, resources["provider_type"].to_numpy(), K)
        shares.append(sum(share.get(kind, 0.0) for kind in COMMUNITY_PROVIDER_TYPES))
        ndcg = ndcg_at_k(recommended, relevant, K)
        table = group_gaps(group_breakdown({"ndcg": ndcg}, learners, ["urban_rural"], min_size=5))
        gaps.append(float(table.loc[0, "gap"]))
    assert shares[0] == 0.0
    assert shares[-1] == pytest.approx((20 * round(10 * 10 / 30) + 20 * round(10 * 4 / 24)) / 400)
    assert (np.diff(shares) >= 0).all()
    assert gaps[0] > 0.6 and gaps[-1] < 0.9 * gaps[0]
    assert (np.diff(gaps) <= 0.02).all()


def hand_made_list() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ten candidates, scores 10..1 (relevance 1, 8/9, ..., 0); the served ones are the four
    lowest-scored: relevance 3/9 + 2/9 + 1/9 + 0 = 6/9 of a total 45/9, a share of 6/45."""
    idx = np.arange(100, 110)
    scores = np.arange(10, 0, -1, dtype=float)
    served = np.zeros(10, dtype=bool)
    served[6:] = True
    return idx, scores, served


def test_exposure_target_met_on_a_hand_made_list() -> None:
    idx, scores, served = hand_made_list()
    assert fair_share((scores - 1) / 9, served) == pytest.approx(6 / 45)
    # k = 5: target 5 * 6/45 = 0.67 -> 1 served slot (the best served, 106), 4 others, by relevance
    chosen, _ = exposure_rerank(idx, scores, served, 5, 1.0)
    assert chosen.tolist() == [100, 101, 102, 103, 106]
    # over-represented served candidates are capped: the four best are served (share 30/45),
    # so the model's top 5 holds 4 of them; the constraint keeps round(5 * 30/45) = 3
    flipped, _ = exposure_rerank(idx, scores, served[::-1].copy(), 5, 1.0)
    assert flipped.tolist() == [100, 101, 102, 104, 105]
    # half strength: the bounds loosen to round(0.5 * 0.67) = 0 -> the model's own list
    plain, _ = exposure_rerank(idx, scores, served, 5, 0.5)
    assert plain.tolist() == [100, 101, 102, 103, 104]


@pytest.mark.parametrize("n_served", [0, 1, 5, 10])
@pytest.mark.parametrize("k", [3, 10, 12])
def test_exposure_never_returns_fewer_than_k(n_served: int, k: int) -> None:
    idx, scores, _ = hand_made_list()
    served = np.zeros(10, dtype=bool)
    served[:n_served] = True
    chosen, values = exposure_rerank(idx, scores, served, k, 1.0)
    assert len(chosen) == k
    assert (chosen >= 0).sum() == min(k, 10)  # only padding when there are fewer candidates
    assert len(set(chosen[chosen >= 0].tolist())) == min(k, 10)
    assert np.isneginf(values[chosen < 0]).all()


def test_calibration_follows_a_known_interest_mix() -> None:
    """Twenty candidates: category 0 scored 2.0-1.1, category 1 scored 1.0-0.1; a learner whose
    history is 70% category 0 and 30% category 1 gets 7 and 3 of 10 at calibration 0.95,
    and the plain top ten (all category 0) at 0."""
    idx = np.arange(20)
    scores = np.r_[np.linspace(2.0, 1.1, 10), np.linspace(1.0, 0.1, 10)]
    categories = np.r_[np.zeros(10, dtype=int), np.ones(10, dtype=int)]
    mix = category_mix(np.array([0] * 7 + [1] * 3), 2)
    assert mix.tolist() == pytest.approx([0.7, 0.3])
    plain, _ = calibrated_rerank(idx, scores, categories, mix, 10, 0.0)
    assert (categories[plain] == 0).all()
    calibrated, _ = calibrated_rerank(idx, scores, categories, mix, 10, 0.95)
    assert np.bincount(categories[calibrated], minlength=2).tolist() == [7, 3]
    # within each category the best-scored are the ones kept
    assert sorted(calibrated[categories[calibrated] == 1].tolist()) == [10, 11, 12]
    assert category_mix(np.array([-1]), 2) is None


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


def test_both_knobs_zero_is_the_model_order() -> None:
    idx, _ = rerank(np.array([7, 3, 5, -1]), np.array([0.1, 0.9, 0.5, -np.inf]), 4,
                    served=np.array([True, False, False, False]))
    assert idx.tolist() == [3, 5, 7, -1]


@pytest.mark.parametrize("kwargs", [{"diversity": 1.5}, {"equal_service": -0.1}, {"diversity": 0.5},
                                    {"calibration": 2.0}, {"served": np.ones(2, dtype=bool)}])
def test_bad_parameters_raise(kwargs: dict) -> None:
    with pytest.raises(InvalidParameterError):
        rerank(np.arange(3), np.ones(3), 2, **kwargs)  # diversity without vectors raises too
