"""One engine per database URL, with SQLite made durable and safe for several processes.

SQLite: WAL (readers never block the writer), ``synchronous=FULL`` (every commit is fsynced
before it returns, so an acknowledged event survives a power cut or kill -9), a busy timeout
(writers from several workers queue instead of failing) and ``BEGIN IMMEDIATE`` for write
transactions (a read-then-write transaction cannot lose the race to upgrade its lock).
PostgreSQL commits durably by default (``synchronous_commit=on``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from recommender.errors import ConfigError

WRITE = {"store_write": True}  # execution option: this transaction will write


def make_engine(url: str, *, busy_timeout_s: float = 30.0) -> Engine:
    """An engine for ``url`` (``sqlite:///path.db``, ``sqlite://`` in memory, or
    ``postgresql+psycopg://...``)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # never echo the URL: it may hold a password
        raise ConfigError(f"database URL cannot be parsed: {type(exc).__name__}") from None
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, pool_size=4, max_overflow=4)
    options: dict[str, Any] = {"connect_args": {"timeout": busy_timeout_s,
                                                "check_same_thread": False}}
    if parsed.database in (None, "", ":memory:"):
        options["poolclass"] = StaticPool  # one shared in-memory database
    engine = create_engine(parsed, **options)
    _make_sqlite_durable(engine, in_memory="poolclass" in options)
    return engine


def _make_sqlite_durable(engine: Engine, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get("store_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
