"""What the API tells the console as it serves: deliveries per resource and the interests of
anonymous requests, summed in memory per worker and flushed to the store in the background
(at most every ``FLUSH_SECONDS``), so no list request waits for these writes. Nothing of a
request reaches a log; the store keeps aggregates only (:mod:`recommender.store.tally`). Counts
of the last few seconds of a worker that stops are lost."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime

from fastapi import Request

from recommender.delivery.core import DeliveryList
from recommender.errors import RecommenderError
from recommender.store import Store
from recommender.store.tally import DemandKey, add_delivered, add_demand

log = logging.getLogger(__name__)
FLUSH_SECONDS = 5.0


class ServingTally:
    """Per-worker counters (thread-safe) and their flush."""

    def __init__(self, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._delivered: Counter[tuple[str, str]] = Counter()
        self._demand: Counter[DemandKey] = Counter()
        self._next_flush = 0.0

    def delivered(self, store: Store, delivered: DeliveryList) -> None:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        with self._lock:
            for item in delivered.items:
                self._delivered[(day, item.resource_id)] += 1
        self._maybe_flush(store)

    def stated(self, store: Store, profile: dict[str, object]) -> None:
        interests = profile.get("interests")
        if not isinstance(interests, str) or not interests.strip():
            return

        def text(name: str) -> str | None:
            value = profile.get(name)
            return value if isinstance(value, str) and value else None

        key = DemandKey(interests.strip(), text("group"), text("region"), text("languages"),
                        text("accessibility_needs"))
        with self._lock:
            self._demand[key] += 1
        self._maybe_flush(store)

    def _maybe_flush(self, store: Store) -> None:
        now = time.monotonic()
        if now < self._next_flush:
            return
        self._next_flush = now + self.flush_seconds
        threading.Thread(target=self.flush, args=(store,), daemon=True).start()

    def flush(self, store: Store) -> None:
        """Write what was counted (blocking; the console calls it before reading). On a
        store error the counts are kept for the next flush."""
        with self._flush_lock:
            with self._lock:
                delivered, demand = self._delivered, self._demand
                self._delivered, self._demand = Counter(), Counter()
            for write, counts, kept in ((add_delivered, delivered, self._delivered),
                                        (add_demand, demand, self._demand)):
                try:
                    write(store, counts)
                except RecommenderError as error:
                    log.warning("console counts not stored yet (kept for the next flush): %s",
                                type(error).__name__)
                    with self._lock:
                        kept.update(counts)


def tally_of(request: Request) -> ServingTally | None:
    return getattr(request.app.state, "console_tally", None)


def note_delivered(request: Request, delivered: DeliveryList) -> None:
    """Count a delivery list for the console (no-op without a console)."""
    tally = tally_of(request)
    if tally is not None:
        tally.delivered(request.app.state.runtime.store, delivered)


def note_interests(request: Request, profile: dict[str, object]) -> None:
    """Count an anonymous request's stated interests for the console's demand page."""
    tally = tally_of(request)
    if tally is not None:
        tally.stated(request.app.state.runtime.store, profile)
