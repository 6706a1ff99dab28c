"""Console sessions: pages redirect and actions answer 401 without a valid session cookie
(missing, forged, altered, expired), with no data; state-changing forms need the session's
CSRF token."""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from console_world import OPERATOR_KEY, SECRET, log_in
from recommender.serving.console.session import COOKIE, Sessions
from serving_world import ADMIN_KEY, API_KEY

PAGES = ["/console", "/console/learners", "/console/learners/d1", "/console/equity",
         "/console/catalog", "/console/models", "/console/experiments"]


def test_every_page_redirects_to_the_login_without_a_session(console_client) -> None:
    for path in PAGES:
        answer = console_client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/login")
        assert "d1" not in answer.text and "r0" not in answer.text  # no data


def test_actions_answer_401_without_a_session(console_client) -> None:
    for path in ("/console/models/promote", "/console/logout"):
        answer = console_client.post(path, data={"csrf": "x", "version": "1", "alias": "p"})
        assert answer.status_code == 401, path


def test_login_sets_a_strict_httponly_cookie_that_expires(console_client) -> None:
    assert console_client.post("/console/login", data={"key": API_KEY}).status_code == 401
    assert console_client.post("/console/login", data={"key": ""}).status_code == 401
    answer = console_client.post("/console/login", data={"key": OPERATOR_KEY})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    for part in ("httponly", "samesite=strict", "path=/console", "max-age=28800"):
        assert part in cookie
    assert console_client.get("/console/learners").status_code == 200


def test_a_forged_or_altered_cookie_is_refused(console_client) -> None:
    forged = URLSafeTimedSerializer("another-secret", salt="recommender-console-session")
    console_client.cookies.set(COOKIE, forged.dumps({"role": "admin", "csrf": "x"}),
                               path="/console")
    assert console_client.get("/console").status_code == 303
    console_client.cookies.clear()
    log_in(console_client)
    good = console_client.cookies.get(COOKIE)
    console_client.cookies.clear()
    console_client.cookies.set(COOKIE, good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
                               path="/console")
    assert console_client.get("/console").status_code == 303


def test_an_expired_session_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = Sessions(SECRET, lifetime_seconds=60, admin_keys=(ADMIN_KEY,))
    cookie, session = sessions.issue("admin")
    assert sessions.read(cookie) == session
    now = int(time.time())
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now - 120)
    old, _ = sessions.issue("admin")  # signed two minutes ago, for a one-minute session
    monkeypatch.undo()
    assert sessions.read(old) is None
    assert sessions.read(None) is None and sessions.read("garbage") is None


@pytest.mark.parametrize("csrf", [None, "", "wrong-token"])
def test_a_state_changing_form_without_the_right_csrf_token_is_refused(console_client,
                                                                       csrf) -> None:
    log_in(console_client)
    data = {"version": "1", "alias": "production"}
    if csrf is not None:
        data["csrf"] = csrf
    assert console_client.post("/console/models/promote", data=data).status_code == 403
    assert console_client.post("/console/logout",
                               data={} if csrf is None else {"csrf": csrf}).status_code == 403


def test_logout_with_the_token_ends_the_session(console_client) -> None:
    token = log_in(console_client)
    answer = console_client.post("/console/logout", data={"csrf": token})
    assert answer.status_code == 303
    assert console_client.get("/console").status_code == 303
