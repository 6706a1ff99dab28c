"""The credit ledger: a learner's credit hours for one calendar year (a learning account).

What counts, each at most once: a credit-bearing resource the learner completed (the first
completion of each resource, from the bundle's history or the events stored since, whichever is
earlier, counts for that year; completing it again later earns nothing more), and learning done
elsewhere that the platform recognised (``POST /v1/learners/{id}/credits``, one record per
``credit_id``). Against it stands the requirement: the learner profile's
``credit_hours_required``, else the operator's default (the ``credit_hours_required_default``
setting; none: the learner owes nothing). Years are calendar years in UTC.

:func:`credit_ledger` is the one computation: the API's ``GET /v1/learners/{id}/credits``, the
plans (``/plan`` and ``recommender deliver --plan``) and the console read it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

import numpy as np
import pandas as pd

from recommender.checks import check_number, is_missing
from recommender.delivery.served import ServedModel
from recommender.errors import InvalidParameterError, UnknownIdError
from recommender.store import CreditRecord, EventRecord, Store
from recommender.store.records import from_micros

FIRST_YEAR, LAST_YEAR = 1900, 2199  # the years the data contract's timestamps span


@dataclass(frozen=True)
class CreditEntry:
    """One line of the ledger: a completed resource or a recognised record."""

    kind: Literal["completion", "recognised"]
    id: str  # the resource_id of a completion, the credit_id of a recognised record
    title: str | None
    hours: float
    earned_on: date
    category: str | None
    provider: str | None  # a completion's provider, a recognised record's source
    evidence: str | None = None


@dataclass(frozen=True)
class HoursBy:
    """Hours of one category or provider (``name`` None: none given)."""

    name: str | None
    hours: float


@dataclass(frozen=True)
class CreditLedger:
    """A learner's credit hours for ``year``: ``earned_hours`` = ``platform_hours`` (completed
    credit-bearing resources) + ``recognised_hours`` (outside learning); ``shortfall_hours``
    what is still missing of ``required_hours`` (0 when nothing is required).
    ``bundle_history`` is False when the served bundle carries no completion dates (built
    before they were kept): then only completions stored in the serving database count."""

    learner_id: str
    year: int
    required_hours: float | None
    earned_hours: float
    platform_hours: float
    recognised_hours: float
    shortfall_hours: float
    by_category: tuple[HoursBy, ...]
    by_provider: tuple[HoursBy, ...]
    entries: tuple[CreditEntry, ...]
    bundle_history: bool


def ledger_year(year: int | None, now: pd.Timestamp | None = None) -> int:
    """``year`` checked, or the calendar year (UTC) of ``now`` (default: the current time)."""
    if year is None:
        moment = now if now is not None else pd.Timestamp(datetime.now(UTC))
        return int(moment.year)
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)) or not (
            FIRST_YEAR <= year <= LAST_YEAR):
        raise InvalidParameterError("year", year, f"a year from {FIRST_YEAR} to {LAST_YEAR}")
    return int(year)


def credit_ledger(
    served: ServedModel,
    store: Store | None,
    learner_id: str,
    *,
    year: int | None = None,
    now: pd.Timestamp | None = None,
    default_required: float | None = None,
) -> CreditLedger:
    """The learner's ledger for ``year`` (default: the year of ``now``), from the served
    bundle's history and, with a ``store``, the profile, completions and recognised credit
    stored there (read now: a completion acknowledged on any worker counts at once). A learner
    neither the bundle nor the store knows is an :class:`UnknownIdError`."""
    year = ledger_year(year, now)
    if default_required is not None:
        default_required = check_number("default_required", default_required)
    learner_idx = served.learner_idx(learner_id)
    profile: Mapping[str, object] | None = None
    stored: list[EventRecord] = []
    recognised: list[CreditRecord] = []
    if store is not None:
        record = store.get_learner(learner_id)
        profile = record.profile if record is not None else None
        stored = store.learner_completions(learner_id)
        recognised = store.learner_credits(learner_id, year)
    if profile is None and learner_idx is not None:
        profile = served.profile_of(learner_idx)
    if (learner_idx is None and profile is None and not stored and not recognised
            and not (store is not None and store.has_credits(learner_id))):
        raise UnknownIdError("learner", learner_id)

    first = _first_completions(served, learner_idx, stored)
    in_year = {rid: us for rid, us in first.items() if from_micros(us).year == year}
    entries = [*_completion_entries(served, store, in_year),
               *(_recognised_entry(r) for r in recognised)]
    entries.sort(key=lambda e: (e.earned_on, e.kind, e.id))
    required = _hours(None if profile is None else profile.get("credit_hours_required"))
    if required is None:
        required = default_required
    platform = sum(e.hours for e in entries if e.kind == "completion")
    outside = sum(e.hours for e in entries if e.kind == "recognised")
    earned = platform + outside
    return CreditLedger(
        learner_id=learner_id, year=year, required_hours=required, earned_hours=earned,
        platform_hours=platform, recognised_hours=outside,
        shortfall_hours=max(0.0, required - earned) if required is not None else 0.0,
        by_category=_hours_by((e.category, e.hours) for e in entries),
        by_provider=_hours_by((e.provider, e.hours) for e in entries),
        entries=tuple(entries), bundle_history=served.bundle.completions is not None,
    )


def _first_completions(
    served: ServedModel, learner_idx: int | None, stored: list[EventRecord]
) -> dict[str, int]:
    """resource_id -> the learner's first completion (microseconds UTC), bundle and store."""
    first: dict[str, int] = {}
    if learner_idx is not None:
        found = served.completions_of(learner_idx)
        if found is not None:
            ids = served.resource_ids[found[0]]
            first = {str(i): int(us) for i, us in zip(ids, found[1].tolist())}
    for event in stored:
        seen = first.get(event.resource_id)
        if seen is None or event.ts_us < seen:
            first[event.resource_id] = event.ts_us
    return first


def _completion_entries(
    served: ServedModel, store: Store | None, completed: Mapping[str, int]
) -> list[CreditEntry]:
    """Credit-bearing completed resources as entries; a resource re-described or added through
    the API counts with the store's record of it (withdrawn ones too: the learning was done)."""
    if not completed:
        return []
    ids = list(completed)
    in_store = store.existing_ids("resource", ids) if store is not None else set()
    bundle_idx = served.bundle.resource_map.indices_of(ids, strict=False)
    entries = []
    for resource_id, idx in zip(ids, bundle_idx.tolist()):
        on = from_micros(completed[resource_id]).date()
        if resource_id in in_store:
            found = store.get_resource(resource_id)  # type: ignore[union-attr]
            if found is None:
                continue
            row = found.record
            facts = (row.get("title"), _hours(row.get("credit_hours")), row.get("category"),
                     row.get("provider"))
        elif idx >= 0:
            facts = (str(served.titles[idx]), float(served.catalog.credit_hours[idx]),
                     served.category_names[idx], served.providers[idx])
        else:  # an event stored while no model checked it, for a resource nobody describes
            continue
        title, hours, category, provider = facts
        if hours is None or not hours > 0:
            continue
        entries.append(CreditEntry("completion", resource_id, _text(title), hours, on,
                                   _text(category), _text(provider)))
    return entries


def _recognised_entry(record: CreditRecord) -> CreditEntry:
    return CreditEntry("recognised", record.credit_id, record.title, record.hours,
                       record.earned_on, record.category, record.source, record.evidence)


def _hours_by(pairs: Iterable[tuple[str | None, float]]) -> tuple[HoursBy, ...]:
    """Hours summed per name, most first (then by name; None last)."""
    totals: dict[str | None, float] = defaultdict(float)
    for name, hours in pairs:
        totals[name] += hours
    order = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))
    return tuple(HoursBy(name, hours) for name, hours in order)


def _hours(value: object) -> float | None:
    """A stored number of hours (None, NaN: none)."""
    return None if is_missing(value) else float(value)  # type: ignore[arg-type]


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None
