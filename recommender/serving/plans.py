"""GET /v1/learners/{learner_id}/plan: a learning plan that fits the learner's time and credits.

The learner is placed exactly as for their delivery list (trained vector, fold-in of stored
events, or profile), with the same exclusions, hard constraints and filters; the plan itself is
:meth:`recommender.delivery.core.DeliveryCore.plan`, the code the batch export uses too.

What the learner owes comes from their credit ledger for the current year
(:func:`recommender.delivery.credits.credit_ledger`, also ``GET /v1/learners/{id}/credits``):
the requirement and the hours already earned on the platform and recognised from elsewhere.
``credit_required`` / ``credit_completed`` in the request override either (a what-if plan).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.concurrency import run_in_threadpool

from recommender.delivery.core import PlanRequest
from recommender.serving.deps import LearnerDep, RuntimeDep, request_filters, utc_now, v1_router
from recommender.serving.schemas import (
    ErrorBody,
    LearningPlan,
    PlannedResource,
    PlanQuery,
)

router = v1_router("recommendations")


@router.get(
    "/learners/{learner_id}/plan", response_model=LearningPlan,
    responses={404: {"model": ErrorBody, "description": "Unknown learner and no profile"},
               422: {"description": "A parameter is invalid (the message names it)"}},
)
async def learning_plan(
    query: Annotated[PlanQuery, Query()], learner: LearnerDep, runtime: RuntimeDep
) -> LearningPlan:
    """A study plan for ``hours_per_week`` over ``weeks``: the best-scored resources the learner
    may take whose durations fit the time (never over it), covering their remaining credit
    hours when they owe some (or saying by how much and why it falls short), in study order
    (topic by topic, beginner to advanced) with the week each one starts."""
    core = learner.core
    now = utc_now()
    ledger = None
    if query.credit_required is None or query.credit_completed is None:
        ledger = await run_in_threadpool(runtime.credit_ledger, learner.learner_id, now.year,
                                         core.served)
    request = PlanRequest(
        hours_per_week=query.hours_per_week, weeks=query.weeks, now=now,
        filters=request_filters(query), exclude_ids=tuple(query.exclude or ()),
        credit_required=query.credit_required, credit_completed=query.credit_completed)
    # a knapsack over up to 132 candidates: milliseconds, so off the loop
    planned = await run_in_threadpool(core.plan, learner.view, request, ledger)
    plan = planned.plan
    items = [
        PlannedResource(
            order=order, resource_id=picked.resource_id, title=picked.title, score=item.score,
            duration_minutes=item.duration_minutes, credit_hours=item.credit_hours,
            category=item.category, level=item.level, start_week=item.start_week + 1,
            reason=picked.reason.text, reason_kind=picked.reason.kind,
        )
        for order, (item, picked) in enumerate(zip(plan.items, planned.picked), start=1)
    ]
    return LearningPlan(
        learner_id=learner.learner_id, items=items, hours_per_week=query.hours_per_week,
        weeks=query.weeks, budget_minutes=plan.budget_minutes, total_minutes=plan.total_minutes,
        credit_hours=plan.credit_hours, credit_required=plan.credit_required,
        credit_completed=planned.credit_completed,
        ledger_year=ledger.year if ledger is not None else None,
        shortfall_hours=plan.shortfall_hours,
        shortfall_reason=plan.shortfall_reason,  # type: ignore[arg-type]
        model_version=core.served.version, cold_start=planned.vector_path == "profile",
        cold_start_path=planned.cold_start,
        vector_path=planned.vector_path,  # type: ignore[arg-type]
    )
