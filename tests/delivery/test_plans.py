"""Learning plans: budgets hold, knapsacks are optimal, credit plans cover or report the gap."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from recommender.delivery import CatalogArrays, build_plan, credit_cover, knapsack_dp
from recommender.delivery.plans import credit_knapsack_dp, reduce_knapsack
from recommender.errors import InvalidParameterError


def make_catalog(duration: list[float] | np.ndarray, credit: list[float] | np.ndarray | None = None,
                 category: list[str] | None = None, level: list[str | None] | None = None) -> CatalogArrays:
    n = len(duration)
    return CatalogArrays.build(pd.DataFrame({
        "resource_id": [f"r{i}" for i in range(n)],
        "category": category or ["literacy"] * n,
        "mode": ["online"] * n,
        "duration_minutes": np.asarray(duration, dtype=float),
        "credit_hours": np.zeros(n) if credit is None else np.asarray(credit, dtype=float),
        "level": level or ["beginner"] * n,
    }))


def brute_force_time(values: np.ndarray, minutes: np.ndarray, budget: float) -> float:
    best = 0.0
    for size in range(1, len(values) + 1):
        for subset in combinations(range(len(values)), size):
            chosen = list(subset)
            if minutes[chosen].sum() <= budget:
                best = max(best, values[chosen].sum())
    return best


def brute_force_credit(values: np.ndarray, minutes: np.ndarray, credits: np.ndarray,
                       budget: float, required: float) -> tuple[float, float]:
    """(smallest shortfall, best value with it) over every subset within the budget."""
    best = (required, 0.0)
    for size in range(1, len(values) + 1):
        for subset in combinations(range(len(values)), size):
            chosen = list(subset)
            if minutes[chosen].sum() > budget:
                continue
            shortfall = max(0.0, required - credits[chosen].sum())
            value = values[chosen].sum()
            if shortfall < best[0] - 1e-9 or (abs(shortfall - best[0]) <= 1e-9 and value > best[1] + 1e-9):
                best = (shortfall, value)
    return best


def test_budget_is_never_exceeded_on_random_catalogs() -> None:
    rng = np.random.default_rng(0)
    for trial in range(150):
        n = int(rng.integers(1, 60))
        duration = np.where(rng.random(n) < 0.5, rng.uniform(1, 60, n), rng.uniform(60, 3000, n))
        credit = np.where(rng.random(n) < 0.4, np.round(duration / 45 * 2) / 2, 0.0)
        catalog = make_catalog(duration, credit)
        scores = rng.normal(1.0, 1.0, n)
        hours, weeks = float(rng.uniform(0.2, 6)), int(rng.integers(1, 30))
        required = float(rng.choice([0, 12, 72]))
        plan = build_plan(np.arange(n), scores, catalog, hours, weeks, credit_required=required,
                          unit_minutes=float(rng.choice([1, 5, 15])))
        assert plan.total_minutes <= plan.budget_minutes + 1e-9, trial
        assert plan.budget_minutes == pytest.approx(hours * 60 * weeks)
        assert len({item.resource_idx for item in plan.items}) == len(plan.items)
        assert plan.credit_hours == pytest.approx(sum(item.credit_hours for item in plan.items))
        assert plan.shortfall_hours == pytest.approx(max(0.0, required - plan.credit_hours), abs=1e-6)


def test_time_knapsack_is_optimal_against_brute_force() -> None:
    rng = np.random.default_rng(1)
    for _ in range(60):
        n = int(rng.integers(1, 11))
        minutes = rng.integers(1, 40, n)
        values = rng.uniform(-0.5, 3.0, n)
        budget = int(rng.integers(1, minutes.sum() + 1))
        chosen = knapsack_dp(values, minutes, budget)
        assert minutes[chosen].sum() <= budget
        assert values[chosen].sum() == pytest.approx(brute_force_time(values, minutes, budget))
        plan = build_plan(np.arange(n), values, make_catalog(minutes), budget / 60, 1, unit_minutes=1)
        assert plan.total_score == pytest.approx(brute_force_time(values, minutes, budget))


def test_knapsack_beats_truncating_a_ranked_list() -> None:
    # One long resource ranked first; three short ones together are worth more and fit.
    catalog = make_catalog([100, 40, 30, 30])
    plan = build_plan(np.arange(4), np.array([4.0, 3.0, 2.5, 2.0]), catalog, 1.0, 2, unit_minutes=5)
    assert plan.budget_minutes == 120
    assert sorted(plan.resource_idx.tolist()) == [1, 2, 3]
    assert plan.total_score == pytest.approx(7.5)


@pytest.mark.parametrize("solver", ["dp", "milp"])
def test_credit_plan_is_optimal_against_brute_force(solver: str) -> None:
    rng = np.random.default_rng(2)
    for _ in range(40):
        n = int(rng.integers(1, 10))
        minutes = rng.integers(5, 120, n).astype(float)
        credits = np.where(rng.random(n) < 0.6, rng.integers(1, 8, n) / 2, 0.0)
        values = rng.uniform(-0.5, 3.0, n)
        budget = float(rng.integers(10, max(11, int(minutes.sum()))))
        required = float(rng.integers(1, 12))
        plan = build_plan(np.arange(n), values, make_catalog(minutes, credits), budget / 60, 1,
                          credit_required=required, unit_minutes=1, solver=solver)
        shortfall, value = brute_force_credit(values, minutes, credits, budget, required)
        assert plan.shortfall_hours == pytest.approx(shortfall)
        assert plan.total_score == pytest.approx(value)


def test_credit_plan_reaches_the_requirement_when_the_catalog_allows() -> None:
    rng = np.random.default_rng(3)
    duration = 30.0 * rng.integers(12, 80, 60)  # courses of 6 to 40 hours
    credit = np.round(duration / 45 * 2) / 2
    catalog = make_catalog(np.concatenate([duration, rng.integers(5, 20, 40)]),
                           np.concatenate([credit, np.zeros(40)]))
    scores = rng.uniform(0.1, 2.0, 100)
    plan = build_plan(np.arange(100), scores, catalog, 3, 52, credit_required=72)
    assert plan.shortfall_hours == 0 and plan.shortfall_reason is None
    assert plan.credit_hours >= 72
    assert plan.total_minutes <= plan.budget_minutes


def test_credit_plan_reports_the_exact_shortfall() -> None:
    catalog = make_catalog([600, 900, 30, 20], credit=[10.0, 20.5, 0.0, 0.0])
    plan = build_plan(np.arange(4), np.array([1.0, 0.5, 2.0, 2.0]), catalog, 10, 52,
                      credit_required=72)
    assert plan.credit_hours == pytest.approx(30.5)
    assert plan.shortfall_hours == pytest.approx(41.5)
    assert plan.shortfall_reason == "candidates"


def test_credit_plan_shortfall_from_the_time_budget() -> None:
    catalog = make_catalog([600, 900, 1200], credit=[12.0, 20.0, 26.5])
    plan = build_plan(np.arange(3), np.ones(3), catalog, 1, 25, credit_required=50)  # 1500 min
    assert plan.credit_hours == pytest.approx(32.0)  # 600 + 900 minutes is the best fit
    assert plan.shortfall_hours == pytest.approx(18.0)
    assert plan.shortfall_reason == "time_budget"


def test_completed_hours_reduce_the_requirement() -> None:
    catalog = make_catalog([600, 900], credit=[12.0, 20.0])
    plan = build_plan(np.arange(2), np.array([1.0, 5.0]), catalog, 20, 1, credit_required=72,
                      credit_completed=60)
    assert plan.credit_required == pytest.approx(12.0)
    assert plan.shortfall_hours == 0


def test_credit_plan_takes_a_low_scored_course_when_it_is_needed() -> None:
    catalog = make_catalog([600, 60, 60], credit=[14.0, 0.0, 0.0])
    plan = build_plan(np.arange(3), np.array([-1.0, 2.0, 2.0]), catalog, 12, 1, credit_required=10)
    assert 0 in plan.resource_idx and plan.shortfall_hours == 0


def test_items_are_ordered_for_study() -> None:
    catalog = make_catalog(
        [30] * 5,
        category=["law_civics", "literacy", "literacy", "literacy", "law_civics"],
        level=["advanced", "advanced", "beginner", "intermediate", "beginner"],
    )
    plan = build_plan(np.arange(5), np.array([1.0, 5.0, 2.0, 3.0, 0.5]), catalog, 2, 2)
    assert [item.resource_idx for item in plan.items] == [2, 3, 1, 4, 0]
    assert [item.start_week for item in plan.items] == [0, 0, 0, 0, 1]


def test_candidates_without_duration_are_skipped_and_counted() -> None:
    catalog = make_catalog([30, np.nan, 45])
    plan = build_plan(np.array([0, 1, 2, -1, 0]), np.array([1.0, 9.0, 1.0, 5.0, 0.5]), catalog, 2, 1)
    assert plan.n_skipped_no_duration == 1
    assert sorted(plan.resource_idx.tolist()) == [0, 2]


def test_milp_reference_on_unrounded_minutes() -> None:
    chosen = credit_cover(np.array([1.0, 1.0, 3.0]), np.array([10.5, 10.5, 21.5]),
                          np.zeros(3), 21.0, 0.0)
    assert chosen.tolist() == [0, 1]


@pytest.mark.parametrize("kwargs", [
    {"hours_per_week": 0}, {"weeks": 0}, {"weeks": 1.5}, {"credit_required": -3},
    {"unit_minutes": 0}, {"solver": "greedy"},
])
def test_bad_parameters_raise(kwargs: dict) -> None:
    args = {"hours_per_week": 1.0, "weeks": 1, **kwargs}
    with pytest.raises(InvalidParameterError):
        build_plan(np.arange(2), np.ones(2), make_catalog([10, 20]), **args)


def all_subsets(n: int):
    for size in range(n + 1):
        yield from (list(subset) for subset in combinations(range(n), size))


def test_reduction_only_fixes_what_every_optimum_agrees_on() -> None:
    rng = np.random.default_rng(4)
    decided = 0
    for _ in range(150):
        n = int(rng.integers(1, 11))
        weights = rng.integers(0, 30, n)
        values = rng.uniform(-0.5, 3.0, n)
        capacity = int(rng.integers(0, weights.sum() + 2))
        fits = [s for s in all_subsets(n) if weights[s].sum() <= capacity]
        best = max(values[s].sum() for s in fits)
        optima = [set(s) for s in fits if values[s].sum() >= best - 1e-9]
        taken, open_items = reduce_knapsack(values, weights, capacity)
        assert all(set(taken.tolist()) <= optimum for optimum in optima)
        dropped = set(range(n)) - set(taken.tolist()) - set(open_items.tolist())
        assert all(not dropped & optimum for optimum in optima)
        decided += len(taken) + len(dropped)
        assert values[knapsack_dp(values, weights, capacity)].sum() == pytest.approx(best)
    assert decided > 0  # the reduction does decide items


def lexicographic_best(values, weights, credits, capacity, required):
    """(shortfall, -value) of the best subset with integer ``weights`` <= ``capacity``."""
    return min((max(0, required - credits[s].sum()), -values[s].sum())
               for s in all_subsets(len(values)) if weights[s].sum() <= capacity)


def test_credit_dp_with_coarse_steps_is_between_the_coarse_and_the_exact_optimum() -> None:
    rng = np.random.default_rng(5)
    for _ in range(120):
        n = int(rng.integers(1, 10))
        weights = rng.integers(1, 40, n)
        credits = np.where(rng.random(n) < 0.6, rng.integers(1, 6, n), 0)
        values = rng.uniform(-0.5, 3.0, n)
        capacity = int(rng.integers(5, max(6, weights.sum())))
        required = int(rng.integers(1, 15))
        scale = int(rng.integers(1, 5))
        chosen = credit_knapsack_dp(values, weights, credits, capacity, required, scale)
        assert weights[chosen].sum() <= capacity
        got = (max(0, required - credits[chosen].sum()), -values[chosen].sum())
        exact = lexicographic_best(values, weights, credits, capacity, required)
        coarse = np.where(credits > 0, -(-weights // scale) * scale, weights)
        rounded = lexicographic_best(values, coarse, credits, capacity, required)
        assert got[0] >= exact[0] and (got[0] > exact[0] or got[1] >= exact[1] - 1e-9)
        assert got[0] < rounded[0] or (got[0] == rounded[0] and got[1] <= rounded[1] + 1e-9)


def test_credit_beyond_the_covering_items_still_counts() -> None:
    # Only the first credit-bearing item goes through the covering DP; the plan that ignores
    # credit covers more by using the others, so it is kept.
    values = np.array([0.1, 3.0, 3.0])
    weights = np.array([10, 10, 10])
    credits = np.array([1, 4, 4])
    chosen = credit_knapsack_dp(values, weights, credits, 20, 10, max_graded=1)
    assert chosen.tolist() == [1, 2]
