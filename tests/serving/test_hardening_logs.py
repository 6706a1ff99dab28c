"""No request value in any log line, on any path: success, 404, 409, 413, 422 and 500, the
server's own exception logging included (an exception that left the app would be logged by
uvicorn with its whole chain; here none leaves it)."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from serving_world import ADMIN, ADMIN_KEY, API_KEY, KEY

from recommender.serving.app import create_app
from recommender.serving.bundle_source import BundleSource
from recommender.serving.runtime import ServingOptions

MARK = "Zq7-marker-do-not-log"  # unique: any log line holding it leaked a request value


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record as a handler would write it: message, arguments and traceback (chain).
    httpx's are the test client's own (the client side), not the server's."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) + repr(record.args) for record in caplog.records
                     if not record.name.startswith("httpx"))


@pytest.fixture
def app_client(database_url, bundle_dir, caplog):
    """A client that re-raises whatever escapes the app, as a server would log it."""
    caplog.set_level(logging.DEBUG)  # the root logger: every logger, uvicorn's included
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "fastapi", "starlette"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    options = ServingOptions(database_url=database_url, api_keys=(API_KEY,),
                             admin_keys=(ADMIN_KEY,), max_body_bytes=64 * 1024)
    app = create_app(options=options, source=BundleSource(path=bundle_dir))
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


PROFILE = {"group": MARK, "age_band": MARK, "region": MARK, "education_level": MARK,
           "languages": [MARK], "interests": f"想学 {MARK}", "accessibility_needs": ["captions"]}


def test_a_marker_in_every_field_never_reaches_the_log(app_client, caplog, monkeypatch):
    client = app_client
    statuses = []

    def call(method: str, path: str, **kwargs: object) -> None:
        kwargs.setdefault("headers", KEY)
        statuses.append(client.request(method, path, **kwargs).status_code)

    # success
    call("put", f"/v1/learners/{MARK}", json={**PROFILE, "group": "retiree"})
    call("get", f"/v1/learners/{MARK}/recommendations", params={"category": [MARK]})
    call("post", "/v1/recommendations/anonymous", json={"interests": MARK, "region": MARK})
    call("post", "/v1/events", json={"event_id": MARK, "learner_id": "d0",
                                     "resource_id": "r00", "event_type": "view",
                                     "timestamp": "2025-01-01T00:00:00Z"})
    call("put", f"/v1/resources/{MARK}", json={"title": MARK, "description": MARK,
                                               "category": MARK, "mode": "online"})
    # 404, 409
    call("get", f"/v1/learners/{MARK}-nobody/recommendations")
    call("get", f"/v1/resources/{MARK}-nothing/similar")
    call("post", "/v1/events", json={"event_id": MARK, "learner_id": "d0",
                                     "resource_id": "r01", "event_type": "view",
                                     "timestamp": "2025-01-01T00:00:00Z"})
    # 422: every field wrong and carrying the marker, with non-finite numbers and surrogates
    call("put", "/v1/learners/x", json={**PROFILE, "urban_rural": MARK,
                                        "accessibility_needs": [MARK], "created_at": MARK})
    call("post", "/v1/events", json={"events": [{"event_id": MARK, "learner_id": MARK,
                                                 "resource_id": MARK, "event_type": MARK,
                                                 "value": MARK, "timestamp": MARK}] * 3})
    call("post", "/v1/events", json={"event_id": MARK, "learner_id": f"{MARK}-ghost",
                                     "resource_id": "r00", "event_type": "view",
                                     "timestamp": "2025-01-01T00:00:00Z"})
    call("get", "/v1/learners/d0/recommendations", params={"k": MARK, "mode": [MARK]})
    raw = json.dumps({**PROFILE, "credit_hours_required": "@"}).replace('"@"', "NaN")
    call("put", "/v1/learners/x", content=raw.replace('"retiree"', '"\\ud800"'),
         headers={**KEY, "Content-Type": "application/json"})
    # 413
    call("put", "/v1/learners/x", json={**PROFILE, "interests": MARK * 10_000})
    # 500: the store fails with the request's values in its message and its chain
    runtime = client.app.state.runtime

    def broken(record: object) -> bool:
        try:
            raise ValueError(f"cannot store {record!r} {MARK}")
        except ValueError as cause:
            raise RuntimeError(f"upsert failed for {MARK}") from cause

    monkeypatch.setattr(runtime.store, "upsert_learner", broken)
    call("put", f"/v1/learners/{MARK}", json={**PROFILE, "group": "retiree"})
    # a reload with the admin key still works, and says nothing of the requests
    statuses.append(client.post("/v1/admin/reload", headers=ADMIN).status_code)

    assert statuses == [200, 200, 200, 201, 200, 404, 404, 409, 422, 422, 422, 422, 422, 413,
                        500, 200], statuses
    logged = everything_logged(caplog)
    assert ("unhandled RuntimeError on PUT /v1/learners/{learner_id} (raised at "
            "test_hardening_logs.py:") in logged
    assert MARK not in logged


def test_an_unexpected_error_is_answered_and_goes_no_further(app_client, monkeypatch):
    """raise_server_exceptions=True: anything that left the app would be raised here, as the
    server would see (and log) it."""
    runtime = app_client.app.state.runtime

    def broken(*args: object) -> None:
        raise KeyError(MARK)

    monkeypatch.setattr(runtime, "core", broken)
    response = app_client.get("/v1/resources/r00/similar", headers=KEY)
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; see server log"}
    assert MARK not in response.text
