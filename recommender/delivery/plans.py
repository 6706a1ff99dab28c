"""Learning plans: the best set of resources that fits a learner's time and covers their credits.

A plan is a 0/1 knapsack, not a truncated top-k list: with ``hours_per_week`` for ``weeks`` the
learner has a budget of minutes, each candidate costs its ``duration_minutes`` and is worth its
score, and the plan is the set with the highest total score whose minutes fit. (A top-k list
cut at the budget wastes time on one long course where three short better ones would fit.)

* **Time plan** (no credit requirement): dynamic programming over minutes rounded *up* to
  ``unit_minutes`` (default 5), so a plan never exceeds the budget; exact when durations are
  multiples of the unit. Candidates with a non-positive score never raise the total and are
  never chosen; candidates without a duration cannot be planned and are skipped (counted).
  Before the DP, :func:`reduce_knapsack` settles the items a bound proves every optimum takes
  or leaves (typically all but a dozen of 100 candidates), so the table is small.
* **Credit plan** (the learner owes credit hours, e.g. 72 class hours a year, minus those
  already completed): a covering knapsack with a lexicographic goal, first the smallest credit
  shortfall the time budget allows, then the highest total score among plans with that
  shortfall (the rest of the budget is filled with the best resources, credit or not). One DP
  answers both (:func:`credit_knapsack_dp`: a table over minutes x credits covered, capped at
  the requirement), with credits rounded *down* to ``credit_unit`` so coverage is never
  overstated; it is skipped when the best time plan already covers the requirement, which then
  is the answer. ``solver="milp"`` solves the same problem exactly on unrounded numbers as two
  mixed-integer programs (HiGHS via :func:`scipy.optimize.milp`), an order of magnitude slower.
  When the requirement cannot be met the plan says by how much (``shortfall_hours``) and why
  (``shortfall_reason``: the catalog or the candidates do not carry enough credit at all, or
  the time budget is too small for the ones that do).

Items are ordered for study: categories by their best score, and within a category beginner ->
intermediate -> advanced (unknown level last), then by score; each item gets the week it starts
in if the learner studies the plan in that order at ``hours_per_week``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from recommender.data.schema import LEVELS
from recommender.checks import check_k, check_number, is_missing
from recommender.features.catalog import CatalogArrays
from recommender.errors import InvalidParameterError

MAX_UNITS = 20_000  # time-plan DP width cap: coarser units beyond it (Plan.unit_minutes)
MAX_CELLS = 30_000  # credit-plan DP table cap per item: (minute steps) x (credit steps)
MAX_CREDIT_UNITS = 1_000
_CREDIT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class PlanItem:
    """One planned resource, in study order."""

    resource_idx: int
    score: float
    duration_minutes: float
    credit_hours: float
    category: str | None
    level: str | None
    start_week: int  # 0-based week the learner starts it, studying the plan in order


@dataclass(frozen=True)
class Plan:
    """A learning plan and its accounting (minutes, credits, what could not be planned).

    Why a credit plan falls short: ``"catalog"`` - nothing the learner may take carries enough
    credit (set by :meth:`Delivery.plan`, which sees the whole allowed catalog);
    ``"candidates"`` - the candidates given (or the best ``max_credit_items`` of them) do not;
    ``"time_budget"`` - they do, but not within the learner's time.
    """

    items: tuple[PlanItem, ...]
    total_minutes: float
    budget_minutes: float
    total_score: float
    credit_hours: float  # credit carried by the planned items
    credit_required: float  # remaining requirement the plan aimed at (0 when none)
    shortfall_hours: float  # max(0, credit_required - credit_hours)
    shortfall_reason: str | None  # None, "catalog", "candidates" or "time_budget" (see below)
    solver: str  # "dp", "milp" or "all_fit" (every useful candidate fits: nothing to choose)
    unit_minutes: float  # minutes were rounded up to this unit (dp)
    coarse_unit_minutes: float | None  # ... and to this one for credit-bearing items (credit dp)
    n_candidates: int
    n_skipped_no_duration: int

    @property
    def resource_idx(self) -> np.ndarray:
        return np.array([item.resource_idx for item in self.items], dtype=np.int64)


def knapsack_table(
    values: np.ndarray, weights: np.ndarray, capacity: int
) -> tuple[np.ndarray, np.ndarray]:
    """0/1 knapsack DP: ``best[w]`` (max value with total weight <= w) and the take table."""
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.int64)
    best = np.zeros(capacity + 1)
    take = np.zeros((len(values), capacity + 1), dtype=bool)
    buffer = np.empty(capacity + 1)
    for i, (value, weight) in enumerate(zip(values.tolist(), weights.tolist())):
        if value <= 0 or weight > capacity:
            continue
        candidate = np.add(best[: capacity + 1 - weight], value, out=buffer[: capacity + 1 - weight])
        np.greater(candidate, best[weight:], out=take[i, weight:])
        np.maximum(best[weight:], candidate, out=best[weight:])
    return best, take


def _backtrack(take: np.ndarray, weights: np.ndarray, room: int) -> list[int]:
    chosen = []
    for i in range(len(take) - 1, -1, -1):
        if take[i, room]:
            chosen.append(i)
            room -= int(weights[i])
    return chosen


def reduce_knapsack(
    values: np.ndarray, weights: np.ndarray, capacity: int
) -> tuple[np.ndarray, np.ndarray]:
    """Items every optimal subset takes, and items some optimal subset may take (the rest,
    no optimal subset takes): Martello and Toth's reduction with the Dantzig bound.

    Items sorted by value per weight give the LP relaxation's value ``LP(c)`` at any capacity
    ``c`` (whole items by density, then a fraction of the next), a concave piecewise-linear
    function read off prefix sums. A greedy fill gives a feasible value ``low``. Forcing item
    ``j`` in is bounded by ``v_j + LP(C - w_j)`` (j may appear twice in that relaxation, so it
    only loosens the bound); leaving a prefix item out by ``LP(C + w_j) - v_j`` (exactly the
    relaxation without j). A bound below ``low`` proves the choice wrong in every optimum, so
    the DP only has to decide the remaining items over the remaining capacity. Non-positive
    values and items heavier than ``capacity`` are never taken.
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.int64)
    useful = np.flatnonzero((values > 0) & (weights <= capacity))
    if len(useful) == 0:
        return np.empty(0, dtype=np.int64), useful
    free_weight = useful[weights[useful] == 0]  # weightless: always worth taking
    useful = useful[weights[useful] > 0]
    order = useful[np.argsort(-values[useful] / weights[useful], kind="stable")]
    v, w = values[order], weights[order].astype(np.float64)
    prefix_w = np.concatenate([[0.0], np.cumsum(w)])
    prefix_v = np.concatenate([[0.0], np.cumsum(v)])
    density = np.append(v / w, 0.0)

    def relaxed(room: np.ndarray) -> np.ndarray:
        full = np.searchsorted(prefix_w, room, side="right") - 1  # whole items that fit
        bound = prefix_v[full] + (room - prefix_w[full]) * density[full]
        return np.where(room < 0, -np.inf, bound)

    low, room = 0.0, float(capacity)  # greedy: by density, skipping what no longer fits
    for value, weight in zip(v.tolist(), w.tolist()):
        if weight <= room:
            low, room = low + value, room - weight
    slack = 1e-9 * max(1.0, abs(low))
    out = v + relaxed(capacity - w) < low - slack
    in_prefix = prefix_w[1:] <= capacity
    forced = in_prefix & (relaxed(capacity + w) - v < low - slack)
    taken = np.concatenate([free_weight, order[forced]])
    if weights[taken].sum() > capacity:  # cannot happen (all optima take them); stay exact
        return free_weight, useful
    return np.sort(taken), np.sort(order[~forced & ~out])


def knapsack_dp(values: np.ndarray, weights: np.ndarray, capacity: int) -> np.ndarray:
    """Indices of a maximum-value subset with total integer ``weights`` <= ``capacity``.

    Classic 0/1 DP over capacities, vectorised over the capacity axis, on what
    :func:`reduce_knapsack` leaves undecided (usually a fraction of the items and of the
    capacity); ``O(n * capacity)`` time and a ``n x (capacity + 1)`` boolean table for the
    backtrack. Non-positive values are never taken. Ties keep the earlier item (pass
    candidates best first).
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.int64)
    taken, open_items = reduce_knapsack(values, weights, capacity)
    room = capacity - int(weights[taken].sum())
    _, take = knapsack_table(values[open_items], weights[open_items], room)
    chosen = open_items[_backtrack(take, weights[open_items], room)]
    return np.sort(np.concatenate([taken, chosen])).astype(np.int64)


def credit_knapsack_dp(
    values: np.ndarray,
    weights: np.ndarray,
    credits: np.ndarray,
    capacity: int,
    required: int,
    scale: int = 1,
    max_graded: int | None = None,
) -> np.ndarray:
    """Indices minimising the credit shortfall within ``capacity``, then maximising value.

    Integer inputs: ``weights`` in fine units, ``credits`` and ``required`` in credit units.

    First the cheap case: the best plan that ignores credit (:func:`knapsack_dp` over every
    item on the fine axis) is returned when its credit already covers ``required``; no plan has
    a smaller shortfall (0) nor, having dropped a constraint, a higher value, so it is the
    answer (on the sample world about three plans in four end here).

    Otherwise the first ``max_graded`` credit-bearing items (all by default; pass candidates
    best first) go through a 2-D DP over (weight, credits covered, capped at ``required``)
    whose weight axis is ``scale`` fine units per step (their weights rounded up to it, to
    bound the table); the other items through a 1-D DP on the fine axis; the two are merged at
    the best split of the capacity. ``H[w, c]`` is the best value with weight <= w and credits
    >= c, so the smallest shortfall is read off ``H[W, :]`` and its best value next to it: one
    pass answers both objectives. Non-positive values are taken only when they buy credit.
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.int64)
    credits = np.asarray(credits, dtype=np.int64)
    unconstrained = knapsack_dp(values, weights, capacity)
    if int(np.maximum(credits[unconstrained], 0).sum()) >= required:
        return unconstrained
    graded = np.flatnonzero(credits > 0)[:max_graded]
    plain = np.setdiff1d(np.arange(len(values)), graded)
    coarse = -(-weights[graded] // scale)  # ceil: never over budget
    width = capacity // scale
    high = np.full((width + 1, required + 1), -np.inf, dtype=np.float32)
    high[:, 0] = 0.0
    take = np.zeros((len(graded), width + 1, required + 1), dtype=bool)
    buffer = np.empty_like(high)
    for step, (i, weight) in enumerate(zip(graded.tolist(), coarse.tolist())):
        if weight > width:
            continue
        gain = min(int(credits[i]), required)
        source = high[: width + 1 - weight]
        candidate = buffer[: width + 1 - weight]
        # covering c <= gain needs nothing before this item; c > gain needs c - gain before
        np.add(source[:, :1], values[i], out=candidate[:, : gain + 1])
        np.add(source[:, 1: required + 1 - gain], values[i], out=candidate[:, gain + 1:])
        np.greater(candidate, high[weight:], out=take[step, weight:])
        np.maximum(high[weight:], candidate, out=high[weight:])
    reachable = np.flatnonzero(np.isfinite(high[width]))
    covered = int(reachable.max())
    low_best, low_take = knapsack_table(values[plain], weights[plain], capacity)
    split = np.arange(width + 1)
    total = high[split, covered] + low_best[capacity - split * scale]
    room = int(np.argmax(total))  # coarse units spent on credit items
    chosen = []
    c = covered
    w = room
    for step in range(len(graded) - 1, -1, -1):
        if take[step, w, c]:
            i = graded[step]
            chosen.append(int(i))
            w -= int(coarse[step])
            c = max(0, c - min(int(credits[i]), required))
    rest = _backtrack(low_take, weights[plain], capacity - room * scale)
    chosen.extend(int(plain[j]) for j in rest)
    covering = np.array(sorted(chosen), dtype=np.int64)
    # Credit beyond the first max_graded items counts too: keep the plan ignoring credit when
    # it covers more (it can only, when it uses such items), or as much for a higher value.
    got = (min(required, int(np.maximum(credits[covering], 0).sum())), values[covering].sum())
    alt = (int(np.maximum(credits[unconstrained], 0).sum()), values[unconstrained].sum())
    return unconstrained if alt > got else covering


def _solve(
    c: np.ndarray, constraints: list[LinearConstraint], n_binary: int, upper: np.ndarray
) -> np.ndarray:
    integrality = np.zeros(len(c))
    integrality[:n_binary] = 1
    result = milp(c, constraints=constraints, integrality=integrality,
                  bounds=Bounds(np.zeros(len(c)), upper))
    if result.x is None:  # cannot happen: the empty plan is always feasible
        raise InvalidParameterError("candidates", result.message, "a feasible plan")
    return result.x


def credit_cover(
    values: np.ndarray, minutes: np.ndarray, credits: np.ndarray, budget: float, required: float
) -> np.ndarray:
    """Indices minimising ``max(0, required - credits)`` within ``budget`` minutes, then
    maximising total value (two exact MILPs; minutes and credits are used unrounded)."""
    n = len(values)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    # Phase 1: maximise covered credit t <= required, t <= sum(credits * x), minutes <= budget.
    a = np.zeros((2, n + 1))
    a[0, :n], a[0, n] = -credits, 1.0
    a[1, :n] = minutes
    constraints = [LinearConstraint(a, -np.inf, [0.0, budget])]
    objective = np.zeros(n + 1)
    objective[n] = -1.0
    x = _solve(objective, constraints, n, np.append(np.ones(n), required))
    covered = min(required, float(credits @ (x[:n] > 0.5)))
    # Phase 2: best value among plans covering at least that much.
    rows = np.vstack([credits, minutes])
    constraints = [LinearConstraint(rows, [covered - _CREDIT_TOLERANCE, -np.inf], [np.inf, budget])]
    x = _solve(-values, constraints, n, np.ones(n))
    return np.flatnonzero(x > 0.5)


def build_plan(
    resource_idx: np.ndarray,
    scores: np.ndarray,
    catalog: CatalogArrays,
    hours_per_week: float,
    weeks: int,
    *,
    credit_required: float | None = None,
    credit_completed: float = 0.0,
    unit_minutes: float = 5.0,
    credit_unit: float = 0.5,
    max_credit_items: int = 32,
    solver: str = "dp",
) -> Plan:
    """A plan from scored candidates (already filtered by the hard constraints).

    ``credit_required`` is the learner's requirement for the period (e.g. their
    ``credit_hours_required``) and ``credit_completed`` what they already earned; a positive
    remainder makes this a credit plan (see the module docstring). Duplicated candidates and
    ``-1`` slots are dropped. ``solver="dp"`` rounds minutes up to ``unit_minutes`` (coarser for
    credit-bearing items of a long credit plan, see ``Plan.coarse_unit_minutes``) and credits
    down to ``credit_unit`` hours, so it never overruns the budget nor overstates credit, and
    covers with the best ``max_credit_items`` credit-bearing candidates (the DP table grows
    with them); ``solver="milp"`` is exact on the unrounded numbers with every candidate, but
    some ten times slower.
    """
    hours_per_week = check_number("hours_per_week", hours_per_week, open_low=True)
    if isinstance(weeks, bool) or not isinstance(weeks, (int, np.integer)) or weeks < 1:
        raise InvalidParameterError("weeks", weeks, "an integer >= 1")
    unit_minutes = check_number("unit_minutes", unit_minutes, open_low=True)
    credit_unit = check_number("credit_unit", credit_unit, open_low=True)
    credit_completed = check_number("credit_completed", credit_completed)
    max_credit_items = check_k(max_credit_items, "max_credit_items")
    if solver not in ("dp", "milp"):
        raise InvalidParameterError("solver", solver, "'dp' or 'milp'")
    remaining = 0.0
    if not is_missing(credit_required):
        remaining = max(0.0, check_number("credit_required", credit_required) - credit_completed)
    candidates, values = _candidates(resource_idx, scores, catalog.n_resources)
    budget = hours_per_week * 60.0 * int(weeks)
    duration = catalog.duration_minutes[candidates]
    known = np.isfinite(duration)
    n_skipped = int((~known).sum())
    candidates, values, duration = candidates[known], values[known], duration[known]
    credits = catalog.credit_hours[candidates]
    unit = max(unit_minutes, budget / MAX_UNITS)
    capacity = int(np.floor(budget / unit + 1e-9))
    units = np.ceil(duration / unit - 1e-9).astype(np.int64)
    coarse_unit = None
    usable = float(credits.sum())  # credit the solver may use to cover

    if remaining > 0 and solver == "milp":
        chosen = credit_cover(values, duration, credits, budget, remaining)
    elif remaining > 0:
        credit_unit = max(credit_unit, remaining / MAX_CREDIT_UNITS)
        required = int(np.ceil(remaining / credit_unit - 1e-9))
        credit_units = np.floor(credits / credit_unit + 1e-9).astype(np.int64)
        # Only the best max_credit_items credit-bearing candidates go through the covering DP
        # (values are sorted best first); the others can still join the plan as plain
        # resources, and all count when the best plan ignoring credit already covers.
        graded = np.flatnonzero(credit_units > 0)
        usable = float(credits[graded[:max_credit_items]].sum())
        scale = max(1, int(np.ceil(capacity / max(1, MAX_CELLS // (required + 1) - 1))))
        coarse_unit = unit * scale
        chosen = credit_knapsack_dp(values, units, credit_units, capacity, required, scale,
                                    max_graded=max_credit_items)
    else:
        useful = values > 0
        if duration[useful].sum() <= budget:
            chosen, solver = np.flatnonzero(useful), "all_fit"
        elif solver == "milp":
            chosen = credit_cover(values, duration, np.zeros_like(duration), budget, 0.0)
        else:
            chosen = knapsack_dp(values, units, capacity)
    earned = float(credits[chosen].sum())
    shortfall = max(0.0, remaining - earned)
    if shortfall <= _CREDIT_TOLERANCE:
        shortfall, reason = 0.0, None
    else:
        reason = "candidates" if usable < remaining - _CREDIT_TOLERANCE else "time_budget"
    items = _ordered(candidates[chosen], values[chosen], catalog, hours_per_week)
    return Plan(
        items=items, total_minutes=float(duration[chosen].sum()), budget_minutes=budget,
        total_score=float(values[chosen].sum()), credit_hours=earned, credit_required=remaining,
        shortfall_hours=shortfall, shortfall_reason=reason, solver=solver, unit_minutes=unit,
        coarse_unit_minutes=coarse_unit, n_candidates=len(candidates) + n_skipped,
        n_skipped_no_duration=n_skipped,
    )


def _candidates(
    resource_idx: np.ndarray, scores: np.ndarray, n_resources: int
) -> tuple[np.ndarray, np.ndarray]:
    resource_idx = np.asarray(resource_idx, dtype=np.int64).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if resource_idx.shape != scores.shape:
        raise InvalidParameterError(
            "scores", scores.shape, f"one per resource_idx, {resource_idx.shape}"
        )
    if resource_idx.size and resource_idx.max() >= n_resources:
        raise InvalidParameterError(
            "resource_idx", int(resource_idx.max()), f"indices < {n_resources}"
        )
    keep = (resource_idx >= 0) & np.isfinite(scores)
    resource_idx, scores = resource_idx[keep], scores[keep]
    order = np.lexsort((resource_idx, -scores))  # best first, so DP ties keep the better item
    resource_idx, scores = resource_idx[order], scores[order]
    _, first = np.unique(resource_idx, return_index=True)
    first = np.sort(first)
    return resource_idx[first], scores[first]


_LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}


def _names(vocabulary: dict[str, int]) -> np.ndarray:
    """Names by code, with a trailing None that code -1 (missing) picks."""
    names = np.full(len(vocabulary) + 1, None, dtype=object)
    for name, code in vocabulary.items():
        names[code] = name
    return names


def _ordered(
    chosen: np.ndarray, values: np.ndarray, catalog: CatalogArrays, hours_per_week: float
) -> tuple[PlanItem, ...]:
    """Study order: categories by best score (then name); within one, level order, then
    score, then resource_idx."""
    chosen = np.asarray(chosen, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    category_names = _names(catalog.category.index)
    category = category_names[catalog.category.codes[chosen]]
    level_names = _names(catalog.level.index)
    level_codes = catalog.level.codes[chosen]
    level_rank = np.array([_LEVEL_RANK.get(name, len(LEVELS)) for name in level_names])
    codes, group = np.unique(catalog.category.codes[chosen], return_inverse=True)
    best = np.full(len(codes), -np.inf)
    np.maximum.at(best, group, values)
    labels = np.array([str(name) for name in category_names[codes]], dtype=str)
    name_rank = np.argsort(np.argsort(labels, kind="stable"), kind="stable")
    order = np.lexsort((chosen, -values, level_rank[level_codes], name_rank[group], -best[group]))
    durations = catalog.duration_minutes[chosen[order]]
    started = np.concatenate([[0.0], np.cumsum(durations)])[: len(durations)]
    weeks = (started // (hours_per_week * 60.0)).astype(np.int64)
    credit = catalog.credit_hours[chosen[order]]
    return tuple(
        PlanItem(resource_idx=idx, score=value, duration_minutes=duration, credit_hours=hours,
                 category=cat, level=lvl, start_week=week)
        for idx, value, duration, hours, cat, lvl, week in zip(
            chosen[order].tolist(), values[order].tolist(), durations.tolist(), credit.tolist(),
            category[order].tolist(), level_names[level_codes[order]].tolist(), weeks.tolist())
    )
