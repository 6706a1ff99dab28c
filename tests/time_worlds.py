"""Tiny dated worlds for the searches (a plain module, imported by the tests beside it)."""

from __future__ import annotations

import pandas as pd

from recommender.data import validate_dataset
from recommender.features import FeatureSet, build_feature_set

START = pd.Timestamp("2024-03-01", tz="UTC")


def dated_features(events: list[tuple[str, str, float]]) -> FeatureSet:
    """A validated world from (learner_id, resource_id, day) view events."""
    frame = pd.DataFrame(events, columns=["learner_id", "resource_id", "day"])
    ids = sorted(frame["resource_id"].unique())
    resources = pd.DataFrame({"resource_id": ids, "title": [f"course {r}" for r in ids],
                              "category": "digital_literacy", "mode": "online"})
    learner_ids = sorted(frame["learner_id"].unique())
    learners = pd.DataFrame({"learner_id": learner_ids, "group": "adult_learner",
                             "interests": "learning"})
    rows = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(frame))],
        "learner_id": frame["learner_id"], "resource_id": frame["resource_id"],
        "event_type": "view", "value": 1.0,
        "timestamp": [(START + pd.Timedelta(days=d)).isoformat() for d in frame["day"]],
    })
    return build_feature_set(validate_dataset(learners, resources, rows))


def shifting_world() -> FeatureSet:
    """A new resource W_k each week that every learner starts within two weeks of its release,
    and a burst of A1..A3 (learners 0..29, days 45-50) that learners 30..39 never open: short
    recency windows win at the validation cuts (as in tests/models/test_time_aware.py)."""
    events = []
    for resource in ("A1", "A2", "A3"):
        events += [(f"l{i:02d}", resource, 45 + i % 6) for i in range(30)]
    for week in range(5):
        release = 31 + 7 * week
        events += [(f"l{i:02d}", f"W{week}", release + i % 14) for i in range(40)]
    return dated_features(events)
