"""Small pieces shared by the routers: the /v1 router, the runtime, filters."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute

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


class RequestOnlyRoute(APIRoute):
    """A route whose endpoint takes the :class:`Request` alone and returns a
    :class:`Response` (:func:`keyed_get`'s): FastAPI's request handler (dependency solving,
    response validation and serialisation) has nothing to do for it, yet costs a list request
    about 5% of its CPU, so the endpoint itself is the handler. Errors still reach the app's
    exception handlers (FastAPI's ``request_response`` wraps the handler either way). A route
    with any dependency or other parameter keeps FastAPI's handler; dependencies added where
    its router is included would not be seen, so :func:`keyed_get`'s router is included bare."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        dependant = self.dependant
        parameters = list(inspect.signature(self.endpoint).parameters.values())
        request_only = (
            len(parameters) == 1 and parameters[0].annotation in (Request, "Request")
            and dependant.request_param_name == parameters[0].name
            and not (dependant.dependencies or dependant.path_params or dependant.query_params
                     or dependant.header_params or dependant.cookie_params
                     or dependant.body_params)
        )
        return self.endpoint if request_only else handler


def keyed_get(router: APIRouter, path: str, **route: Any) -> Callable[[Endpoint], Endpoint]:
    """``router.get`` for the hottest route: the key is checked by the call itself, before
    anything else (the same check, 401 first), instead of by FastAPI's dependency solving, which
    costs a list request tens of microseconds; the OpenAPI document says the same (the security
    requirement a key dependency writes). The route is a :class:`RequestOnlyRoute`."""
    extra = {**route.pop("openapi_extra", {}), "security": [{require_key.scheme_name: []}]}

    def declare(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def checked(request: Request) -> Response:
            await require_key(request)
            return await endpoint(request)

        router.add_api_route(path, checked, methods=["GET"], openapi_extra=extra,
                             route_class_override=RequestOnlyRoute, **route)
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
