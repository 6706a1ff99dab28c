"""What the API serves is counted by provider type, mode and learner group, and read back with
flags: counts checked against the lists actually returned; flags on hand-set counters."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter

from recommender.delivery.rerank import ListPolicy
from recommender.errors import InvalidParameterError
from recommender.serving.exposure import equity_figures, group_label
from serving_world import API_KEY, world_tables

HEADERS = {"X-API-Key": API_KEY}


def _local_ids(learner_region: str) -> set[str]:
    """In-person resources in the learner's region or next to it (R1 and R2 are neighbours)."""
    _, resources, _, _ = world_tables()
    near = {"R1": {"R1", "R2"}, "R2": {"R1", "R2"}, "R3": {"R3"}}[learner_region]
    in_person = resources["mode"].isin(["offline", "blended"]) & resources["region"].isin(near)
    return set(resources.loc[in_person, "resource_id"])


def _group_row(figures, group: str) -> dict:
    rows = figures.groups.set_index("learner_group")
    return rows.loc[group].to_dict() if group in rows.index else {"lists": 0, "slots": 0}


def test_served_lists_are_counted_per_group_and_provider(make_client) -> None:
    before = equity_figures()
    served_local, served_slots = 0, 0
    with make_client(list_policy=ListPolicy(equal_service=1.0)) as client:
        for learner_id in [f"d{i}" for i in range(8)]:  # retirees in R1
            response = client.get(f"/v1/learners/{learner_id}/recommendations",
                                  params={"k": 5}, headers=HEADERS)
            assert response.status_code == 200, response.text
            ids = [item["resource_id"] for item in response.json()["items"]]
            served_slots += len(ids)
            served_local += len(set(ids) & _local_ids("R1"))
    after = equity_figures()
    old, new = _group_row(before, "retiree"), _group_row(after, "retiree")
    assert new["lists"] - old["lists"] == 8
    assert new["slots"] - old["slots"] == served_slots
    local_before = old.get("local_share", 0.0) * old["slots"] if old["slots"] else 0.0
    assert new["local_share"] * new["slots"] - local_before == pytest.approx(served_local)
    assert 0.0 < new["reachable_local_share"] < 1.0
    assert after.exposure["share"].sum() == pytest.approx(1.0)
    assert after.exposure["slots"].sum() - (before.exposure["slots"].sum() if len(before.exposure) else 0) >= served_slots
    assert set(after.exposure["mode"]) <= {"online", "offline", "blended", "other"}


def _registry(counts: dict[str, tuple[int, int, int, float]]) -> CollectorRegistry:
    """A registry holding the group counters: group -> (lists, slots, local slots, reach sum)."""
    registry = CollectorRegistry()
    names = ("recommender_group_lists", "recommender_group_slots",
             "recommender_group_local_slots", "recommender_group_reachable_local_share")
    counters = [Counter(name, name, ["learner_group"], registry=registry) for name in names]
    for group, values in counts.items():
        for counter, value in zip(counters, values):
            counter.labels(group).inc(value)
    return registry


def test_flags_a_group_short_of_its_reachable_share() -> None:
    # retirees: 10% of slots local against 20% reachable (ratio 0.5); youth: 19% against 20%
    # (0.95); "rural_resident" has too few lists to be flagged
    registry = _registry({"retiree": (100, 1000, 100, 20.0), "youth": (100, 1000, 190, 20.0),
                          "rural_resident": (5, 50, 0, 1.0)})
    figures = equity_figures(0.2, registry=registry)
    rows = figures.groups.set_index("learner_group")
    assert rows.loc["retiree", "exposure_ratio"] == pytest.approx(0.5)
    assert rows.loc["youth", "exposure_ratio"] == pytest.approx(0.95)
    assert rows["flagged"].to_dict() == {"retiree": True, "rural_resident": False, "youth": False}
    assert len(figures.flags) == 2  # retiree short; spread 0.45 between youth and retiree
    assert figures.flags[0].startswith("retiree:") and "spread 0.45" in figures.flags[1]
    assert equity_figures(0.6, registry=registry).flags == []
    with pytest.raises(InvalidParameterError, match="gap_threshold"):
        equity_figures(1.5, registry=registry)


def test_group_labels_are_bounded() -> None:
    assert group_label("retiree") == "retiree"
    assert group_label("adult_learner") == "adult_learner"
    assert group_label("Jane Doe, 12 Main St") == "other"
    assert group_label(None) == "unknown"
