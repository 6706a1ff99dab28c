"""Delivery end to end on the sample world: lists and plans obey the learner's constraints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data.sample_world import generate_world
from recommender.delivery import CatalogArrays, Delivery, LearnerProfile, RequestFilters, learner_profiles
from recommender.errors import InvalidParameterError

NOW = pd.Timestamp("2024-09-01", tz="UTC")


@pytest.fixture(scope="module")
def world():
    return generate_world(n_learners=200, n_resources=1500, seed=5)


@pytest.fixture(scope="module")
def delivery(world) -> Delivery:
    vectors = np.random.default_rng(0).normal(size=(len(world.resources), 16)).astype(np.float32)
    return Delivery(CatalogArrays.build(world.resources, world.regions), vectors)


def test_lists_and_plans_stay_inside_the_mask(world, delivery: Delivery) -> None:
    rng = np.random.default_rng(1)
    for profile in learner_profiles(world.learners)[:30]:
        allowed = delivery.catalog.mask(None, profile, now=NOW)
        query = rng.normal(size=16)
        for diversity, service in ((0.0, 0.0), (0.3, 0.5)):
            idx, _ = delivery.recommend(query, 10, now=NOW, profile=profile,
                                        diversity=diversity, equal_service=service)
            shown = idx[idx >= 0]
            assert len(shown) == min(10, int(allowed.sum()))
            assert allowed[shown].all()
        plan = delivery.plan(query, now=NOW, profile=profile, hours_per_week=2, weeks=8)
        assert allowed[plan.resource_idx].all()
        assert plan.total_minutes <= plan.budget_minutes


def test_selective_request_still_fills_the_list(world, delivery: Delivery) -> None:
    profile = LearnerProfile(region="sichuan", languages=("zh",))
    filters = RequestFilters(category="law_civics", max_duration_minutes=30, level="beginner")
    allowed = delivery.catalog.mask(filters, profile, now=NOW)
    assert 10 <= allowed.sum() < 0.05 * len(allowed)
    idx, _ = delivery.recommend(np.ones(16), 10, now=NOW, profile=profile, filters=filters)
    assert (idx >= 0).all() and allowed[idx].all()


def test_credit_learner_gets_a_covering_plan(world, delivery: Delivery) -> None:
    profile = LearnerProfile(region="hubei", languages=("zh",), credit_hours_required=72)
    plan = delivery.plan(np.ones(16), now=NOW, profile=profile, hours_per_week=3, weeks=52,
                         credit_completed=12)
    assert plan.credit_required == 60
    assert plan.credit_hours >= 60 and plan.shortfall_hours == 0
    assert plan.total_minutes <= plan.budget_minutes


def test_shortfall_names_the_catalog_when_nothing_allowed_carries_enough_credit(
    world, delivery: Delivery
) -> None:
    profile = LearnerProfile(region="hubei", languages=("zh",), credit_hours_required=72)
    tiny = RequestFilters(category="law_civics", max_duration_minutes=300, level="beginner")
    allowed = delivery.catalog.mask(tiny, profile, now=NOW)
    available = float(delivery.catalog.credit_hours[allowed].sum())
    assert 0 < available < 72
    plan = delivery.plan(np.ones(16), now=NOW, profile=profile, filters=tiny,
                         hours_per_week=10, weeks=52)
    assert plan.shortfall_reason == "catalog"
    assert plan.credit_hours == pytest.approx(available)
    assert plan.shortfall_hours == pytest.approx(72 - available)


def small_delivery(n_plain: int, n_credit: int) -> Delivery:
    """Online resources of one hour; the plain ones score higher than the credit-bearing ones
    for the query (1, 0)."""
    n = n_plain + n_credit
    catalog = CatalogArrays.build(pd.DataFrame({
        "resource_id": [f"r{i}" for i in range(n)], "category": ["literacy"] * n,
        "mode": ["online"] * n, "duration_minutes": np.full(n, 60.0),
        "credit_hours": np.r_[np.zeros(n_plain), np.full(n_credit, 1.0)],
    }))
    vectors = np.zeros((n, 2), dtype=np.float32)
    vectors[:, 0] = np.r_[np.linspace(2.0, 1.0, n_plain), np.linspace(0.5, 0.1, n_credit)]
    return Delivery(catalog, vectors)


def test_credit_candidates_are_found_below_the_best_scored_pool() -> None:
    delivery = small_delivery(n_plain=150, n_credit=40)
    profile = LearnerProfile(credit_hours_required=5)
    plan = delivery.plan(np.array([1.0, 0.0]), now=NOW, profile=profile, hours_per_week=10,
                         weeks=1, n_candidates=100)
    assert plan.credit_hours >= 5 and plan.shortfall_hours == 0
    assert plan.total_minutes <= plan.budget_minutes
    # the covering courses are the best-scored credit-bearing ones
    assert set(plan.resource_idx[plan.resource_idx >= 150].tolist()) == set(range(150, 155))


def test_catalog_shortfall_leaves_out_what_the_learner_is_done_with() -> None:
    delivery = small_delivery(n_plain=5, n_credit=4)
    profile = LearnerProfile(credit_hours_required=4)
    plan = delivery.plan(np.array([1.0, 0.0]), now=NOW, profile=profile, hours_per_week=40,
                         weeks=1, exclude=np.array([5]), n_credit_candidates=2)
    assert plan.credit_hours == 3 and plan.shortfall_hours == 1
    assert plan.shortfall_reason == "catalog"  # 3 takeable credit hours, not 4


def test_an_existing_retriever_is_reused() -> None:
    delivery = small_delivery(n_plain=5, n_credit=4)
    again = Delivery(delivery.catalog, delivery.retriever.vectors, retriever=delivery.retriever)
    assert again.retriever is delivery.retriever
    with pytest.raises(InvalidParameterError, match="retriever"):
        Delivery(small_delivery(3, 1).catalog, np.zeros((4, 2)), retriever=delivery.retriever)
