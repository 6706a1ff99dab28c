"""Aggregate counts the operator console reads: interests stated in anonymous requests and how
often each resource was delivered per day, plus event activity by hour.

Only aggregates are stored: an anonymous request's interests, group, region, languages and
needs are counted per distinct combination (nothing identifies a visitor, nothing is logged);
deliveries are counted per (day, resource). Writers add whole batches of counts (the serving
side sums them in memory and flushes every few seconds), so a list request never waits for
these writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from recommender.store import tables
from recommender.store.store import Store, _now_us

HOUR_US = 3_600_000_000
INTERESTS_LENGTH = 500


@dataclass(frozen=True)
class DemandKey:
    """One distinct anonymous statement of interests (the counted unit)."""

    interests: str
    group: str | None = None
    region: str | None = None
    languages: str | None = None
    accessibility_needs: str | None = None

    def digest(self) -> str:
        fields = [self.interests[:INTERESTS_LENGTH], self.group, self.region, self.languages,
                  self.accessibility_needs]
        return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class DemandCount:
    key: DemandKey
    count: int
    last_us: int


def add_demand(store: Store, counts: Mapping[DemandKey, int]) -> None:
    """Add anonymous demand counts (one write transaction)."""
    if not counts:
        return
    table = tables.stated_demand
    now = _now_us()
    by_digest = {key.digest(): (key, n) for key, n in counts.items()}
    with store._writing() as connection:
        known = dict(connection.execute(
            select(table.c.key, table.c.count).where(table.c.key.in_(list(by_digest)))).all())
        for digest, (key, n) in by_digest.items():
            if digest in known:
                connection.execute(table.update().where(table.c.key == digest)
                                   .values(count=known[digest] + n, last_us=now))
            else:
                connection.execute(table.insert().values(
                    key=digest, interests=key.interests[:INTERESTS_LENGTH],
                    learner_group=key.group, region=key.region, languages=key.languages,
                    accessibility_needs=key.accessibility_needs, count=n, last_us=now))


def stated_demand(store: Store, limit: int = 10_000) -> list[DemandCount]:
    """Anonymous demand, most stated first."""
    table = tables.stated_demand
    query = select(table).order_by(table.c.count.desc(), table.c.key).limit(limit)
    with store._reading() as connection:
        rows = connection.execute(query).all()
    return [DemandCount(DemandKey(r.interests, r.learner_group, r.region, r.languages,
                                  r.accessibility_needs), int(r.count), int(r.last_us))
            for r in rows]


def add_delivered(store: Store, counts: Mapping[tuple[str, str], int]) -> None:
    """Add (UTC day ``YYYY-MM-DD``, resource id) -> times delivered (one write transaction)."""
    if not counts:
        return
    table = tables.delivered_daily
    with store._writing() as connection:
        for (day, resource_id), n in counts.items():
            found = connection.execute(select(table.c.count).where(
                (table.c.day == day) & (table.c.resource_id == resource_id))).scalar()
            if found is None:
                connection.execute(table.insert().values(day=day, resource_id=resource_id,
                                                         count=n))
            else:
                connection.execute(table.update().where(
                    (table.c.day == day) & (table.c.resource_id == resource_id))
                    .values(count=found + n))


def delivered_since(store: Store, first_day: str) -> dict[str, int]:
    """Times each resource was delivered from ``first_day`` (``YYYY-MM-DD``, UTC) on."""
    table = tables.delivered_daily
    query = (select(table.c.resource_id, func.sum(table.c.count))
             .where(table.c.day >= first_day).group_by(table.c.resource_id))
    with store._reading() as connection:
        return {str(r): int(n) for r, n in connection.execute(query).all()}


def events_by_hour(store: Store, since_us: int) -> dict[int, int]:
    """Events received per hour (start of the hour, microseconds UTC) since ``since_us``."""
    events = tables.events
    hour = events.c.received_us // HOUR_US
    query = (select(hour, func.count()).where(events.c.received_us >= since_us)
             .group_by(hour))
    with store._reading() as connection:
        return {int(h) * HOUR_US: int(n) for h, n in connection.execute(query).all()}


def count_learners(store: Store) -> int:
    """Learners with a profile stored through the API."""
    with store._reading() as connection:
        return int(connection.execute(
            select(func.count()).select_from(tables.learners)).scalar_one())


def find_learners(store: Store, text: str, limit: int = 50) -> list[str]:
    """Ids of learners stored through the API whose id contains ``text``."""
    learners = tables.learners
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = (select(learners.c.learner_id).where(learners.c.learner_id.like(pattern, escape="\\"))
             .order_by(learners.c.learner_id).limit(limit))
    with store._reading() as connection:
        return [str(i) for i in connection.execute(query).scalars()]


def stored_profiles(store: Store, limit: int = 100_000) -> list[tuple[str, dict]]:
    """(learner id, profile) of learners stored through the API."""
    learners = tables.learners
    query = select(learners.c.learner_id, learners.c.profile).order_by(
        learners.c.learner_id).limit(limit)
    with store._reading() as connection:
        rows = connection.execute(query).all()
    return [(str(i), dict(p) if not isinstance(p, str) else json.loads(p)) for i, p in rows]
