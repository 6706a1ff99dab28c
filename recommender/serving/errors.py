"""The one place where errors become HTTP statuses.

Unknown id -> 404, bad value -> 422 (naming the field), an event or credit id reused for
another record -> 409, no model loaded or the database busy -> 503, anything unexpected -> 500
with a plain message: a caller never sees a traceback, and the log never sees the request's
values.

Request validation (FastAPI's :class:`RequestValidationError`) answers 422 in FastAPI's own
shape (``{"detail": [{"loc", "msg", "type", "input"}]}``), but bounded: at most
:data:`MAX_PROBLEMS` problems and :data:`MAX_DETAIL_CHARS` characters, and ``input`` only a
short excerpt (a bounded ``repr``), so a non-finite number, a lone surrogate or a megabyte of
input is answered in a few kB and never breaks the JSON encoder.

Only a busy or unreachable database (:class:`StoreError`) is transient and carries
``Retry-After``; a database that refuses writes for good (:class:`StoreRefusedError`: read-only,
full, no permission) is a 503 without it, as are the other errors, which are answered the same on
a retry.
"""

from __future__ import annotations

import logging
import reprlib
import traceback
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recommender.errors import (
    BundleError,
    DataValidationError,
    InvalidParameterError,
    ModelNotLoadedError,
    RecommenderError,
    UnknownIdError,
)
from recommender.store import (
    CreditConflictError,
    EventConflictError,
    StoreError,
    StoreRefusedError,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[RecommenderError], int], ...] = (
    (UnknownIdError, 404),
    (InvalidParameterError, 422),
    (DataValidationError, 422),
    (EventConflictError, 409),
    (CreditConflictError, 409),
    (ModelNotLoadedError, 503),
    (BundleError, 503),
    (StoreError, 503),
)
PERMANENT: tuple[type[RecommenderError], ...] = (StoreRefusedError,)  # same answer on a retry


def is_transient(error: RecommenderError) -> bool:
    """Worth a retry (``Retry-After``): a busy or unreachable database, not one that refuses
    writes until an operator acts."""
    return isinstance(error, StoreError) and not isinstance(error, PERMANENT)
INTERNAL_ERROR = {"detail": "internal error; see server log"}

MAX_PROBLEMS = 20  # validation problems listed in one 422
MAX_DETAIL_CHARS = 4000  # about the largest 422 body (characters of the listed problems)
EXCERPT_CHARS = 40  # of the input echoed per problem
_MAX_LOC = 8  # parts of a location shown
_MAX_LOC_PART = 40  # characters of one location part (an unknown key is the client's text)
_MAX_MESSAGE = 200

_excerpts = reprlib.Repr()  # repr that never walks a whole batch or string
_excerpts.maxlevel = 2
_excerpts.maxdict = _excerpts.maxlist = _excerpts.maxtuple = 3
_excerpts.maxstring = _excerpts.maxother = _excerpts.maxlong = EXCERPT_CHARS


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
        for problem in error.problems[:MAX_PROBLEMS]:
            if problem.source == "request":
                where = problem.column
                if problem.table == "events" and problem.row is not None:
                    where = f"events[{problem.row - 1}].{problem.column}"
                parts.append(f"{where}: {problem.message}")
            else:
                parts.append(str(problem))
        return _safe("; ".join(parts) or str(error), MAX_DETAIL_CHARS)
    return _safe(str(error), MAX_DETAIL_CHARS)


def _safe(text: str, limit: int) -> str:
    """At most ``limit`` characters, encodable as UTF-8 (a lone surrogate becomes ``\\ud800``)."""
    if len(text) > limit:
        text = text[:limit - 1] + "\u2026"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def excerpt(value: object) -> str:
    """A short, printable excerpt of an input value: its bounded ``repr``."""
    try:
        text = _excerpts.repr(value)
    except ValueError:  # an int too long to print (int_max_str_digits)
        text = f"<{type(value).__name__}>"
    return _safe(text, EXCERPT_CHARS)


def validation_problems(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's validation errors, bounded: the first problems in FastAPI's shape, each with
    a short excerpt of its input; a last entry says how many more were left out."""
    problems: list[dict[str, Any]] = []
    size = 0
    errors = list(errors)
    for error in errors:
        loc = [part if isinstance(part, int) else _safe(str(part), _MAX_LOC_PART)
               for part in tuple(error.get("loc", ()))[:_MAX_LOC]]
        problem = {"loc": loc, "msg": _safe(str(error.get("msg", "")), _MAX_MESSAGE),
                   "type": _safe(str(error.get("type", "")), _MAX_LOC_PART)}
        if "input" in error:
            problem["input"] = excerpt(error["input"])
        size += sum(len(str(v)) for v in problem.values())
        if len(problems) == MAX_PROBLEMS or size > MAX_DETAIL_CHARS:
            break
        problems.append(problem)
    if len(problems) < len(errors):
        problems.append({"loc": [], "type": "too_many_errors",
                         "msg": f"{len(errors) - len(problems)} more problems not shown"})
    return problems


async def _request_validation_error(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, RequestValidationError):  # registered for it only
        return await _unexpected_error(request, error)
    return JSONResponse(status_code=422, content={"detail": validation_problems(error.errors())})


_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


async def _http_error(request: Request, error: Exception) -> Any:
    """Starlette's own answers (404 no route, 405 wrong method) as FastAPI gives them, except
    that a 405 lists every method of the path in ``Allow``: Starlette names only those of the
    first route that matched, and a path served by two routes (GET and POST) has more."""
    if not isinstance(error, StarletteHTTPException):  # registered for it only
        return await _unexpected_error(request, error)
    if error.status_code == 405:
        scope = request.scope
        methods = [method for method in _METHODS
                   if any(route.matches({**scope, "method": method})[0] is Match.FULL
                          for route in request.app.router.routes)]
        if methods:
            error = StarletteHTTPException(405, error.detail,
                                           headers={"Allow": ", ".join(methods)})
    return await http_exception_handler(request, error)


async def _recommender_error(request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, RecommenderError):  # registered for RecommenderError only
        return await _unexpected_error(request, error)
    status = status_for(error)
    headers = {"Retry-After": "1"} if is_transient(error) else None
    return JSONResponse(status_code=status, content={"detail": message_for(error)},
                        headers=headers)


def _log_unexpected(scope: Scope, error: BaseException) -> None:
    """Type, route and the code location that raised: never the message or its chain, which
    could quote request values (learner attributes)."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    log.error("unhandled %s on %s %s (raised at %s)", type(error).__name__,
              scope.get("method", "?"), getattr(scope.get("route"), "path", "?"), where)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    _log_unexpected(request.scope, error)
    return JSONResponse(status_code=500, content=INTERNAL_ERROR)


class UnexpectedErrors:
    """Pure ASGI: an exception that escapes the app's handlers ends here as a 500 and one log
    line (type and route), and goes no further. Starlette's ``ServerErrorMiddleware`` would
    re-raise it to the server, which logs the whole chain: a failed validation's inputs
    included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:  # noqa: BLE001 - the last stop before the server
            _log_unexpected(scope, error)
            if not started:
                await JSONResponse(status_code=500, content=INTERNAL_ERROR)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """The handlers (the app adds :class:`UnexpectedErrors` among its middleware).

    ``Exception`` stays registered for what fails outside that middleware: Starlette answers
    it with this handler's body (and still re-raises it to the server)."""
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RecommenderError, _recommender_error)
    app.add_exception_handler(Exception, _unexpected_error)
