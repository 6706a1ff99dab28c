"""GET /v1/learners/{learner_id}/plan: a learning plan that fits the learner's time and credits.

The learner is placed exactly as for their delivery list (:func:`learner_view`: trained
vector, fold-in of stored events, or profile), with the same exclusions (done, dismissed,
withdrawn, the request's ``exclude``) and the same hard constraints and filters; the plan
itself is :meth:`recommender.delivery.Delivery.plan` (a knapsack over the best candidates, a
covering knapsack for a learner who owes credit hours), the code the batch export uses too.

The credit requirement is the learner's ``credit_hours_required`` (from the bundle or a
``PUT /v1/learners``) unless the request gives ``credit_required``; ``credit_completed`` is
what they already earned towards it (the platform knows which completions count for the
period; the recommender does not). Plans draw on the bundle's catalog: resources added
through the API after training appear in lists but not yet in plans, since their durations
and credits are not part of the served model's catalog arrays.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from fastapi import Request

from recommender.delivery import Delivery, LearnerProfile, Plan
from recommender.serving.deps import request_filters, runtime_of, v1_router
from recommender.serving.model_state import ServedModel
from recommender.serving.overlay import Overlay
from recommender.serving.query import list_fields, openapi_parameters, parse_query
from recommender.serving.reasons import explain
from recommender.serving.recommend import LearnerView
from recommender.serving.schemas import (
    ErrorBody,
    LearnerId,
    LearningPlan,
    PlannedResource,
    PlanQuery,
)

router = v1_router("recommendations")
PLAN_LISTS = list_fields(PlanQuery)


def plan_exclusions(
    served: ServedModel, overlay: Overlay, view: LearnerView, exclude_ids: list[str] | None
) -> np.ndarray:
    """Bundle resource_idx the plan may not use: done or dismissed, withdrawn or re-described
    through the API (blocked), and the request's ``exclude`` ids."""
    parts = [view.excluded_main, np.flatnonzero(overlay.blocked)]
    if exclude_ids:
        found = served.bundle.resource_map.indices_of(list(exclude_ids), strict=False)
        parts.append(found[found >= 0])
    return np.unique(np.concatenate(parts).astype(np.int64))


def plan_for(
    served: ServedModel,
    overlay: Overlay,
    view: LearnerView,
    query: PlanQuery,
    now: pd.Timestamp | None = None,
) -> Plan:
    """The learner's plan under the query's budget, filters and credit requirement."""
    profile = view.constraints or LearnerProfile()
    if query.credit_required is not None:
        profile = replace(profile, credit_hours_required=query.credit_required)
    delivery = Delivery(served.catalog, served.retriever.vectors, retriever=served.retriever)
    return delivery.plan(
        view.vector, now=now if now is not None else pd.Timestamp.now(tz="UTC"),
        hours_per_week=query.hours_per_week, weeks=query.weeks, profile=profile,
        filters=request_filters(query), exclude=plan_exclusions(served, overlay, view,
                                                                query.exclude),
        credit_completed=query.credit_completed,
    )


def plan_items(
    served: ServedModel, overlay: Overlay, view: LearnerView, plan: Plan
) -> list[PlannedResource]:
    reasons = explain(served, overlay, plan.resource_idx, view.history, group=view.group,
                      region=view.region, interests=view.interests)
    return [
        PlannedResource(
            order=order, resource_id=str(served.resource_ids[item.resource_idx]),
            title=str(served.titles[item.resource_idx]), score=item.score,
            duration_minutes=item.duration_minutes, credit_hours=item.credit_hours,
            category=item.category, level=item.level, start_week=item.start_week + 1,
            reason=reason.text, reason_kind=reason.kind,
        )
        for order, (item, reason) in enumerate(zip(plan.items, reasons), start=1)
    ]


@router.get(
    "/learners/{learner_id}/plan", response_model=LearningPlan,
    responses={404: {"model": ErrorBody, "description": "Unknown learner and no profile"},
               422: {"description": "A parameter is invalid (the message names it)"}},
    openapi_extra={"parameters": openapi_parameters(PlanQuery)},
)
async def learning_plan(request: Request, learner_id: LearnerId) -> LearningPlan:
    """A study plan for ``hours_per_week`` over ``weeks``: the best-scored resources the learner
    may take whose durations fit the time (never over it), covering their remaining credit
    hours when they owe some (or saying by how much and why it falls short), in study order
    (topic by topic, beginner to advanced) with the week each one starts."""
    query = parse_query(PlanQuery, request, PLAN_LISTS)
    runtime = runtime_of(request)
    served = runtime.require_served()
    snapshot = runtime.store.learner_snapshot(learner_id)
    overlay = runtime.overlay(served, snapshot.resources_signature)
    view = runtime.learner_view(served, overlay, snapshot, learner_id)
    plan = plan_for(served, overlay, view, query)
    return LearningPlan(
        learner_id=learner_id, items=plan_items(served, overlay, view, plan),
        hours_per_week=query.hours_per_week, weeks=query.weeks,
        budget_minutes=plan.budget_minutes, total_minutes=plan.total_minutes,
        credit_hours=plan.credit_hours, credit_required=plan.credit_required,
        shortfall_hours=plan.shortfall_hours,
        shortfall_reason=plan.shortfall_reason,  # type: ignore[arg-type]
        model_version=served.version, cold_start=view.cold_start is not None,
        cold_start_path=view.cold_start,
    )
