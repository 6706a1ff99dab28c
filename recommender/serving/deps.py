"""Small pieces shared by the routers: the /v1 router, the runtime, filters."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Request, Response

from recommender.delivery import RequestFilters
from recommender.serving.auth import require_key
from recommender.serving.runtime import Runtime
from recommender.serving.schemas import ErrorBody, ListFilters


def v1_router(tag: str, unavailable: str = "No model loaded or database busy", *,
              key_dependency: bool = True) -> APIRouter:
    """A /v1 router whose every route needs the platform's API key (401 documented) and may
    answer 503 (``unavailable`` says when). ``key_dependency`` False: for routes declared with
    :func:`keyed_get` only, which check the key themselves."""
    return APIRouter(
        prefix="/v1", tags=[tag], dependencies=[Depends(require_key)] if key_dependency else [],
        responses={401: {"model": ErrorBody, "description": "Missing or invalid API key"},
                   503: {"model": ErrorBody, "description": unavailable}},
    )


Endpoint = Callable[[Request], Awaitable[Response]]


def keyed_get(router: APIRouter, path: str, **route: Any) -> Callable[[Endpoint], Endpoint]:
    """``router.get`` for the hottest route: the key is checked by the call itself, before
    anything else (the same check, 401 first), instead of by FastAPI's dependency solving, which
    costs a list request tens of microseconds; the OpenAPI document says the same (the security
    requirement a key dependency writes)."""
    extra = {**route.pop("openapi_extra", {}), "security": [{require_key.scheme_name: []}]}

    def declare(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def checked(request: Request) -> Response:
            await require_key(request)
            return await endpoint(request)

        router.get(path, openapi_extra=extra, **route)(checked)
        return endpoint

    return declare


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def request_filters(filters: ListFilters) -> RequestFilters:
    """API filters -> the delivery library's (which checks them again and names what is bad)."""
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


def _utc(value: object) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
