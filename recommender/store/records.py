"""What the API stores, validated by the data contract's own rules (one row frame through
:func:`recommender.data.validate.validate_table`), so the API and the batch loaders accept
exactly the same values; problems name the field (and the item of a batch)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from recommender.data.schema import EVENTS, LEARNERS, RESOURCES, Kind, TableSchema
from recommender.data.validate import validate_table
from recommender.errors import DataValidationError, Problem

# Timestamps outside this window are typos (and beyond what pandas can represent).
EARLIEST = pd.Timestamp("1900-01-01", tz="UTC")
LATEST = pd.Timestamp("2200-01-01", tz="UTC")
IN_PERSON = ("offline", "blended")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A repeated event_id in a request is the store's business (a duplicate or a conflict), not a
# validation error: the same rules, without the uniqueness check.
EVENTS_IN_REQUEST = replace(
    EVENTS, columns=tuple(replace(c, unique=False) for c in EVENTS.columns))


def to_micros(stamp: pd.Timestamp) -> int:
    return int(stamp.value // 1000)


def from_micros(micros: int) -> pd.Timestamp:
    return pd.Timestamp(int(micros) * 1000, tz="UTC")


def _typed(rows: Sequence[Mapping[str, Any]], schema: TableSchema, source: str) -> pd.DataFrame:
    """Rows through the contract's validation; every problem raised at once."""
    frame = pd.DataFrame([dict(row) for row in rows])
    for column in schema.columns:  # absent optional fields are simply empty
        if column.name not in frame.columns:
            frame[column.name] = None
    typed, found = validate_table(frame, schema, source)
    problems = list(found.problems)
    for column in schema.columns:
        if column.kind is Kind.TIMESTAMP:
            stamps = typed[column.name]
            bad = stamps.notna() & ((stamps < EARLIEST) | (stamps > LATEST))
            for row in np.flatnonzero(bad.to_numpy()):
                problems.append(Problem(schema.name, column.name, int(row) + 1,
                                        str(stamps.iloc[row]), "must lie between 1900 and 2200",
                                        source))
    if problems:
        raise DataValidationError(problems, total=max(found.total, len(problems)))
    return typed


def _plain(value: object) -> object:
    """A typed cell as JSON: NaN/NaT -> None, timestamps -> ISO 8601."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _row_dict(typed: pd.DataFrame, i: int, schema: TableSchema) -> dict[str, object]:
    return {c.name: _plain(typed[c.name].iloc[i]) for c in schema.columns}


@dataclass(frozen=True)
class EventRecord:
    """One validated event; ``ts_us`` is its time in microseconds since the epoch (UTC)."""

    event_id: str
    learner_id: str
    resource_id: str
    event_type: str
    value: float | None
    ts_us: int

    @property
    def timestamp(self) -> pd.Timestamp:
        return from_micros(self.ts_us)

    def same_payload(self, other: EventRecord) -> bool:
        return self == other

    @classmethod
    def of(cls, event_id: str, learner_id: str, resource_id: str, event_type: str,
           value: float | None, timestamp: datetime) -> EventRecord:
        """From values already checked against the contract (the API's request model mirrors
        it: same vocabulary, non-empty ids, finite value, a timestamp in range); the fast path
        for single events. Naive timestamps are UTC."""
        if timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=UTC)
        ts_us = (timestamp - _EPOCH) // timedelta(microseconds=1)
        return cls(event_id, learner_id, resource_id, event_type,
                   None if value is None else float(value), int(ts_us))

    @classmethod
    def validate_many(cls, rows: Sequence[Mapping[str, Any]]) -> list[EventRecord]:
        typed = _typed(rows, EVENTS_IN_REQUEST, "request")
        return [
            cls(event_id=str(typed["event_id"].iloc[i]),
                learner_id=str(typed["learner_id"].iloc[i]),
                resource_id=str(typed["resource_id"].iloc[i]),
                event_type=str(typed["event_type"].iloc[i]),
                value=_plain(typed["value"].iloc[i]),  # type: ignore[arg-type]
                ts_us=to_micros(typed["timestamp"].iloc[i]))
            for i in range(len(typed))
        ]


def events_frame(records: Sequence[EventRecord]) -> pd.DataFrame:
    """Records as an events table (the data contract's columns and types)."""
    return pd.DataFrame({
        "event_id": [r.event_id for r in records],
        "learner_id": [r.learner_id for r in records],
        "resource_id": [r.resource_id for r in records],
        "event_type": [r.event_type for r in records],
        "value": np.array([np.nan if r.value is None else r.value for r in records], float),
        "timestamp": pd.to_datetime(np.array([r.ts_us for r in records], dtype=np.int64),
                                    unit="us", utc=True),
    })


@dataclass(frozen=True)
class LearnerRecord:
    """A learner's profile as the contract types it (list cells ``|``-joined, JSON values)."""

    learner_id: str
    profile: dict[str, object]

    @classmethod
    def validate(cls, row: Mapping[str, Any]) -> LearnerRecord:
        typed = _typed([row], LEARNERS, "request")
        profile = _row_dict(typed, 0, LEARNERS)
        return cls(learner_id=str(profile["learner_id"]), profile=profile)


@dataclass(frozen=True)
class ResourceRecord:
    """A catalog row as the contract types it, and whether it was withdrawn."""

    resource_id: str
    record: dict[str, object]
    withdrawn: bool = False

    @classmethod
    def validate(cls, row: Mapping[str, Any], withdrawn: bool = False) -> ResourceRecord:
        typed = _typed([row], RESOURCES, "request")
        record = _row_dict(typed, 0, RESOURCES)
        problems = []
        if record["mode"] in IN_PERSON and record["region"] is None:
            problems.append(Problem("resources", "region", 1, None,
                                    "offline and blended resources need a region", "request"))
        start, end = record["available_from"], record["available_until"]
        if start is not None and end is not None and pd.Timestamp(end) < pd.Timestamp(start):
            problems.append(Problem("resources", "available_until", 1, end,
                                    "is before available_from", "request"))
        if problems:
            raise DataValidationError(problems)
        return cls(resource_id=str(record["resource_id"]), record=record, withdrawn=withdrawn)


MAX_CREDIT_HOURS = 10_000.0  # one record of recognised learning: more is a typo


@dataclass(frozen=True)
class CreditRecord:
    """Learning done outside the platform and recognised for the learner's credit ledger:
    ``hours`` earned on ``earned_on`` (the year it counts for), from ``source`` (an institution
    or programme), with an ``evidence`` reference (a certificate number, a transcript id).
    ``credit_id`` is the platform's id for the record: sending it again is harmless."""

    credit_id: str
    learner_id: str
    hours: float
    source: str
    earned_on: date
    evidence: str | None = None
    category: str | None = None
    title: str | None = None

    def same_payload(self, other: CreditRecord) -> bool:
        return self == other

    @classmethod
    def of(cls, credit_id: str, learner_id: str, hours: float, source: str, earned_on: date,
           evidence: str | None = None, category: str | None = None,
           title: str | None = None) -> CreditRecord:
        """A record from checked values; every problem named at once (field, value)."""
        problems = []
        for name, value in (("credit_id", credit_id), ("learner_id", learner_id),
                            ("source", source)):
            if not isinstance(value, str) or not value.strip():
                problems.append(Problem("credits", name, 1, value, "must be a non-empty text",
                                        "request"))
        if (isinstance(hours, bool) or not isinstance(hours, (int, float))
                or not math.isfinite(hours) or not 0.0 < hours <= MAX_CREDIT_HOURS):
            problems.append(Problem("credits", "hours", 1, hours,
                                    f"must be a number above 0 and at most {MAX_CREDIT_HOURS:g}",
                                    "request"))
        if isinstance(earned_on, datetime) or not isinstance(earned_on, date) or not (
                EARLIEST.year <= earned_on.year < LATEST.year):
            problems.append(Problem("credits", "earned_on", 1, str(earned_on),
                                    "must be a date between 1900 and 2199", "request"))
        if problems:
            raise DataValidationError(problems)
        return cls(credit_id=credit_id.strip(), learner_id=learner_id.strip(),
                   hours=float(hours), source=source.strip(), earned_on=earned_on,
                   evidence=evidence, category=category, title=title)
