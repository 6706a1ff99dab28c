"""Group commit: concurrent ingestion requests of one process share one transaction.

With durability on, every commit waits for an fsync (a few milliseconds on a disk), so one
transaction per request caps ingestion at a few hundred requests a second whatever the CPU.
A single writer thread per store instead takes every request waiting at that moment and commits
them together; each request still gets its own all-or-nothing, idempotent outcome (a conflict
in one request fails that request only) and is answered only after the commit returned.

The group is taken once the transaction has begun, i.e. after the writer got the database's
write lock: the requests that arrived while another process (worker) held it join this
commit instead of waiting for the next one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from recommender.errors import RecommenderError
from recommender.store.records import EventRecord

MAX_GROUP = 128  # requests per transaction

Existing = Callable[[Connection, list[str]], dict[str, EventRecord]]
Insert = Callable[[Connection, list[EventRecord]], None]


@dataclass
class _Pending:
    events: dict[str, EventRecord]
    future: Future = field(default_factory=Future)


class GroupCommitter:
    """Serialises a process's event writes through one thread, many requests per commit."""

    def __init__(self, transaction: Callable, existing: Existing, insert: Insert,
                 conflict: Callable[[str], RecommenderError]) -> None:
        self._transaction = transaction  # () -> context manager yielding a write Connection
        self._existing = existing
        self._insert = insert
        self._conflict = conflict
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, events: dict[str, EventRecord]) -> set[str]:
        """Store ``events`` (unique ids) with the next group; the ids stored now, or raise."""
        return self.enqueue(events).result()

    def enqueue(self, events: dict[str, EventRecord]) -> Future:
        """Queue ``events`` (unique ids) for the next group: a future of the ids stored now,
        resolved only after the commit returned (an ``async`` caller awaits it without a
        thread). Cancelled before its group is written, nothing of it is stored."""
        pending = _Pending(events)
        self._ensure_thread()
        self._queue.put(pending)
        return pending.future

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="event-writer",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            pending = self._queue.get()
            if pending.future.set_running_or_notify_cancel():  # False: its caller gave up
                self._commit([pending])

    def _join(self, group: list[_Pending]) -> None:
        """Add the requests waiting now to ``group`` (in place), up to MAX_GROUP."""
        while len(group) < MAX_GROUP:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                return
            if pending.future.set_running_or_notify_cancel():
                group.append(pending)

    def _commit(self, group: list[_Pending]) -> None:
        for attempt in range(2):  # another process inserted one of the ids meanwhile: redo
            try:
                outcomes = self._write(group)
                break
            except IntegrityError as exc:
                if attempt:
                    outcomes = [exc] * len(group)
            except RecommenderError as exc:  # the store is locked or unreachable
                outcomes = [exc] * len(group)
                break
            except BaseException as exc:  # noqa: BLE001 - hand every failure to its waiter
                outcomes = [exc] * len(group)
                break
        for pending, outcome in zip(group, outcomes):
            if isinstance(outcome, BaseException):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)

    def _write(self, group: list[_Pending]) -> list[set[str] | BaseException]:
        """One transaction for ``group`` and whatever joins it once the lock is held."""
        outcomes: list[set[str] | BaseException] = []
        with self._transaction() as connection:
            self._join(group)
            ids = list(dict.fromkeys(i for pending in group for i in pending.events))
            claimed = self._existing(connection, ids)
            rows: list[EventRecord] = []
            for pending in group:
                clash = next((i for i, record in pending.events.items()
                              if i in claimed and not claimed[i].same_payload(record)), None)
                if clash is not None:
                    outcomes.append(self._conflict(clash))
                    continue
                fresh = {i for i in pending.events if i not in claimed}
                for i in fresh:
                    claimed[i] = pending.events[i]
                    rows.append(pending.events[i])
                outcomes.append(fresh)
            if rows:
                self._insert(connection, rows)
        return outcomes
