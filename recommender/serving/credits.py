"""The credit ledger: ``GET /v1/learners/{learner_id}/credits`` (a year's credit hours, what is
still owed) and ``POST`` (learning done elsewhere, recognised by the platform).

The ledger is :func:`recommender.delivery.credits.credit_ledger`, the computation the plans read
too; it reads the store on every request, so a completion or a record acknowledged by any
worker counts at once. Records are idempotent on ``credit_id``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response
from starlette.concurrency import run_in_threadpool

from recommender.delivery.credits import CreditLedger
from recommender.serving.deps import RuntimeDep, v1_router
from recommender.serving.schemas import (
    CreditIn,
    CreditLedgerOut,
    CreditLine,
    CreditRecorded,
    ErrorBody,
    HoursBy,
    LearnerId,
)
from recommender.store import CreditRecord

router = v1_router("credits")


@router.get(
    "/learners/{learner_id}/credits", response_model=CreditLedgerOut,
    responses={404: {"model": ErrorBody, "description": "Unknown learner"},
               422: {"description": "A parameter is invalid (the message names it)"}},
)
async def credits(
    learner_id: LearnerId, runtime: RuntimeDep,
    year: Annotated[int | None, Query(ge=1900, le=2199, description="Calendar year (UTC); "
                                      "default: the current year")] = None,
) -> CreditLedgerOut:
    """The learner's credit ledger for a year: the requirement, hours earned from completed
    credit-bearing resources (the model's history and events stored since; each resource once,
    in the year of its first completion) and from recognised outside learning, hours by
    category and by provider, each counted line, and the shortfall."""
    ledger = await run_in_threadpool(runtime.credit_ledger, learner_id, year)
    return ledger_body(ledger)


@router.post(
    "/learners/{learner_id}/credits", response_model=CreditRecorded, status_code=201,
    responses={
        200: {"model": CreditRecorded, "description": "The same record was already stored"},
        409: {"model": ErrorBody, "description": "The credit_id was used for a different "
              "record; nothing was changed"},
    },
)
async def record_credit(learner_id: LearnerId, body: CreditIn, response: Response,
                        runtime: RuntimeDep) -> CreditRecorded:
    """Record learning done elsewhere (hours, source, date, evidence), committed before the
    answer: 201 when stored, 200 when this record was already stored under its ``credit_id``
    (it is never counted twice), 409 when the id holds a different record. It counts in the
    ledger of the year of ``earned_on``, on every worker at once."""
    record = CreditRecord.of(
        credit_id=body.credit_id, learner_id=learner_id, hours=body.hours, source=body.source,
        earned_on=body.earned_on, evidence=body.evidence, category=body.category,
        title=body.title)
    stored = await run_in_threadpool(runtime.store.add_credit, record)
    if not stored:
        response.status_code = 200
    return CreditRecorded(
        credit_id=record.credit_id, learner_id=record.learner_id, hours=record.hours,
        source=record.source, earned_on=record.earned_on, evidence=record.evidence,
        category=record.category, title=record.title, year=record.earned_on.year)


def ledger_body(ledger: CreditLedger) -> CreditLedgerOut:
    """The library's ledger as the API's response model."""
    return CreditLedgerOut(
        learner_id=ledger.learner_id, year=ledger.year, required_hours=ledger.required_hours,
        earned_hours=ledger.earned_hours, platform_hours=ledger.platform_hours,
        recognised_hours=ledger.recognised_hours, shortfall_hours=ledger.shortfall_hours,
        by_category=[HoursBy(name=h.name, hours=h.hours) for h in ledger.by_category],
        by_provider=[HoursBy(name=h.name, hours=h.hours) for h in ledger.by_provider],
        entries=[CreditLine(kind=e.kind, id=e.id, title=e.title, hours=e.hours,
                            earned_on=e.earned_on, category=e.category, provider=e.provider,
                            evidence=e.evidence)
                 for e in ledger.entries],
        bundle_history=ledger.bundle_history,
    )
