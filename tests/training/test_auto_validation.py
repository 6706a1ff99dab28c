"""``train`` hands the default (auto) its config's split replayed inside the events it fits on,
when the config names a split; without one the default validates as before (issue 15)."""

from __future__ import annotations

import pandas as pd

from recommender.data.sample_world import generate_world
from recommender.spec import TemporalSplit
from training.config import parse_config
from training.pipeline import search_validation


def test_a_named_split_is_replayed_for_the_search_and_none_is_left_alone() -> None:
    world = generate_world(60, 20, 0, events_per_learner=10.0, as_of="2024-12-31")
    named = parse_config({"data": {"source": "sample"}, "split": {
        "kind": "temporal", "cut": "2024-11-01", "test_event_types": ["enroll", "view"]}},
        source="named.toml")
    split = named.split.build(world.events)
    inner = search_validation(named, split, split.train)
    assert isinstance(inner, TemporalSplit) and inner.test_event_types == ["enroll", "view"]
    held_out = split.report["n_test"] + split.report["n_test_dropped_by_type"]
    share = held_out / (split.report["n_train"] + held_out)
    after = (split.train["timestamp"] >= pd.Timestamp(inner.cut)).mean()
    assert abs(after - share) < 0.01  # the same share of the training events after its cut

    unnamed = parse_config({"data": {"source": "sample"}}, source="data_only.toml")
    assert search_validation(unnamed, unnamed.split.build(world.events), world.events) is None
