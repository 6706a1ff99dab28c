"""The one place where the library's exception tree becomes HTTP statuses.

Unknown id -> 404, bad value -> 422 (naming the field), an event id reused for another event ->
409, no model loaded or the database busy -> 503, anything unexpected -> 500 with a plain
message: a caller never sees a traceback, and the log never sees the request's values.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from recommender.errors import (
    BundleError,
    DataValidationError,
    InvalidParameterError,
    ModelNotLoadedError,
    RecommenderError,
    UnknownIdError,
)
from recommender.store import EventConflictError, StoreError

log = logging.getLogger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[RecommenderError], int], ...] = (
    (UnknownIdError, 404),
    (InvalidParameterError, 422),
    (DataValidationError, 422),
    (EventConflictError, 409),
    (ModelNotLoadedError, 503),
    (BundleError, 503),
    (StoreError, 503),
)


def status_for(error: RecommenderError) -> int:
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


def message_for(error: RecommenderError) -> str:
    """What the caller reads; request validation problems as ``field: message`` (an item of a
    batch as ``events[i].field``)."""
    if isinstance(error, DataValidationError):
        parts = []
        for problem in error.problems[:20]:
            if problem.source == "request":
                where = problem.column
                if problem.table == "events" and problem.row is not None:
                    where = f"events[{problem.row - 1}].{problem.column}"
                parts.append(f"{where}: {problem.message}")
            else:
                parts.append(str(problem))
        return "; ".join(parts) or str(error)
    return str(error)


async def _recommender_error(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, RecommenderError):  # registered for RecommenderError only
        return await _unexpected_error(request, error)
    status = status_for(error)
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse(status_code=status, content={"detail": message_for(error)},
                        headers=headers)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    # The type and route only: the message could quote request values (learner attributes).
    log.error("unhandled %s on %s %s", type(error).__name__, request.method,
              getattr(request.scope.get("route"), "path", "?"))
    return JSONResponse(status_code=500, content={"detail": "internal error; see server log"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RecommenderError, _recommender_error)
    app.add_exception_handler(Exception, _unexpected_error)
