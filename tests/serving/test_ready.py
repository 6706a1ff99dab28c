"""/ready says whether the worker can do its job, writes included: a database that answers
reads but refuses every write is not ready (issue 16: /ready said ready while every write got
503)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import event

from recommender.serving.app import create_app
from recommender.serving.bundle_source import BundleSource
from recommender.serving.runtime import ServingOptions
from recommender.store import Store
from recommender.store.engine import make_engine
from serving_world import ADMIN_KEY, API_KEY, KEY

LEARNER = {"group": "retiree", "region": "R1", "interests": "想学智能手机"}


def _store_turning_read_only(database_url: str) -> tuple[Store, Callable[[], None]]:
    """A store and a switch that makes its database refuse writes from then on, as a file or
    volume remounted read-only would (``query_only`` on every new connection; chmod cannot
    do it for a test running as root)."""
    engine = make_engine(database_url)
    read_only = []

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        if read_only:
            dbapi_connection.execute("PRAGMA query_only=ON")

    def turn() -> None:
        read_only.append(True)
        engine.dispose()  # pooled connections go; every new one is read-only

    return Store(engine), turn


def test_ready_is_503_naming_the_store_when_it_refuses_writes(make_client, database_url,
                                                              bundle_dir: Path):
    store, turn_read_only = _store_turning_read_only(database_url)
    options = ServingOptions(database_url=database_url, api_keys=(API_KEY,),
                             admin_keys=(ADMIN_KEY,), poll_seconds=0.0)
    app = create_app(options=options, source=BundleSource(path=bundle_dir), store=store)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/ready").json() == {
                "ready": True, "detail": "ok", "bundle_version": "als-serving-1"}
            turn_read_only()
            store._write_probe = None  # not the answer of a moment ago
            ready = client.get("/ready")
            assert ready.status_code == 503
            body = ready.json()
            assert body["ready"] is False and body["bundle_version"] == "als-serving-1"
            assert body["detail"].startswith("the store does not accept writes")
            assert "readonly" in body["detail"]
            # what /ready now predicts: the writes themselves are refused
            put = client.put("/v1/learners/newcomer", json=LEARNER, headers=KEY)
            assert put.status_code == 503
            assert "SQLITE_READONLY" in put.json()["detail"]
            assert "Retry-After" not in put.headers  # a retry gets the same answer
            events = client.post("/v1/events", json={"events": [{
                "event_id": "ro-1", "learner_id": "d0", "resource_id": "r01",
                "event_type": "complete", "timestamp": "2025-03-01T08:30:00Z"}]}, headers=KEY)
            assert events.status_code == 503 and "Retry-After" not in events.headers
            assert client.get("/v1/learners/d0/recommendations", headers=KEY).status_code == 200
    finally:
        store.dispose()


def test_the_write_probe_commits_nothing_and_is_rate_limited(database_url, monkeypatch):
    store = Store.from_url(database_url)
    try:
        store.create_schema()
        assert store.write_problem(max_age_s=0.0) is None
        assert store.get_state("write_probe") is None  # rolled back
        probes = []
        monkeypatch.setattr(store, "_probe_write", lambda: probes.append(1) or "refused")
        assert store.write_problem() is None  # the answer of a moment ago
        assert probes == []
        assert store.write_problem(max_age_s=0.0) == "refused" and probes == [1]
    finally:
        store.dispose()
