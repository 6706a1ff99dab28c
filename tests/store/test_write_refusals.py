"""A database that refuses writes for good (read-only, full, no permission) is told apart from
one that is busy: only the busy one is worth a retry (issue 16: a read-only database answered
every write with ``Retry-After: 1``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event

from recommender.store import EventRecord, Store, StoreError, StoreRefusedError
from recommender.store.store import write_refusal
from recommender.store.engine import make_engine


def record(event_id: str) -> EventRecord:
    return EventRecord(event_id, "a", "r", "view", None, 1_700_000_000_000_000)


def _sqlite_error(connection: sqlite3.Connection, sql: str) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as caught:
        connection.execute(sql)
    return caught.value


def test_sqlite_result_codes_are_classified(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    connection.execute("PRAGMA query_only=ON")
    assert write_refusal(_sqlite_error(connection, "INSERT INTO t VALUES (1)")) == "SQLITE_READONLY"
    connection.execute("PRAGMA query_only=OFF")

    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, timeout=0.0)
    busy = _sqlite_error(waiter, "BEGIN IMMEDIATE")  # SQLITE_BUSY: another writer
    assert write_refusal(busy) is None
    holder.rollback()
    for c in (connection, holder, waiter):
        c.close()


def test_postgres_sqlstates_are_classified() -> None:
    class Fake(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    assert write_refusal(Fake("25006")) == "read_only_sql_transaction"
    assert write_refusal(Fake("53100")) == "disk_full"
    assert write_refusal(Fake("40001")) is None  # serialization failure: retry
    assert write_refusal(ValueError("no code")) is None


def test_a_read_only_database_is_refused_and_a_locked_one_is_transient(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 's.db'}")
    store.create_schema()
    read_only: list[bool] = []

    @event.listens_for(store.engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        if read_only:
            dbapi_connection.execute("PRAGMA query_only=ON")

    store.add_events([record("e1")])
    read_only.append(True)
    store.engine.dispose()
    with pytest.raises(StoreRefusedError, match="SQLITE_READONLY"):
        store.add_events([record("e2")])
    read_only.clear()
    store.engine.dispose()

    # A writer outside the store holds SQLite's lock past the busy timeout: transient.
    busy_store = Store(make_engine(f"sqlite:///{tmp_path / 's.db'}", busy_timeout_s=0.1))
    holder = sqlite3.connect(tmp_path / "s.db")
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError) as caught:
            busy_store.add_events([record("e3")])
    finally:
        holder.rollback()
        holder.close()
        busy_store.dispose()
    assert not isinstance(caught.value, StoreRefusedError)
    assert store.count_events() == 1  # e1 kept; nothing refused was stored
    store.dispose()


def test_an_unopenable_write_lock_is_refused_for_good(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 's.db'}")
    store.create_schema()
    store._write_lock.path = tmp_path / "missing-dir" / "s.db-writer.lock"
    store._write_lock.close()
    with pytest.raises(StoreRefusedError, match="write lock"):
        store.add_events([record("e1")])
    store.dispose()
