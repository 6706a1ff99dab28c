"""The one place where the library's exception tree becomes HTTP statuses.

Unknown id -> 404, bad value -> 422, no model loaded -> 503, anything unexpected -> 500 with a
plain message: a caller never sees a traceback.
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

log = logging.getLogger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[RecommenderError], int], ...] = (
    (UnknownIdError, 404),
    (InvalidParameterError, 422),
    (DataValidationError, 422),
    (ModelNotLoadedError, 503),
    (BundleError, 503),
)


def status_for(error: RecommenderError) -> int:
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


async def _recommender_error(_request: Request, error: Exception) -> JSONResponse:
    status = status_for(error) if isinstance(error, RecommenderError) else 500
    return JSONResponse(status_code=status, content={"detail": str(error)})


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(status_code=500, content={"detail": "internal error; see server log"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RecommenderError, _recommender_error)
    app.add_exception_handler(Exception, _unexpected_error)
