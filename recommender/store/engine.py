"""One engine per database URL, with SQLite made durable and safe for several processes.

SQLite: WAL (readers never block the writer), ``synchronous=FULL`` (every commit is fsynced
before it returns, so an acknowledged event survives a power cut or kill -9), a busy timeout
(writers from several workers queue instead of failing) and ``BEGIN IMMEDIATE`` for write
transactions (a read-then-write transaction cannot lose the race to upgrade its lock).
PostgreSQL commits durably by default (``synchronous_commit=on``).

Writers to one SQLite file also take :class:`WriteLock` first: a writer that finds the database
locked then sleeps in the kernel until the holder is done, instead of polling in SQLite's busy
handler, which backs off up to 100 ms a try and lets one busy process starve another's writes.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from recommender.errors import ConfigError, RecommenderError

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


class WriteLockError(RecommenderError):
    """The write lock beside a SQLite file cannot be opened (a read-only directory)."""


class WriteLock:
    """One writer at a time per SQLite file, across the threads and processes of a machine:
    a thread lock, then ``flock`` on ``<database>-writer.lock`` (its own file: SQLite's
    POSIX locks on the database would be dropped when any descriptor of it closes). An
    in-memory SQLite database (one connection shared by every thread) takes only the thread
    lock; PostgreSQL, which runs concurrent writers itself, takes none."""

    def __init__(self, path: Path | None, *, serialise: bool = True) -> None:
        self.path = path
        self.serialise = serialise
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @classmethod
    def for_engine(cls, engine: Engine) -> WriteLock:
        url = engine.url
        if url.get_backend_name() != "sqlite":
            return cls(None, serialise=False)
        if url.database in (None, "", ":memory:"):
            return cls(None)
        return cls(Path(f"{url.database}-writer.lock"))

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Wait for the lock (sleeping, not polling) and hold it for the block."""
        if not self.serialise:
            yield
            return
        with self._thread_lock:
            if self.path is None:
                yield
                return
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child needs its own
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise WriteLockError(
                    f"the write lock {self.path} cannot be opened: {exc.strerror}") from None
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        with self._thread_lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None
