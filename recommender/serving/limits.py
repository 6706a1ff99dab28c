"""The request body size limit, enforced while the body is read (pure ASGI).

A ``Content-Length`` over the limit is refused at once, before a byte is read; a body without
one (chunked) is counted message by message and refused as soon as it passes the limit. Either
way the answer is 413 ``{"detail": ...}`` and the worker has held at most the limit (plus one
message) of it. FastAPI's own ``max_body_size`` answers a too-large ``Content-Length`` in plain
text, outside the API's error shape; hence this middleware.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the limit: FastAPI lets an
    :class:`HTTPException` out of its body reading, and its handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"request body larger than {limit} bytes")


class BodyLimit:
    """413 for a body larger than ``max_body_bytes``, decided while reading."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(BodyTooLarge(limit), scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, sending)
        except BodyTooLarge as error:  # read where no exception handler sees it
            if started:
                raise
            await _refuse(error, scope, receive, send)


async def _refuse(error: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"detail": error.detail}, status_code=error.status_code,
                            headers={"Connection": "close"})
    await response(scope, receive, send)
