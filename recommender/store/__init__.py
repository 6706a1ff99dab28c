"""The serving database: events, learners and resources added through the API.

SQLAlchemy Core over one database URL: SQLite (WAL, fsync on every commit) as the embedded
default, PostgreSQL for several machines; the same code path for both.
"""

from recommender.store.engine import make_engine
from recommender.store.records import EventRecord, LearnerRecord, ResourceRecord
from recommender.store.store import (
    EventConflictError,
    IngestResult,
    LearnerSnapshot,
    Store,
    StoreError,
    StoreRefusedError,
)

__all__ = [
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
