"""The tables: events (event_id is the key that makes ingestion idempotent), learners and
resources upserted through the API, credit recognised from outside the platform (credit_id makes
it idempotent), and one row per shared serving setting."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

ID_LENGTH = 200

metadata = MetaData()

events = Table(
    "events", metadata,
    Column("event_id", String(ID_LENGTH), primary_key=True),
    Column("learner_id", String(ID_LENGTH), nullable=False),
    Column("resource_id", String(ID_LENGTH), nullable=False),
    Column("event_type", String(20), nullable=False),
    Column("value", Float, nullable=True),
    Column("ts_us", BigInteger, nullable=False),  # event time, microseconds since the epoch UTC
    Column("received_us", BigInteger, nullable=False),
    # Every recommendation request reads one learner's recent events: keep that an index seek.
    Index("ix_events_learner_ts", "learner_id", "ts_us"),
)

learners = Table(
    "learners", metadata,
    Column("learner_id", String(ID_LENGTH), primary_key=True),
    Column("profile", JSON, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

resources = Table(
    "resources", metadata,
    Column("resource_id", String(ID_LENGTH), primary_key=True),
    Column("record", JSON, nullable=False),
    Column("withdrawn", Boolean, nullable=False, default=False),
    # Bumped on every upsert: (count, sum of revisions) tells a worker the catalog changed.
    Column("revision", Integer, nullable=False, default=1),
    Column("updated_us", BigInteger, nullable=False),
)

# Learning done elsewhere and recognised by the platform (a credit bank's transfers in): added
# to the learner's credit ledger for the year of ``earned_on``; never edited, only added.
credits = Table(
    "credits", metadata,
    Column("credit_id", String(ID_LENGTH), primary_key=True),
    Column("learner_id", String(ID_LENGTH), nullable=False),
    Column("hours", Float, nullable=False),
    Column("source", String(ID_LENGTH), nullable=False),
    Column("earned_on", Date, nullable=False),
    Column("evidence", String(1000), nullable=True),
    Column("category", String(100), nullable=True),
    Column("title", String(500), nullable=True),
    Column("received_us", BigInteger, nullable=False),
    Index("ix_credits_learner_earned", "learner_id", "earned_on"),
)

serving_state = Table(
    "serving_state", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("revision", Integer, nullable=False),
)

# --- what the operator console reads (aggregates only: no learner id, nothing per request) --

stated_demand = Table(
    "stated_demand", metadata,
    # Interests stated in anonymous requests, counted per distinct (interests, group, region,
    # languages, needs); the key is a digest of those fields.
    Column("key", String(64), primary_key=True),
    Column("interests", String(500), nullable=False),
    Column("learner_group", String(ID_LENGTH), nullable=True),
    Column("region", String(ID_LENGTH), nullable=True),
    Column("languages", String(ID_LENGTH), nullable=True),
    Column("accessibility_needs", String(ID_LENGTH), nullable=True),
    Column("count", Integer, nullable=False),
    Column("last_us", BigInteger, nullable=False),
)

delivered_daily = Table(
    "delivered_daily", metadata,
    # How often each resource was put in a delivery list, per UTC day.
    Column("day", String(10), primary_key=True),
    Column("resource_id", String(ID_LENGTH), primary_key=True),
    Column("count", Integer, nullable=False),
)
