"""Reads and writes of the serving database; every write is committed before it returns.

Ingestion is idempotent on ``event_id``: an event sent again with the same payload is
acknowledged as a duplicate, with a different payload it is refused (409) and nothing of its
batch is stored; a batch is stored whole or not at all. Recognised credit is idempotent on
``credit_id`` in the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, Executable, Row, Table, bindparam, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.pool import StaticPool

from recommender.errors import RecommenderError
from recommender.store import tables
from recommender.store.committer import GroupCommitter
from recommender.store.engine import WRITE, WriteLock, WriteLockError, make_engine
from recommender.store.records import CreditRecord, EventRecord, LearnerRecord, ResourceRecord

_CHUNK = 500  # ids per IN (...) lookup
WRITE_PROBE_SECONDS = 2.0  # how long a write probe's answer is reused
_WRITE_PROBE_KEY = "write_probe"  # a serving_state row only ever written and rolled back


class StoreError(RecommenderError):
    """The database cannot answer now (locked, unreachable); the caller may retry."""


class StoreRefusedError(StoreError):
    """The database refuses writes until an operator acts (a read-only file, volume or replica,
    a full disk, missing permissions): a retry gets the same answer, so callers are not told to
    retry."""


# Why a write was refused for good: SQLite primary result codes (an extended code's low byte)
# and PostgreSQL SQLSTATEs. Anything else (a lock held, a connection lost) is worth a retry.
_SQLITE_REFUSALS = {3: "SQLITE_PERM", 8: "SQLITE_READONLY", 13: "SQLITE_FULL",
                    14: "SQLITE_CANTOPEN"}
_POSTGRES_REFUSALS = {"25006": "read_only_sql_transaction", "53100": "disk_full",
                      "42501": "insufficient_privilege"}


def write_refusal(error: BaseException) -> str | None:
    """The name of the permanent condition a DBAPI error reports, or None when a retry may
    succeed."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _SQLITE_REFUSALS:
        return _SQLITE_REFUSALS[code & 0xFF]
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate in _POSTGRES_REFUSALS:
        return _POSTGRES_REFUSALS[sqlstate]
    return None


def _write_error(error: DBAPIError) -> StoreError:
    """A refused write as the error that says whether a retry can help."""
    refusal = write_refusal(error.orig)
    if refusal is not None:
        return StoreRefusedError(f"the store refuses writes ({refusal}): {error.orig!r}")
    return StoreError(f"the store cannot take writes now: {error.orig!r}")


class EventConflictError(RecommenderError):
    """An event id already stored (or repeated in the batch) with a different payload."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(
            f"event_id {event_id!r} was already used for a different event; nothing in this "
            "batch was stored"
        )


class CreditConflictError(RecommenderError):
    """A credit id already stored with a different record."""

    def __init__(self, credit_id: str) -> None:
        self.credit_id = credit_id
        super().__init__(
            f"credit_id {credit_id!r} was already used for a different record (learner, hours, "
            "source, date, evidence, category or title differ); the stored record is unchanged"
        )


@dataclass(frozen=True)
class LearnerSnapshot:
    """What a list request reads, in one transaction: the learner's stored profile (or None),
    their stored events (oldest first) and the API resources' signature."""

    profile: dict | None
    events: list[EventRecord]
    resources_signature: tuple[int, int]
    profile_updated_us: int | None = None  # changes whenever the profile is replaced
    # Resources of *all* the learner's stored events of a consuming type, read only when
    # ``events`` was cut at the limit (None: ``events`` holds every stored event).
    consumed_resource_ids: frozenset[str] | None = None

    @property
    def version(self) -> tuple:
        """Changes whenever anything in the snapshot of this learner changes (events are
        only ever added, so their count and the newest one identify them)."""
        newest = self.events[-1].event_id if self.events else None
        return (self.profile_updated_us, len(self.events), newest)


_EVENTS_OF = (
    select(tables.events).where(tables.events.c.learner_id == bindparam("learner_id"))
    .order_by(tables.events.c.ts_us.desc(), tables.events.c.event_id.desc())
    .limit(bindparam("limit"))
)
_PROFILE_OF = select(tables.learners.c.profile).where(
    tables.learners.c.learner_id == bindparam("learner_id"))
_SIGNATURE = select(func.count(), func.coalesce(func.sum(tables.resources.c.revision), 0)
                    ).select_from(tables.resources)
# Profile, its revision and the resources' signature in one row (the hot path's first read).
_PROFILE_AND_SIGNATURE = select(
    _PROFILE_OF.scalar_subquery(),
    select(tables.learners.c.updated_us).where(
        tables.learners.c.learner_id == bindparam("learner_id")).scalar_subquery(),
    _SIGNATURE.subquery(),
)


def _insert_unless_stored(dialect: str) -> Executable | None:
    """``INSERT`` of one event that does nothing when its ``event_id`` is stored already (the
    optimistic first try of a group commit), for the dialects that say so in SQL."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        return None
    events = tables.events
    return insert(events).values(
        {column.name: bindparam(column.name) for column in events.columns}
    ).on_conflict_do_nothing(index_elements=[events.c.event_id])


class _Prepared:
    """A Core statement compiled once for one dialect, run on the bare DBAPI cursor: the
    per-request reads skip SQLAlchemy's per-execution work (about 0.1 ms per statement)
    while the SQL still comes from the table definitions. The driver caches the statement."""

    def __init__(self, statement: Executable, engine: Engine) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        self.names = tuple(compiled.positiontup or ()) if self.positional else ()
        self.defaults = dict(compiled.params)

    def parameters(self, values: dict[str, Any]) -> tuple | dict:
        merged = {**self.defaults, **values}
        return tuple(merged[name] for name in self.names) if self.positional else merged


@dataclass(frozen=True)
class IngestResult:
    """Per event of the batch, in order: True if stored now, False if it was a duplicate."""

    event_ids: list[str]
    stored: list[bool]

    @property
    def n_stored(self) -> int:
        return sum(self.stored)


def _now_us() -> int:
    return time.time_ns() // 1000


def _row_to_event(row: Row | tuple) -> EventRecord:
    """An events-table row (a SQLAlchemy row or a bare DBAPI tuple: columns in table order)."""
    event_id, learner_id, resource_id, event_type, value, ts_us = row[:6]
    return EventRecord(event_id=event_id, learner_id=learner_id, resource_id=resource_id,
                       event_type=event_type, value=value, ts_us=int(ts_us))


def _row_to_credit(row: Row) -> CreditRecord:
    return CreditRecord(credit_id=row.credit_id, learner_id=row.learner_id,
                        hours=float(row.hours), source=row.source, earned_on=row.earned_on,
                        evidence=row.evidence, category=row.category, title=row.title)


class Store:
    """The serving database behind one engine (see :mod:`recommender.store.engine`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._events_of = _Prepared(_EVENTS_OF, engine)
        self._profile_and_signature = _Prepared(_PROFILE_AND_SIGNATURE, engine)
        self._write_probe: tuple[float, str | None] | None = None  # (when, problem)
        self._write_lock = WriteLock.for_engine(engine)
        unless_stored = _insert_unless_stored(engine.dialect.name)
        self._insert_new = None if unless_stored is None else _Prepared(unless_stored, engine)
        self._committer = GroupCommitter(
            self._writing, self._existing, self._insert_events, EventConflictError,
            insert_new=self._insert_new_events if self._insert_new is not None else None)

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(make_engine(url))

    def create_schema(self) -> None:
        """Create missing tables and indexes (idempotent; several workers may race here)."""
        for attempt in range(5):
            try:
                with self._writing() as connection:  # BEGIN IMMEDIATE on SQLite: one at a time
                    tables.metadata.create_all(connection, checkfirst=True)
                return
            except (IntegrityError, ProgrammingError, StoreError):
                # Another worker created them between our check and our CREATE: check again.
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(select(1)).scalar_one()
        except OperationalError:
            return False
        return True

    def write_problem(self, max_age_s: float = WRITE_PROBE_SECONDS) -> str | None:
        """Why the store would refuse a write now (None: it takes writes), for readiness: a
        database that answers reads may still refuse every write (a read-only file or
        replica, a full disk). The answer is reused for ``max_age_s`` so probes stay cheap."""
        now = time.monotonic()
        cached = self._write_probe
        if cached is not None and now - cached[0] < max_age_s:
            return cached[1]
        problem = self._probe_write()
        self._write_probe = (now, problem)
        return problem

    def _probe_write(self) -> str | None:
        """A real write (a serving_state row) in a transaction that is rolled back: it takes
        the write lock and touches a page like any write, but commits and fsyncs nothing. An
        in-memory SQLite database (one connection shared by every thread) is not probed: a
        probe there could roll back another thread's transaction, and it takes writes while
        the process lives."""
        if isinstance(self.engine.pool, StaticPool):
            return None
        state = tables.serving_state
        try:
            with self._write_lock.hold():  # in turn with the other writers, as they write
                with self.engine.connect().execution_options(**WRITE) as connection:
                    transaction = connection.begin()
                    try:
                        connection.execute(state.insert().values(
                            key=_WRITE_PROBE_KEY, value={}, revision=0))
                    finally:
                        transaction.rollback()
        except IntegrityError:  # the insert got as far as the key: writes are taken
            return None
        except WriteLockError as exc:
            return f"the store does not accept writes: {exc}"
        except DBAPIError as exc:
            return f"the store does not accept writes: {exc.orig!r}"
        return None

    def dispose(self) -> None:
        self.engine.dispose()
        self._write_lock.close()

    # --- events -------------------------------------------------------------------------------

    def add_events(self, records: Sequence[EventRecord]) -> IngestResult:
        """Store a batch durably (committed before returning); duplicates are acknowledged."""
        return self._result(records, self._committer.submit(self._unique(records)))

    async def add_events_async(self, records: Sequence[EventRecord]) -> IngestResult:
        """:meth:`add_events` for the event loop: the request waits for its group's commit
        without holding a thread (no thread-pool hop per request)."""
        fresh = await self._committer.submit_async(self._unique(records))
        return self._result(records, fresh)

    @staticmethod
    def _unique(records: Sequence[EventRecord]) -> dict[str, EventRecord]:
        unique: dict[str, EventRecord] = {}
        for record in records:
            seen = unique.get(record.event_id)
            if seen is not None and not seen.same_payload(record):
                raise EventConflictError(record.event_id)
            unique[record.event_id] = record
        return unique

    @staticmethod
    def _result(records: Sequence[EventRecord], fresh: set[str]) -> IngestResult:
        ids = [r.event_id for r in records]
        first: dict[str, int] = {}
        for position, event_id in enumerate(ids):
            first.setdefault(event_id, position)
        stored = [event_id in fresh and first[event_id] == i for i, event_id in enumerate(ids)]
        return IngestResult(event_ids=ids, stored=stored)

    @staticmethod
    def _insert_events(connection: Connection, records: list[EventRecord]) -> None:
        received = _now_us()
        connection.execute(tables.events.insert(), [
            {"event_id": r.event_id, "learner_id": r.learner_id, "resource_id": r.resource_id,
             "event_type": r.event_type, "value": r.value, "ts_us": r.ts_us,
             "received_us": received}
            for r in records
        ])

    def _insert_new_events(self, connection: Connection, records: list[EventRecord]) -> int:
        """Insert ``records`` (unique ids), skipping any whose id is stored; how many went in
        (-1: the driver cannot tell). Compiled once, run on the transaction's DBAPI cursor."""
        prepared = self._insert_new
        assert prepared is not None
        received = _now_us()
        cursor = connection.connection.cursor()
        try:
            cursor.executemany(prepared.sql, [prepared.parameters({
                "event_id": r.event_id, "learner_id": r.learner_id,
                "resource_id": r.resource_id, "event_type": r.event_type, "value": r.value,
                "ts_us": r.ts_us, "received_us": received}) for r in records])
            return cursor.rowcount
        finally:
            cursor.close()

    @staticmethod
    def _existing(connection: Connection, event_ids: list[str]) -> dict[str, EventRecord]:
        found: dict[str, EventRecord] = {}
        for lo in range(0, len(event_ids), _CHUNK):
            chunk = event_ids[lo: lo + _CHUNK]
            query = select(tables.events).where(tables.events.c.event_id.in_(chunk))
            for row in connection.execute(query):
                found[row.event_id] = _row_to_event(row)
        return found

    def learner_events(
        self, learner_id: str, after_us: int | None = None, limit: int = 1000
    ) -> list[EventRecord]:
        """The learner's stored events (newest ``limit``, oldest first), optionally only those
        timed after ``after_us``."""
        events = tables.events
        query = select(events).where(events.c.learner_id == learner_id)
        if after_us is not None:
            query = query.where(events.c.ts_us > after_us)
        query = query.order_by(events.c.ts_us.desc(), events.c.event_id.desc()).limit(limit)
        with self._reading() as connection:
            rows = [_row_to_event(row) for row in connection.execute(query)]
        return rows[::-1]

    def learner_snapshot(
        self, learner_id: str, limit: int = 1000, consumed_event_types: Sequence[str] = (),
    ) -> LearnerSnapshot:
        """Profile, newest ``limit`` events and resource signature in two indexed reads on one
        pooled connection (the hot path of every list request: no ORM, no per-call
        compilation). Nothing is cached: an event committed before this call is in it.

        A learner with more stored events than ``limit`` also gets the resources of every
        stored event of ``consumed_event_types`` (a third read), so a completion older than
        the newest ``limit`` events still excludes its resource."""
        with self._raw_cursor() as cursor:
            prepared = self._profile_and_signature
            cursor.execute(prepared.sql, prepared.parameters({"learner_id": learner_id}))
            profile, updated_us, count, total = cursor.fetchone()
            prepared = self._events_of
            cursor.execute(prepared.sql,
                           prepared.parameters({"learner_id": learner_id, "limit": limit}))
            rows = cursor.fetchall()
        events = [_row_to_event(row) for row in reversed(rows)]
        consumed = None
        if len(rows) >= limit and consumed_event_types:
            consumed = self.consumed_resource_ids(learner_id, consumed_event_types)
        if isinstance(profile, (str, bytes)):
            profile = json.loads(profile)
        return LearnerSnapshot(None if profile is None else dict(profile), events,
                               (int(count), int(total)),
                               None if updated_us is None else int(updated_us), consumed)

    def consumed_resource_ids(
        self, learner_id: str, consumed_event_types: Sequence[str]
    ) -> frozenset[str]:
        """Resources of every stored event of the learner whose type is consumed."""
        events = tables.events
        query = select(events.c.resource_id).distinct().where(
            events.c.learner_id == learner_id,
            events.c.event_type.in_(list(consumed_event_types)))
        with self._reading() as connection:
            return frozenset(connection.execute(query).scalars())

    def get_event(self, event_id: str) -> EventRecord | None:
        with self._reading() as connection:
            row = connection.execute(
                select(tables.events).where(tables.events.c.event_id == event_id)
            ).first()
        return None if row is None else _row_to_event(row)

    def existing_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        """Which of ``event_ids`` are stored."""
        events = tables.events
        unique = list(dict.fromkeys(event_ids))
        found: set[str] = set()
        with self._reading() as connection:
            for lo in range(0, len(unique), _CHUNK):
                query = select(events.c.event_id).where(
                    events.c.event_id.in_(unique[lo: lo + _CHUNK]))
                found.update(connection.execute(query).scalars())
        return found

    def count_events(self) -> int:
        with self._reading() as connection:
            return int(connection.execute(select(func.count()).select_from(tables.events))
                       .scalar_one())

    def learner_completions(self, learner_id: str) -> list[EventRecord]:
        """Every ``complete`` event stored for the learner, oldest first (the credit ledger
        reads them all: no cap)."""
        events = tables.events
        query = (select(events).where(events.c.learner_id == learner_id,
                                      events.c.event_type == "complete")
                 .order_by(events.c.ts_us, events.c.event_id))
        with self._reading() as connection:
            return [_row_to_event(row) for row in connection.execute(query)]

    # --- recognised credit ----------------------------------------------------------------------

    def add_credit(self, record: CreditRecord) -> bool:
        """Store a recognised-credit record durably; True if stored now, False if the same
        record was already stored under its id. The id reused for a different record raises
        :class:`CreditConflictError` and stores nothing."""
        credits = tables.credits
        for attempt in range(2):  # a concurrent insert of the same id: compare with it
            try:
                with self._writing() as connection:
                    row = connection.execute(
                        select(credits).where(credits.c.credit_id == record.credit_id)).first()
                    if row is not None:
                        if not _row_to_credit(row).same_payload(record):
                            raise CreditConflictError(record.credit_id)
                        return False
                    connection.execute(credits.insert().values(
                        credit_id=record.credit_id, learner_id=record.learner_id,
                        hours=record.hours, source=record.source, earned_on=record.earned_on,
                        evidence=record.evidence, category=record.category, title=record.title,
                        received_us=_now_us()))
                return True
            except IntegrityError:
                if attempt:
                    raise
        return False

    def learner_credits(self, learner_id: str, year: int | None = None) -> list[CreditRecord]:
        """The learner's recognised credit (of calendar ``year`` only, when given), oldest
        first."""
        credits = tables.credits
        query = select(credits).where(credits.c.learner_id == learner_id)
        if year is not None:
            query = query.where(credits.c.earned_on >= date(year, 1, 1),
                                credits.c.earned_on <= date(year, 12, 31))
        query = query.order_by(credits.c.earned_on, credits.c.credit_id)
        with self._reading() as connection:
            return [_row_to_credit(row) for row in connection.execute(query)]

    def has_credits(self, learner_id: str) -> bool:
        """Whether any recognised credit is stored for the learner."""
        credits = tables.credits
        with self._reading() as connection:
            return connection.execute(select(credits.c.credit_id).where(
                credits.c.learner_id == learner_id).limit(1)).first() is not None

    # --- learners and resources ---------------------------------------------------------------

    def upsert_learner(self, record: LearnerRecord) -> bool:
        """Insert or replace a learner's profile; True if the learner was new."""
        return self._upsert(tables.learners, "learner_id", record.learner_id,
                            {"profile": record.profile, "updated_us": _now_us()})

    def get_learner(self, learner_id: str) -> LearnerRecord | None:
        learners = tables.learners
        with self._reading() as connection:
            row = connection.execute(
                select(learners.c.profile).where(learners.c.learner_id == learner_id)
            ).first()
        return None if row is None else LearnerRecord(learner_id, dict(row.profile))

    def upsert_resource(self, record: ResourceRecord) -> bool:
        """Insert or replace a resource (its revision is bumped); True if it was new."""
        resources = tables.resources
        values = {"record": record.record, "withdrawn": record.withdrawn,
                  "updated_us": _now_us()}
        return self._upsert(resources, "resource_id", record.resource_id, values,
                            bump=resources.c.revision)

    def _upsert(self, table: Table, key: str, key_value: str, values: dict,
                bump: object = None) -> bool:
        column = table.c[key]
        for attempt in range(2):  # a concurrent insert of the same new key: update instead
            try:
                with self._writing() as connection:
                    exists = connection.execute(
                        select(column).where(column == key_value)).first() is not None
                    if exists:
                        update = table.update().where(column == key_value)
                        if bump is not None:
                            values = {**values, "revision": bump + 1}
                        connection.execute(update.values(**values))
                    else:
                        connection.execute(table.insert().values(**{key: key_value}, **values))
                return not exists
            except IntegrityError:
                if attempt:
                    raise
        return False

    def existing_ids(self, kind: str, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` the store knows, for ``kind`` "learner" or "resource"."""
        table = {"learner": tables.learners, "resource": tables.resources}[kind]
        column = table.c[f"{kind}_id"]
        unique = list(dict.fromkeys(ids))
        found: set[str] = set()
        with self._reading() as connection:
            for lo in range(0, len(unique), _CHUNK):
                query = select(column).where(column.in_(unique[lo: lo + _CHUNK]))
                found.update(connection.execute(query).scalars())
        return found

    def resources_signature(self) -> tuple[int, int]:
        """(count, sum of revisions) of API resources: changes whenever any is upserted."""
        resources = tables.resources
        query = select(func.count(), func.coalesce(func.sum(resources.c.revision), 0))
        with self._reading() as connection:
            count, total = connection.execute(query.select_from(resources)).one()
        return int(count), int(total)

    def all_resources(self) -> list[ResourceRecord]:
        resources = tables.resources
        query = select(resources.c.resource_id, resources.c.record, resources.c.withdrawn)
        with self._reading() as connection:
            rows = connection.execute(query.order_by(resources.c.resource_id)).all()
        return [ResourceRecord(row.resource_id, dict(row.record), bool(row.withdrawn))
                for row in rows]

    def get_resource(self, resource_id: str) -> ResourceRecord | None:
        resources = tables.resources
        query = select(resources.c.record, resources.c.withdrawn).where(
            resources.c.resource_id == resource_id)
        with self._reading() as connection:
            row = connection.execute(query).first()
        return None if row is None else ResourceRecord(resource_id, dict(row.record),
                                                       bool(row.withdrawn))

    # --- shared serving state -----------------------------------------------------------------

    def set_state(self, key: str, value: dict) -> int:
        """Store a shared setting (e.g. which bundle to serve); returns its new revision."""
        state = tables.serving_state
        with self._writing() as connection:
            revision = connection.execute(
                select(state.c.revision).where(state.c.key == key)).scalar()
            if revision is None:
                connection.execute(state.insert().values(key=key, value=value, revision=1))
                return 1
            connection.execute(state.update().where(state.c.key == key)
                               .values(value=value, revision=revision + 1))
            return int(revision) + 1

    def get_state(self, key: str) -> tuple[dict, int] | None:
        state = tables.serving_state
        with self._reading() as connection:
            row = connection.execute(
                select(state.c.value, state.c.revision).where(state.c.key == key)).first()
        return None if row is None else (dict(row.value), int(row.revision))

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection for reads; a locked or unreachable database becomes StoreError."""
        try:
            with self.engine.connect() as connection:
                yield connection
        except OperationalError as exc:
            raise StoreError(f"the store cannot be read now: {exc.orig!r}") from exc

    @contextmanager
    def _raw_cursor(self) -> Iterator[Any]:
        """A DBAPI cursor on a pooled connection, for the prepared hot-path reads; the pool
        rolls the connection back when it is returned, so no transaction outlives the block."""
        dbapi_error = self.engine.dialect.loaded_dbapi.OperationalError
        try:
            connection = self.engine.raw_connection()
        except OperationalError as exc:
            raise StoreError(f"the store cannot be read now: {exc.orig!r}") from exc
        try:
            cursor = connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        except dbapi_error as exc:
            if _is_disconnect(self.engine, exc):
                connection.invalidate()
            raise StoreError(f"the store cannot be read now: {exc!r}") from exc
        finally:
            connection.close()

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One write transaction, committed when the block ends without error; writers wait
        their turn on the database's write lock (see :class:`WriteLock`)."""
        try:
            with self._write_lock.hold():
                with self.engine.connect().execution_options(**WRITE) as connection:
                    with connection.begin():
                        yield connection
        except WriteLockError as exc:  # the lock file cannot be made: a read-only directory
            raise StoreRefusedError(f"the store refuses writes: {exc}") from exc
        except DBAPIError as exc:
            if isinstance(exc, OperationalError) or write_refusal(exc.orig) is not None:
                raise _write_error(exc) from exc
            raise  # a constraint or a programming error: the caller's to handle


def _is_disconnect(engine: Engine, error: Exception) -> bool:
    """Whether a DBAPI error means the connection is dead (it must not go back to the pool)."""
    try:
        return bool(engine.dialect.is_disconnect(error, None, None))
    except Exception:  # noqa: BLE001 - a dialect that cannot tell: keep the connection
        return False
