"""Group commit: concurrent requests share one transaction (one fsync) yet keep their own
outcomes, writers in several processes queue on the write lock instead of SQLite's busy
polling, and nothing acknowledged is lost to a kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from recommender.store import EventConflictError, EventRecord, Store


def record(event_id: str, event_type: str = "view", learner: str = "a") -> EventRecord:
    return EventRecord(event_id, learner, "r", event_type, None, 1_700_000_000_000_000)


def count_transactions(store: Store) -> list[int]:
    """Wrap the committer's transaction: one entry per transaction it commits (a rolled-back
    one writes nothing and waits for no fsync)."""
    opened: list[int] = []
    original = store._committer._transaction

    @contextmanager
    def counted():  # noqa: ANN202
        with original() as connection:
            yield connection
        opened.append(1)

    store._committer._transaction = counted
    return opened


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 's.db'}"


def test_requests_queued_behind_another_writer_share_one_transaction(url: str) -> None:
    """While another worker holds the write lock, 40 requests queue; they are then written in
    one transaction, and the one whose event id clashes fails alone (409) while a duplicate is
    acknowledged as such and the rest are stored."""
    store, other = Store.from_url(url), Store.from_url(url)  # two workers on one file
    store.create_schema()
    store.add_events([record("clash"), record("seen")])
    opened = count_transactions(store)
    requests = {f"req{i}": [record(f"e{i}")] for i in range(40)}
    requests["req7"] = [record("clash", "dismiss"), record("fresh-in-409")]  # conflicts
    requests["req8"] = [record("seen"), record("e8")]  # a duplicate and a new one
    outcomes: dict[str, object] = {}

    def send(name: str) -> None:
        try:
            outcomes[name] = store.add_events(requests[name]).stored
        except EventConflictError as error:
            outcomes[name] = error

    with other._writing():  # the other worker's transaction: everyone here waits on the lock
        threads = [threading.Thread(target=send, args=(name,)) for name in requests]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while store._committer._queue.qsize() < len(requests) - 1:  # one is at the lock
            assert time.monotonic() < deadline, "requests did not queue"
            time.sleep(0.01)
        assert outcomes == {}  # nothing acknowledged before its commit
    for thread in threads:
        thread.join(10)

    assert len(opened) == 1  # every request in one transaction, one fsync
    assert isinstance(outcomes["req7"], EventConflictError)
    assert outcomes["req7"].event_id == "clash"
    assert outcomes["req8"] == [False, True]
    assert all(outcomes[f"req{i}"] == [True] for i in range(40) if i not in (7, 8))
    reader = Store.from_url(url)
    assert reader.get_event("fresh-in-409") is None  # the failed request stored nothing
    assert reader.get_event("clash").event_type == "view"
    assert reader.count_events() == 2 + 39
    for each in (store, other, reader):
        each.dispose()


def test_a_group_of_new_events_is_one_insert_and_a_repeated_id_is_written_again_carefully(
        url: str) -> None:
    """New ids only: one optimistic insert, no read of stored ids. A stored id in the group:
    that insert is rolled back (nothing of it kept) and the group written the careful way."""
    store = Store.from_url(url)
    store.create_schema()
    reads: list[list[str]] = []
    existing = store._committer._existing
    store._committer._existing = lambda connection, ids: reads.append(ids) or existing(
        connection, ids)
    assert store.add_events([record("n1"), record("n2")]).stored == [True, True]
    assert reads == []  # the optimistic insert took them
    result = store.add_events([record("n3"), record("n1"), record("n4")])
    assert result.stored == [True, False, True] and reads == [["n3", "n1", "n4"]]
    assert store.count_events() == 4
    with pytest.raises(EventConflictError):
        store.add_events([record("n5"), record("n2", "dismiss")])
    assert store.get_event("n5") is None and store.count_events() == 4
    store.dispose()


def test_concurrent_writers_of_two_workers_are_durable_and_acknowledged_once(url: str) -> None:
    """64 writers over two stores (workers) on one file, each event sent twice: every event
    is stored exactly once, and each is acknowledged as stored exactly once."""
    workers = [Store.from_url(url), Store.from_url(url)]
    workers[0].create_schema()
    transactions = [count_transactions(worker) for worker in workers]

    def send(i: int) -> list[tuple[str, bool]]:
        worker = workers[i % 2]
        acks = []
        for n in range(20):
            result = worker.add_events([record(f"w{i}-{n}", learner=f"l{i}")])
            acks.extend(zip(result.event_ids, result.stored))
        for n in range(20):  # sent again (a client's retry), maybe through the other worker
            result = workers[(i + n) % 2].add_events([record(f"w{i}-{n}", learner=f"l{i}")])
            acks.extend(zip(result.event_ids, result.stored))
        return acks

    with ThreadPoolExecutor(64) as pool:
        acks = [ack for batch in pool.map(send, range(64)) for ack in batch]
    stored = [event_id for event_id, fresh in acks if fresh]
    assert len(acks) == 64 * 40
    assert sorted(stored) == sorted(f"w{i}-{n}" for i in range(64) for n in range(20))
    reader = Store.from_url(url)
    assert reader.count_events() == 64 * 20
    assert sorted(e.event_id for e in reader.learner_events("l5")) == sorted(
        f"w5-{n}" for n in range(20))
    assert sum(len(t) for t in transactions) < len(acks)  # commits were shared
    for each in (*workers, reader):
        each.dispose()


def test_async_requests_share_commits_and_fail_alone(url: str) -> None:
    """The event loop's path: 50 coroutines awaiting the committer, one of them clashing."""
    store = Store.from_url(url)
    store.create_schema()
    store.add_events([record("clash")])
    opened = count_transactions(store)

    async def main() -> list[object]:
        requests = [store.add_events_async([record(f"e{i}")]) for i in range(49)]
        requests.append(store.add_events_async([record("clash", "dismiss")]))
        return await asyncio.gather(*requests, return_exceptions=True)

    outcomes = asyncio.run(main())
    assert all(o.stored == [True] for o in outcomes[:49])
    assert isinstance(outcomes[49], EventConflictError)
    assert len(opened) < 50
    assert store.count_events() == 50
    store.dispose()


INGEST = """
import sys, threading
from recommender.store import EventRecord, Store
store = Store.from_url(sys.argv[1])
store.create_schema()
lock = threading.Lock()
def run(worker):
    n = 0
    while True:
        event_id = f"k{worker}-{n}"
        store.add_events([EventRecord(event_id, "a", "r", "view", None, 1_700_000_000_000_000)])
        with lock:
            print(event_id, flush=True)  # acknowledged
        n += 1
for worker in range(16):
    threading.Thread(target=run, args=(worker,), daemon=True).start()
threading.Event().wait()
"""


def test_kill_9_loses_no_acknowledged_event(url: str) -> None:
    """A writer process killed mid-stream: every event it acknowledged is in the database."""
    process = subprocess.Popen([sys.executable, "-c", INGEST, url], stdout=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    acked: list[str] = []
    reader = threading.Thread(target=lambda: acked.extend(line.strip() for line in
                                                          process.stdout))
    reader.start()
    deadline = time.monotonic() + 30
    while len(acked) < 300 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    reader.join(10)
    assert len(acked) >= 300, "the writer acknowledged too little before the kill"
    store = Store.from_url(url)
    assert store.existing_event_ids(acked) == set(acked)
    store.dispose()


def test_the_write_lock_is_per_file_and_left_to_postgresql(tmp_path: Path) -> None:
    """SQLite files: a lock file beside the database, taken across stores (workers);
    in-memory SQLite: the thread lock only; PostgreSQL serialises nothing here."""
    from recommender.store.engine import WriteLock, make_engine

    file_lock = WriteLock.for_engine(make_engine(f"sqlite:///{tmp_path / 's.db'}"))
    assert file_lock.path == Path(f"{tmp_path / 's.db'}-writer.lock") and file_lock.serialise
    memory = WriteLock.for_engine(make_engine("sqlite://"))
    assert memory.path is None and memory.serialise
    postgres = WriteLock.for_engine(make_engine("postgresql+psycopg://u:p@localhost:1/db"))
    assert not postgres.serialise
    with postgres.hold(), postgres.hold():  # nothing held: nesting cannot block
        pass
    other = WriteLock.for_engine(make_engine(f"sqlite:///{tmp_path / 's.db'}"))
    entered = threading.Event()
    with file_lock.hold():
        def take() -> None:
            with other.hold():
                entered.set()

        waiter = threading.Thread(target=take)
        waiter.start()
        assert not entered.wait(0.3)  # the other store waits while this one holds it
    assert entered.wait(5)
    waiter.join(5)
    file_lock.close()
    other.close()
