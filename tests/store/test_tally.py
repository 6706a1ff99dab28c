"""The console's aggregates: anonymous demand and deliveries add up across flushes; events are
counted by the hour they were received."""

from __future__ import annotations

from recommender.store import EventRecord, Store
from recommender.store.tally import (
    HOUR_US,
    DemandKey,
    add_delivered,
    add_demand,
    delivered_since,
    events_by_hour,
    stated_demand,
)


def test_counts_add_up_and_read_back(tmp_path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 's.db'}")
    store.create_schema()
    phone = DemandKey("想学智能手机", "retiree", "R1", "zh", None)
    add_demand(store, {phone: 2, DemandKey("farming", "rural_resident"): 1})
    add_demand(store, {phone: 3})
    found = stated_demand(store)
    assert [(d.key, d.count) for d in found] == [
        (phone, 5), (DemandKey("farming", "rural_resident"), 1)]
    add_delivered(store, {("2026-01-01", "r1"): 2, ("2026-01-02", "r1"): 1,
                          ("2026-01-02", "r2"): 4})
    add_delivered(store, {("2026-01-02", "r2"): 1})
    assert delivered_since(store, "2026-01-02") == {"r1": 1, "r2": 5}
    assert delivered_since(store, "2026-01-01") == {"r1": 3, "r2": 5}
    store.add_events([EventRecord(f"e{i}", "L1", "r1", "view", None, 0) for i in range(3)])
    hours = events_by_hour(store, 0)
    assert sum(hours.values()) == 3 and all(h % HOUR_US == 0 for h in hours)
    store.dispose()
