"""What the routes depend on: the /v1 router (with the key check), the worker's runtime, the
learner as the store has them now, and the request's filters in the delivery core's terms.

Blocking work leaves the event loop in one thread-pool hop per request: :func:`learner_context`
reads the learner's snapshot from the store and places them (a fold-in solve when they have
new events) off the loop, and the list handlers, ``async def``, then score on the loop (a
bounded index search and reasons, like FastAPI's own response validation, which also runs on
the loop for ``async`` handlers). A plain ``def`` handler would cost two more hops (FastAPI
runs a sync endpoint and then its response validation each in the pool): about 0.15 ms of CPU
each, a third of a list request (``benchmarks/serve_load.py`` measures the endpoint).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, Header, Request
from starlette.concurrency import run_in_threadpool
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from recommender.delivery.messages import LANGUAGES
from recommender.features.catalog import RequestFilters
from recommender.serving.auth import require_key
from recommender.serving.runtime import LearnerContext, Runtime
from recommender.serving.schemas import ErrorBody, LearnerId, ListFilters


def v1_router(tag: str, unavailable: str = "No model loaded or database busy") -> APIRouter:
    """A /v1 router whose every route needs the platform's API key (401 documented) and may
    answer 503 (``unavailable`` says when)."""
    return APIRouter(
        prefix="/v1", tags=[tag], dependencies=[Depends(require_key)],
        responses={401: {"model": ErrorBody, "description": "Missing or invalid API key"},
                   503: {"model": ErrorBody, "description": unavailable}},
    )


async def get_runtime(request: Request) -> Runtime:
    """The worker's runtime (an attribute read: nothing blocks, so it runs on the loop)."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def learner_context(learner_id: LearnerId, request: Request) -> LearnerContext:
    """The delivery core and the learner's view, from their snapshot in the store (profile,
    events, catalog changes' signature: one transaction), worked out in the thread pool."""
    runtime: Runtime = request.app.state.runtime
    return await run_in_threadpool(runtime.learner_context, learner_id)


LearnerDep = Annotated[LearnerContext, Depends(learner_context)]


def request_filters(filters: ListFilters) -> RequestFilters:
    """API filters -> the delivery core's (which checks them again and names what is bad)."""
    window = None
    if filters.open_from is not None or filters.open_until is not None:
        window = (_utc(filters.open_from), _utc(filters.open_until))

    def many(values: list[str] | None) -> tuple[str, ...] | None:
        return tuple(values) if values else None

    return RequestFilters(
        category=many(filters.category), language=many(filters.language),
        mode=many(filters.mode), region=filters.region,
        max_duration_minutes=filters.max_duration_minutes, level=many(filters.level),
        accessibility=tuple(filters.accessibility or ()), open_between=window,
        provider_type=many(filters.provider_type),
    )


async def accepted_languages(
    accept_language: Annotated[str | None, Header(
        max_length=1000, description="Language of reasons and messages for a learner whose "
        "profile names none of zh, en (e.g. zh-CN,zh;q=0.9,en;q=0.8)")] = None,
) -> tuple[str, ...]:
    """The request's ``Accept-Language``, as the one language of the message catalog it
    prefers (none: no preference the catalog can meet)."""
    if not accept_language:
        return ()
    best = parse_accept_header(accept_language, LanguageAccept).best_match(LANGUAGES)
    return (best,) if best else ()


LanguagesDep = Annotated[tuple[str, ...], Depends(accepted_languages)]


def utc_now() -> pd.Timestamp:
    """The moment a request judges availability at."""
    return pd.Timestamp(datetime.now(UTC))


def _utc(value: object) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
