"""Event ingestion: validated, committed before the acknowledgement, idempotent on event_id."""

from __future__ import annotations

from fastapi import Response
from starlette.concurrency import run_in_threadpool

from recommender.errors import DataValidationError, Problem
from recommender.serving.deps import RuntimeDep, v1_router
from recommender.serving.metrics import EVENTS_INGESTED
from recommender.serving.runtime import Runtime
from recommender.serving.schemas import (
    ErrorBody,
    EventBatch,
    EventResult,
    EventsBody,
    IngestAck,
)
from recommender.store import EventRecord

router = v1_router("events", "Database busy: retry, nothing stored")


@router.post(
    "/events", response_model=IngestAck, status_code=201,
    responses={
        200: {"model": IngestAck, "description": "Every event was already stored (duplicates)"},
        409: {"model": ErrorBody, "description": "An event_id reused for a different event; "
              "nothing of the batch was stored"},
        422: {"description": "An event is invalid (the message names the item and field)"},
    },
)
async def post_events(response: Response, body: EventsBody,
                      runtime: RuntimeDep) -> IngestAck:
    """Store one event or a batch. The acknowledgement (201, or 200 when all were duplicates)
    is sent only after the database committed; sending the same event again is harmless; the
    learner's next list, on any worker, reflects it."""
    events = body.events if isinstance(body, EventBatch) else [body]
    # The request model mirrors the data contract (its vocabularies, non-empty ids, finite
    # values, timestamps in range), so records are built directly: the contract's frame
    # validation costs ~9 ms a call, most of an event's budget.
    records = [EventRecord.of(e.event_id, e.learner_id, e.resource_id, e.event_type, e.value,
                              e.timestamp) for e in events]
    # On the loop, waiting for the group commit without a thread; the store is read (in the
    # thread pool) only for ids the bundle does not know.
    if not _known_to_bundle(runtime, records):
        await run_in_threadpool(_check_references, runtime, records)
    result = await runtime.store.add_events_async(records)
    EVENTS_INGESTED.inc(result.n_stored)
    if result.n_stored == 0:
        response.status_code = 200
    return IngestAck(
        stored=result.n_stored, duplicates=len(records) - result.n_stored,
        results=[EventResult(event_id=event_id, status="stored" if stored else "duplicate")
                 for event_id, stored in zip(result.event_ids, result.stored)],
    )


def _known_to_bundle(runtime: Runtime, records: list[EventRecord]) -> bool:
    """Whether no reference needs the store (no model loaded, or all ids in the bundle)."""
    served = runtime.served
    if served is None:
        return True
    learners, resources = served.bundle.learner_map, served.bundle.resource_map
    return all(r.learner_id in learners and r.resource_id in resources for r in records)


def _check_references(runtime: Runtime, records: list[EventRecord]) -> None:
    """Learners and resources must be known (bundle or store) while a model is loaded; with
    none loaded events are still taken, so the platform never loses them."""
    served = runtime.served
    if served is None:
        return
    bundle = served.bundle
    problems = []
    for kind, column, catalog in (("learner", "learner_id", bundle.learner_map),
                                  ("resource", "resource_id", bundle.resource_map)):
        ids = [getattr(r, column) for r in records]
        missing = [i for i in dict.fromkeys(ids) if i not in catalog]
        known = runtime.store.existing_ids(kind, missing) if missing else set()
        for row, value in enumerate(ids, start=1):
            if value not in catalog and value not in known:
                problems.append(Problem("events", column, row, value,
                                        f"names an unknown {kind} (PUT it first)", "request"))
    if problems:
        raise DataValidationError(problems)
