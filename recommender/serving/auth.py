"""API keys: every route but health, readiness and metrics needs one; admin routes an admin key.

Keys come from the settings and are compared in constant time (``secrets.compare_digest``,
against every configured key, so timing says nothing about which or how much matched). A key is
never logged or echoed; a missing or wrong key is 401, a valid key without admin rights on an
admin route is 403.
"""

from __future__ import annotations

import secrets

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

HEADER = "X-API-Key"
api_key_header = APIKeyHeader(name=HEADER, auto_error=False,
                              description="The key the platform was given")


def _matches(candidate: str, keys: tuple[str, ...]) -> bool:
    given = candidate.encode("utf-8", "surrogatepass")
    found = False
    for key in keys:
        found |= secrets.compare_digest(given, key.encode("utf-8", "surrogatepass"))
    return found


def _options(request: Request):  # noqa: ANN202 - ServingOptions (imported lazily: no cycle)
    return request.app.state.runtime.options


async def require_key(request: Request, key: str | None = Security(api_key_header)) -> None:
    """Any configured key (platform or admin); no keys configured = in-process use, open."""
    options = _options(request)
    if options.api_keys is None:
        return
    if not key or not _matches(key, tuple(options.api_keys) + tuple(options.admin_keys)):
        raise HTTPException(401, detail=f"missing or invalid {HEADER} header",
                            headers={"WWW-Authenticate": HEADER})


async def require_admin(request: Request, key: str | None = Security(api_key_header),
                  _: None = Depends(require_key)) -> None:
    """An admin key; with keys configured but none for admins, admin routes are closed."""
    options = _options(request)
    if options.api_keys is None:
        return
    if not key or not _matches(key, tuple(options.admin_keys)):
        raise HTTPException(403, detail="this key may not use admin endpoints")
