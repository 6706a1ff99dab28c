"""The serving database: events, learners and resources added through the API, and credit
recognised from elsewhere.

SQLAlchemy Core over one database URL: SQLite (WAL, fsync on every commit) as the embedded
default, PostgreSQL for several machines; the same code path for both.
"""

from recommender.store.engine import make_engine
from recommender.store.records import CreditRecord, EventRecord, LearnerRecord, ResourceRecord
from recommender.store.store import (
    CreditConflictError,
    EventConflictError,
    IngestResult,
    LearnerSnapshot,
    Store,
    StoreError,
    StoreRefusedError,
)

__all__ = [
    "CreditConflictError",
    "CreditRecord",
    "EventConflictError",
    "EventRecord",
    "IngestResult",
    "LearnerRecord",
    "LearnerSnapshot",
    "ResourceRecord",
    "Store",
    "StoreError",
    "StoreRefusedError",
    "make_engine",
]
