"""API keys: every route but health, readiness and metrics needs one; admin routes an admin key.

Keys come from the settings and are compared in constant time (``secrets.compare_digest``,
against every configured key, so timing says nothing about which or how much matched). A key is
never logged or echoed; a missing or wrong key is 401, a valid key without admin rights on an
admin route is 403.

The check is the OpenAPI security scheme itself (an ``APIKeyHeader`` that also checks): FastAPI
resolves one dependency per request instead of a header reader plus a checker, a saving on
every call of the hottest routes, and the OpenAPI document is the same.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from fastapi import HTTPException, Request
from fastapi.security import APIKeyHeader

HEADER = "X-API-Key"
_HEADER_LOWER = HEADER.lower()


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
        options = request.app.state.runtime.options
        if options.api_keys is None:
            return
        key = request.headers.get(_HEADER_LOWER)
        if not key or not _matches(key, tuple(options.api_keys) + tuple(options.admin_keys)):
            raise HTTPException(401, detail=f"missing or invalid {HEADER} header",
                                headers={"WWW-Authenticate": HEADER})
        if self.admin and not _matches(key, tuple(options.admin_keys)):
            raise HTTPException(403, detail="this key may not use admin endpoints")


require_key = KeyCheck(admin=False)
require_admin = KeyCheck(admin=True)
