"""API keys: every route but health, readiness and metrics needs one; admin routes an admin key.

Keys come from the settings and are compared in constant time (``secrets.compare_digest``,
against every configured key, so timing says nothing about which or how much matched). A key is
never logged or echoed; a missing or wrong key is 401, a valid key without admin rights on an
admin route is 403.

The check runs first, in :class:`KeyGate` (pure ASGI, outside FastAPI): every ``/v1`` route is
refused from its headers alone, before anything reads or parses the body, so a request without
a valid key costs a worker nothing whatever it sends. The routes' dependency (:class:`KeyCheck`)
is the OpenAPI security scheme; it checks again only what the gate did not see.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from fastapi import HTTPException, Request
from fastapi.security import APIKeyHeader
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = "X-API-Key"
_HEADER_LOWER = HEADER.lower()
KEYED_PREFIX = "/v1/"  # every route under it needs a key ...
ADMIN_PREFIX = "/v1/admin/"  # ... and these an admin key
_CHECKED = "recommender.key_checked"  # in the scope: what the gate checked ("key" or "admin")


@lru_cache(maxsize=16)
def _encoded(keys: tuple[str, ...]) -> tuple[bytes, ...]:
    """The configured keys as bytes, once per key set (not per request)."""
    return tuple(key.encode("utf-8", "surrogatepass") for key in keys)


def _matches(candidate: str, keys: tuple[str, ...]) -> bool:
    given = candidate.encode("utf-8", "surrogatepass")
    found = False
    for key in _encoded(keys):
        found |= secrets.compare_digest(given, key)
    return found


def refusal(key: str | None, api_keys: tuple[str, ...] | None, admin_keys: tuple[str, ...],
            *, admin: bool) -> HTTPException | None:
    """Why ``key`` may not call a route (401 missing or wrong, 403 not an admin key), or None.

    ``api_keys`` None = in-process use: open. With keys configured but none for admins, admin
    routes are closed."""
    if api_keys is None:
        return None
    if not key or not _matches(key, tuple(api_keys) + tuple(admin_keys)):
        return HTTPException(401, detail=f"missing or invalid {HEADER} header",
                             headers={"WWW-Authenticate": HEADER})
    if admin and not _matches(key, tuple(admin_keys)):
        return HTTPException(403, detail="this key may not use admin endpoints")
    return None


class KeyGate:
    """Pure ASGI: the key of every ``/v1`` request is checked from its headers before the app
    runs, so a refused request is answered (401/403) without its body ever being read."""

    def __init__(self, app: ASGIApp, api_keys: tuple[str, ...] | None,
                 admin_keys: tuple[str, ...] = ()) -> None:
        self.app = app
        self.api_keys = api_keys
        self.admin_keys = admin_keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(KEYED_PREFIX):
            await self.app(scope, receive, send)
            return
        admin = path.startswith(ADMIN_PREFIX)
        error = refusal(Headers(scope=scope).get(_HEADER_LOWER), self.api_keys, self.admin_keys,
                        admin=admin)
        if error is not None:
            response = JSONResponse({"detail": error.detail}, status_code=error.status_code,
                                    headers=error.headers)
            await response(scope, receive, send)
            return
        scope[_CHECKED] = "admin" if admin else "key"
        await self.app(scope, receive, send)


class KeyCheck(APIKeyHeader):
    """The ``X-API-Key`` header: documented as the API's security scheme, and checked.

    ``admin`` False: any configured key (platform or admin); True: an admin key (with keys
    configured but none for admins, admin routes are closed). No keys configured = in-process
    use: open."""

    def __init__(self, *, admin: bool) -> None:
        super().__init__(name=HEADER, auto_error=False, scheme_name="APIKeyHeader",
                         description="The key the platform was given")
        self.admin = admin

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        checked = request.scope.get(_CHECKED)
        if checked == "admin" or (checked == "key" and not self.admin):
            return  # the gate has checked this much already
        options = request.app.state.runtime.options
        error = refusal(request.headers.get(_HEADER_LOWER), options.api_keys,
                        options.admin_keys, admin=self.admin)
        if error is not None:
            raise error


require_key = KeyCheck(admin=False)
require_admin = KeyCheck(admin=True)
