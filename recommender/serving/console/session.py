"""Console sessions: a signed, expiring cookie after a key login, and a CSRF token per session.

``POST /console/login`` takes an admin key (``RECOMMENDER_ADMIN_KEYS``) or an operator key
(``RECOMMENDER_OPERATOR_KEYS``: the console only, never the /v1 API) and sets a cookie holding
the role and a random CSRF token, signed with itsdangerous (HMAC-SHA1 over the payload and its
timestamp) and refused once older than the session lifetime. The cookie is HttpOnly (no script
reads it), SameSite=Strict (no other site's page sends it) and scoped to ``/console``. Forms
that change state carry the session's CSRF token and are refused without it.

The signing secret is ``RECOMMENDER_CONSOLE_SECRET``; unset, each process makes its own, so
sessions end when the process restarts, and with several workers a cookie signed by one worker
is refused by the others (the operator is sent back to the login page at random). Set the
secret when ``RECOMMENDER_WORKERS`` is above 1.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from recommender.serving.auth import _matches

COOKIE = "console_session"
PATH = "/console"
ADMIN, OPERATOR = "admin", "operator"


@dataclass(frozen=True)
class Session:
    """A logged-in operator: their role and the session's CSRF token."""

    role: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


class Sessions:
    """Signs and checks session cookies (one per app; the secret may be generated)."""

    def __init__(self, secret: str | None, lifetime_seconds: int, *,
                 admin_keys: tuple[str, ...] = (), operator_keys: tuple[str, ...] = (),
                 secure: bool = False) -> None:
        self.generated_secret = not secret
        self._serializer = URLSafeTimedSerializer(secret or secrets.token_urlsafe(32),
                                                  salt="recommender-console-session")
        self.lifetime_seconds = lifetime_seconds
        self.admin_keys = tuple(admin_keys)
        self.operator_keys = tuple(operator_keys)
        self.secure = secure

    def role_of(self, key: str) -> str | None:
        """The role a login key grants (constant-time against every key), or None."""
        if not key:
            return None
        if self.admin_keys and _matches(key, self.admin_keys):
            return ADMIN
        if self.operator_keys and _matches(key, self.operator_keys):
            return OPERATOR
        return None

    def issue(self, role: str) -> tuple[str, Session]:
        """A new session's cookie value and the session."""
        session = Session(role=role, csrf=secrets.token_urlsafe(24))
        return self._serializer.dumps({"role": session.role, "csrf": session.csrf}), session

    def read(self, cookie: str | None) -> Session | None:
        """The session a cookie holds; None when missing, forged, altered or expired."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.lifetime_seconds)
        except (SignatureExpired, BadSignature):
            return None
        if not isinstance(data, dict) or data.get("role") not in (ADMIN, OPERATOR) \
                or not isinstance(data.get("csrf"), str):
            return None
        return Session(role=data["role"], csrf=data["csrf"])

    def cookie_options(self) -> dict[str, object]:
        return {"max_age": self.lifetime_seconds, "path": PATH, "httponly": True,
                "samesite": "strict", "secure": self.secure}


def sessions_of(request: Request) -> Sessions:
    return request.app.state.console_sessions


async def page_session(request: Request) -> Session:
    """The session of a page request; without one, a redirect to the login page (no data)."""
    session = sessions_of(request).read(request.cookies.get(COOKIE))
    if session is None:
        lang = request.query_params.get("lang")
        target = f"{PATH}/login" + (f"?lang={lang}" if lang in ("zh", "en") else "")
        raise HTTPException(status_code=303, detail="log in first",
                            headers={"Location": target, "Cache-Control": "no-store"})
    return session


async def action_session(request: Request) -> Session:
    """The session of a state-changing request; without one, 401 (nothing is done)."""
    session = sessions_of(request).read(request.cookies.get(COOKIE))
    if session is None:
        raise HTTPException(status_code=401, detail="console session missing or expired")
    return session


async def checked_action(
    session: Annotated[Session, Depends(action_session)],
    csrf: Annotated[str, Form()] = "",
) -> Session:
    """An action's session, after its form's CSRF token matched the session's (else 403)."""
    if not csrf or not secrets.compare_digest(csrf.encode(), session.csrf.encode()):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong")
    return session


PageSession = Annotated[Session, Depends(page_session)]
ActionSession = Annotated[Session, Depends(checked_action)]
