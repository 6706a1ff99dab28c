"""The same store and API on a real PostgreSQL server (the scale-out path: one database URL).

Runs when ``RECOMMENDER_TEST_POSTGRES_URL`` names a reachable server (``.ci/postgres.sh``
installs and starts one for CI); skipped with the reason otherwise. The tables of that
database are dropped and recreated: point it at a throwaway database only.
"""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy.exc import OperationalError

from recommender.store import (
    CreditConflictError,
    CreditRecord,
    EventConflictError,
    EventRecord,
    LearnerRecord,
    Store,
    tables,
)
from serving_world import KEY, ids

URL = os.environ.get("RECOMMENDER_TEST_POSTGRES_URL")


@pytest.fixture
def pg_url() -> str:
    if not URL:
        pytest.skip("PostgreSQL test skipped: RECOMMENDER_TEST_POSTGRES_URL is not set "
                    "(.ci/postgres.sh sets it when it can start a server)")
    store = Store.from_url(URL)
    try:
        tables.metadata.drop_all(store.engine)
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL test skipped: server at RECOMMENDER_TEST_POSTGRES_URL does not "
                    f"answer ({type(exc.orig).__name__})")
    finally:
        store.dispose()
    return URL


def event(event_id, resource_id="r01", event_type="complete"):
    return {"event_id": event_id, "learner_id": "d0", "resource_id": resource_id,
            "event_type": event_type, "timestamp": "2025-03-01T08:30:00Z"}


def test_store_is_idempotent_and_durable_on_postgres(pg_url):
    store = Store.from_url(pg_url)
    store.create_schema()
    store.create_schema()  # a second worker racing at startup is harmless
    assert store.engine.dialect.name == "postgresql"
    records = EventRecord.validate_many([event("p1"), event("p2", "r04", "view")])
    assert store.add_events(records).stored == [True, True]
    assert store.add_events(records).stored == [False, False]
    with pytest.raises(EventConflictError):
        store.add_events(EventRecord.validate_many([event("p1", event_type="dismiss")]))
    assert [e.event_id for e in store.learner_events("d0")] == ["p1", "p2"]
    assert store.upsert_learner(LearnerRecord.validate({"learner_id": "n", "group": "youth"}))
    assert store.get_learner("n").profile["group"] == "youth"
    credit = CreditRecord.of("k1", "d0", 8, "社区大学", date(2025, 12, 31), "CERT-1")
    assert store.add_credit(credit) is True and store.add_credit(credit) is False
    with pytest.raises(CreditConflictError):
        store.add_credit(CreditRecord.of("k1", "d0", 9, "社区大学", date(2025, 12, 31)))
    assert store.learner_credits("d0", 2025) == [credit] and store.learner_credits("d0", 2026) == []
    assert [e.event_id for e in store.learner_completions("d0")] == ["p1"]
    store.dispose()


def test_read_your_write_across_two_workers_on_postgres(pg_url, make_client):
    with make_client(url=pg_url) as worker_a, make_client(url=pg_url) as worker_b:
        top = ids(worker_b.get("/v1/learners/d0/recommendations", headers=KEY))[0]
        assert worker_a.post("/v1/events", json=event("p9", top), headers=KEY).status_code == 201
        assert worker_a.post("/v1/events", json=event("p9", top), headers=KEY).status_code == 200
        after = worker_b.get("/v1/learners/d0/recommendations", headers=KEY).json()
        assert after["cold_start_path"] == "fold_in"
        assert top not in [item["resource_id"] for item in after["items"]]
        credits = worker_b.get("/v1/learners/d0/credits", params={"year": 2025}, headers=KEY)
        assert top in [e["id"] for e in credits.json()["entries"]]  # the completion, at once
        record = {"credit_id": "k2", "hours": 3, "source": "夜校", "earned_on": "2025-06-01"}
        for worker, status in ((worker_a, 201), (worker_b, 200)):
            assert worker.post("/v1/learners/d0/credits", json=record,
                               headers=KEY).status_code == status
        credits = worker_a.get("/v1/learners/d0/credits", params={"year": 2025}, headers=KEY)
        assert credits.json()["recognised_hours"] == 3
        new = {"title": "智能手机入门 新", "category": "digital_literacy", "mode": "online"}
        assert worker_a.put("/v1/resources/r99", json=new, headers=KEY).status_code == 200
        assert "r99" in ids(worker_b.get("/v1/learners/quiet/recommendations",
                                         params={"k": 40}, headers=KEY))
