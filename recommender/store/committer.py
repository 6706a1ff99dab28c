"""Group commit: concurrent ingestion requests of one process share one transaction.

With durability on, every commit waits for an fsync (a few milliseconds on a disk), so one
transaction per request caps ingestion at a few hundred requests a second whatever the CPU.
A single writer thread per store instead takes every request waiting at that moment and commits
them together; each request still gets its own all-or-nothing, idempotent outcome (a conflict
in one request fails that request only) and is answered only after the commit returned.

The group is taken once the transaction has begun, i.e. after the writer got the database's
write lock: the requests that arrived while another process (worker) held it join this
commit instead of waiting for the next one.

A group is first written optimistically: every event inserted with "do nothing if the id is
stored", one statement; if each one went in (no retry, no duplicate: the usual case) that is
the outcome. Otherwise the transaction is rolled back and the group written the careful way
(read which ids are stored, compare payloads, insert the rest): the stored-id read cost more
than the insert itself on every commit.

An ``async`` request waits on an asyncio future of its own loop; after a commit the writer
wakes each loop once for the whole group (one ``call_soon_threadsafe``), not once per request:
at a few hundred bytes of work per event, per-request wake-ups of the loop were a tenth of an
event's server CPU.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from recommender.errors import RecommenderError
from recommender.store.records import EventRecord

MAX_GROUP = 128  # requests per transaction

Existing = Callable[[Connection, list[str]], dict[str, EventRecord]]
Insert = Callable[[Connection, list[EventRecord]], None]
InsertNew = Callable[[Connection, list[EventRecord]], int]  # rows that went in, -1: unknown


Outcome = set[str] | BaseException


@dataclass
class _Pending:
    """One request's events and where its outcome goes: a thread's future (``loop`` None) or
    an asyncio future of ``loop``."""

    events: dict[str, EventRecord]
    future: Future | asyncio.Future
    loop: asyncio.AbstractEventLoop | None = None

    def claim(self) -> bool:
        """Whether to write it (False: its caller gave up before its group was written)."""
        if self.loop is None:
            return self.future.set_running_or_notify_cancel()  # type: ignore[union-attr]
        return not self.future.cancelled()


def _settle(future: Future | asyncio.Future, outcome: Outcome) -> None:
    if future.done():  # an asyncio caller cancelled while its group was being written
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _settle_all(settled: list[tuple[asyncio.Future, Outcome]]) -> None:
    for future, outcome in settled:
        _settle(future, outcome)


class _Repeated(Exception):
    """The optimistic insert met a stored id: the group is written again the careful way."""


class GroupCommitter:
    """Serialises a process's event writes through one thread, many requests per commit."""

    def __init__(self, transaction: Callable, existing: Existing, insert: Insert,
                 conflict: Callable[[str], RecommenderError],
                 insert_new: InsertNew | None = None) -> None:
        self._transaction = transaction  # () -> context manager yielding a write Connection
        self._existing = existing
        self._insert = insert
        self._insert_new = insert_new  # None: the careful way only
        self._conflict = conflict
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, events: dict[str, EventRecord]) -> set[str]:
        """Store ``events`` (unique ids) with the next group; the ids stored now, or raise."""
        future: Future = Future()
        self._put(_Pending(events, future))
        return future.result()

    async def submit_async(self, events: dict[str, EventRecord]) -> set[str]:
        """:meth:`submit` for the event loop: awaits the group's commit without a thread.
        Cancelled before its group is written, nothing of it is stored."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._put(_Pending(events, future, loop))
        return await future

    def _put(self, pending: _Pending) -> None:
        self._ensure_thread()
        self._queue.put(pending)

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
            if pending.claim():
                self._commit([pending])

    def _join(self, group: list[_Pending]) -> None:
        """Add the requests waiting now to ``group`` (in place), up to MAX_GROUP."""
        while len(group) < MAX_GROUP:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                return
            if pending.claim():
                group.append(pending)

    def _commit(self, group: list[_Pending]) -> None:
        optimistic, retried = self._insert_new is not None, False
        while True:
            try:
                outcomes = self._write(group, optimistic)
            except _Repeated:
                optimistic = False
                continue
            except IntegrityError as exc:  # another process inserted one of the ids meanwhile
                if not retried:
                    retried = True
                    continue
                outcomes = [exc] * len(group)
            except RecommenderError as exc:  # the store is locked or unreachable
                outcomes = [exc] * len(group)
            except BaseException as exc:  # noqa: BLE001 - hand every failure to its waiter
                outcomes = [exc] * len(group)
            break
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Outcome]]] = {}
        for pending, outcome in zip(group, outcomes):
            if pending.loop is None:
                _settle(pending.future, outcome)
            else:
                by_loop.setdefault(pending.loop, []).append((pending.future, outcome))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle_all, settled)
            except RuntimeError:  # the loop closed meanwhile: nobody waits for these
                pass

    def _write(self, group: list[_Pending], optimistic: bool) -> list[Outcome]:
        """One transaction for ``group`` and whatever joins it once the lock is held."""
        outcomes: list[Outcome] = []
        with self._transaction() as connection:
            self._join(group)
            if optimistic:
                rows = [record for pending in group for record in pending.events.values()]
                if (len({record.event_id for record in rows}) == len(rows)
                        and self._insert_new(connection, rows) == len(rows)):  # type: ignore[misc]
                    return [set(pending.events) for pending in group]
                raise _Repeated  # leaving the block rolls the transaction back
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
