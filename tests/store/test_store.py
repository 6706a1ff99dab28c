"""The serving database on its own: durable settings, schema creation racing between workers,
group commit under concurrent ingestion, idempotency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from recommender.errors import ConfigError
from recommender.store import EventConflictError, EventRecord, Store


def record(event_id: str, event_type: str = "view") -> EventRecord:
    return EventRecord(event_id, "a", "r", event_type, None, 1_700_000_000_000_000)


def test_sqlite_is_wal_with_fsync_on_commit(tmp_path):
    store = Store.from_url(f"sqlite:///{tmp_path / 's.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.dispose()


def test_workers_creating_the_schema_at_once_do_not_fail(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    stores = [Store.from_url(url) for _ in range(4)]
    barrier = threading.Barrier(len(stores))

    def create(store: Store) -> None:
        barrier.wait()
        store.create_schema()

    with ThreadPoolExecutor(len(stores)) as pool:
        list(pool.map(create, stores))
    assert stores[0].count_events() == 0
    for store in stores:
        store.dispose()


def test_concurrent_ingestion_shares_commits_and_keeps_every_outcome(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = Store.from_url(url)
    store.create_schema()
    store.add_events([record("clash")])

    def ingest(i: int) -> object:
        try:
            if i % 50 == 0:
                return store.add_events([record("clash", "dismiss")])
            return store.add_events([record(f"e{i}"), record(f"e{i + 1}")]).stored
        except EventConflictError as error:
            return error

    with ThreadPoolExecutor(32) as pool:
        outcomes = list(pool.map(ingest, range(400)))
    conflicts = [o for o in outcomes if isinstance(o, EventConflictError)]
    assert len(conflicts) == 8  # each clashing request failed alone
    stored = [flag for o in outcomes if isinstance(o, list) for flag in o]
    assert sum(stored) == 400  # e1..e400, each stored exactly once
    other = Store.from_url(url)
    assert other.count_events() == 1 + sum(stored)
    store.dispose()
    other.dispose()


def test_bad_database_url_is_a_config_error_without_the_url():
    with pytest.raises(ConfigError) as caught:
        Store.from_url("not a url:// secret-password")
    assert "secret-password" not in str(caught.value)


def test_learner_snapshot_reads_what_was_just_committed(tmp_path):
    """The hot-path read (prepared statements on the bare driver) sees every commit before it,
    and its version changes with each new event and each replaced profile."""
    from recommender.store import LearnerRecord, ResourceRecord

    url = f"sqlite:///{tmp_path / 's.db'}"
    writer, reader = Store.from_url(url), Store.from_url(url)  # two workers
    writer.create_schema()
    empty = reader.learner_snapshot("a")
    assert (empty.profile, empty.events, empty.resources_signature) == (None, [], (0, 0))
    writer.add_events([record("e1"), record("e2", "complete")])
    first = reader.learner_snapshot("a")
    assert [e.event_id for e in first.events] == ["e1", "e2"]
    assert first.events[1] == record("e2", "complete") and first.version != empty.version
    writer.upsert_learner(LearnerRecord("a", {"group": "retiree", "languages": "zh|en"}))
    profiled = reader.learner_snapshot("a")
    assert profiled.profile == {"group": "retiree", "languages": "zh|en"}
    assert profiled.version != first.version
    writer.upsert_learner(LearnerRecord("a", {"group": "retiree", "languages": "en"}))
    assert reader.learner_snapshot("a").version != profiled.version
    assert reader.learner_snapshot("a", limit=1).events == [record("e2", "complete")]
    writer.upsert_resource(ResourceRecord("r9", {"resource_id": "r9", "title": "t"}, False))
    assert reader.learner_snapshot("b").resources_signature == (1, 1)
    writer.dispose()
    reader.dispose()


def test_recognised_credit_is_durable_idempotent_and_read_by_year(tmp_path):
    from datetime import date

    from recommender.errors import DataValidationError
    from recommender.store import CreditConflictError, CreditRecord

    url = f"sqlite:///{tmp_path / 's.db'}"
    store = Store.from_url(url)
    store.create_schema()
    first = CreditRecord.of("c1", "a", 8, "社区大学", date(2025, 12, 31), "CERT-1")
    assert store.add_credit(first) is True
    assert store.add_credit(first) is False  # the same record again: nothing new
    with pytest.raises(CreditConflictError, match="'c1'"):
        store.add_credit(CreditRecord.of("c1", "a", 9, "社区大学", date(2025, 12, 31), "CERT-1"))
    assert store.add_credit(CreditRecord.of("c2", "a", 2.5, "夜校", date(2026, 1, 1))) is True
    store.dispose()
    reopened = Store.from_url(url)  # another process, after a restart
    assert reopened.learner_credits("a", 2025) == [first]
    assert [c.credit_id for c in reopened.learner_credits("a")] == ["c1", "c2"]
    assert reopened.learner_credits("a", 2026)[0].hours == 2.5
    assert reopened.has_credits("a") and not reopened.has_credits("b")
    with pytest.raises(DataValidationError) as refused:
        CreditRecord.of("c3", "a", float("nan"), "", date(2026, 1, 1))
    assert {p.column for p in refused.value.problems} == {"hours", "source"}
    reopened.dispose()


def test_a_cut_snapshot_still_carries_every_consumed_resource(tmp_path):
    """More stored events than the snapshot's limit: the newest ``limit`` come back, and the
    resources of *every* event of a consumed type with them, so an old completion still
    excludes its resource; an uncut snapshot needs no third read."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = Store.from_url(url)
    store.create_schema()
    start = 1_700_000_000_000_000
    store.add_events([EventRecord("old", "a", "r-done", "complete", None, start)]
                     + [EventRecord(f"v{i}", "a", f"r{i}", "view", None, start + i + 1)
                        for i in range(4)])
    cut = store.learner_snapshot("a", limit=3, consumed_event_types=("complete", "dismiss"))
    assert [e.event_id for e in cut.events] == ["v1", "v2", "v3"]
    assert cut.consumed_resource_ids == frozenset({"r-done"})
    whole = store.learner_snapshot("a", limit=10, consumed_event_types=("complete",))
    assert len(whole.events) == 5 and whole.consumed_resource_ids is None
    assert store.learner_snapshot("a", limit=3).consumed_resource_ids is None  # none asked
    store.dispose()


def test_a_learner_view_excludes_what_a_cut_snapshot_says_was_consumed(tiny_bundle):
    from recommender.delivery.learner import learner_view
    from recommender.delivery.served import ServedModel
    from recommender.store import LearnerSnapshot

    served = ServedModel.from_bundle(tiny_bundle, "Flat")
    learner_id = str(tiny_bundle.learner_map.ids[0])
    done_before = set(tiny_bundle.exclusions[0].indices.tolist())
    main_id = next(str(r) for i, r in enumerate(tiny_bundle.resource_map.ids)
                   if i not in done_before)
    newest = EventRecord("v1", learner_id, main_id, "view", None, 2_000_000_000_000_000)
    snapshot = LearnerSnapshot(None, [newest], (0, 0),
                               consumed_resource_ids=frozenset({main_id, "api-only"}))
    view = learner_view(served, snapshot, learner_id)
    assert tiny_bundle.resource_map.index_of(main_id) in view.excluded_main
    assert done_before <= set(view.excluded_main.tolist())
    assert view.excluded_side == frozenset({"api-only"})
