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


def niche_then_blockbusters(n_learners: int = 160, seed: int = 0) -> tuple[
    pd.DataFrame, pd.DataFrame, pd.DataFrame
]:
    """Learners, resources and events (days 0-299 from :data:`START`) where the latest events
    and the new enrolments ask for different models.

    Each learner enrols in three of 48 niche courses N.. (days 0-200) and views each of them
    twelve times afterwards, up to day 299; they also enrol in five of twelve blockbusters B..
    at any time (days 0-299) and complete each the next day, never viewing it. A learner's
    latest events are mostly views of their own niche courses (a model that gives a learner
    back their own courses, ALS, wins there), while their enrolments after a date are in
    blockbusters they have not taken (popularity wins there: their own niche courses are no
    new enrolment).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    niche = [f"N{i:02d}" for i in range(48)]
    blockbusters = [f"B{i:02d}" for i in range(12)]
    rows: list[tuple[str, str, str, float]] = []
    for i in range(n_learners):
        learner_id = f"l{i:03d}"
        for resource_id in rng.choice(niche, 3, replace=False):
            day = float(rng.uniform(0, 200))
            rows.append((learner_id, resource_id, "enroll", day))
            rows += [(learner_id, resource_id, "view", float(v))
                     for v in rng.uniform(day + 0.01, 299, 12)]
        for resource_id in rng.choice(blockbusters, 5, replace=False):
            day = float(rng.uniform(0, 298))
            rows += [(learner_id, resource_id, "enroll", day),
                     (learner_id, resource_id, "complete", day + 1.0)]
    frame = pd.DataFrame(rows, columns=["learner_id", "resource_id", "event_type", "day"])
    events = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(frame))],
        "learner_id": frame["learner_id"], "resource_id": frame["resource_id"],
        "event_type": frame["event_type"], "value": "",
        "timestamp": [(START + pd.Timedelta(days=d)).isoformat() for d in frame["day"]],
    })
    ids = [*niche, *blockbusters]
    resources = pd.DataFrame({"resource_id": ids, "title": [f"course {r}" for r in ids],
                              "category": "digital_literacy", "mode": "online"})
    learners = pd.DataFrame({"learner_id": sorted(frame["learner_id"].unique()),
                             "group": "adult_learner", "interests": "learning"})
    return learners, resources, events
