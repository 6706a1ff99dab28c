"""Candidate rules of an experiment: which resources every learner's list may draw from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.errors import InvalidParameterError
from recommender.evaluation.report_metrics import candidate_exclusions
from recommender.features import build_feature_set


@pytest.fixture
def features(tiny_world):
    events = tiny_world.events
    # Train on everything but r6's events, so r6 has no training interaction.
    return build_feature_set(tiny_world, events[events["resource_id"] != "r6"])


def _kept(features, excluded):
    keep = np.ones(len(features.resource_map), dtype=bool)
    if excluded is not None:
        keep[excluded] = False
    return [features.resource_map.id_of(i) for i in np.flatnonzero(keep)]


def test_all_keeps_the_catalog(features):
    assert candidate_exclusions(features, "all") is None


def test_cold_keeps_resources_without_training_interactions(features):
    assert _kept(features, candidate_exclusions(features, "cold")) == ["r6"]


def test_active_keeps_resources_used_shortly_before_the_cut(features):
    events = features.events
    last_a = events.loc[events["resource_id"].isin(["r1", "r2", "r3"]), "timestamp"].max()
    cut = events["timestamp"].max() + pd.Timedelta(hours=1)
    window = (cut, cut + pd.Timedelta(days=30))
    days = (cut - last_a).total_seconds() / 86400 - 0.01
    assert _kept(features, candidate_exclusions(features, "active", window=window, active_days=days)) == [
        "r4", "r5"]  # r6 never trained on; r1-r3 used longer ago than `days`


def test_open_keeps_resources_available_during_the_test_window(tiny_world):
    resources = tiny_world.resources.assign(
        available_from=pd.to_datetime([None, "2024-03-01", None, None, None, None], utc=True),
        available_until=pd.to_datetime(["2024-01-31", None, None, None, None, None], utc=True),
    )
    features = build_feature_set(tiny_world.__class__(tiny_world.learners, resources, tiny_world.events))
    window = (pd.Timestamp("2024-02-01", tz="UTC"), pd.Timestamp("2024-02-29", tz="UTC"))
    assert _kept(features, candidate_exclusions(features, "open", window=window)) == ["r3", "r4", "r5", "r6"]


def test_a_rule_needing_a_window_says_so(features):
    with pytest.raises(InvalidParameterError, match="window"):
        candidate_exclusions(features, "open")
