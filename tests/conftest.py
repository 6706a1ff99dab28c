"""Shared fixtures: a tiny hand-made world whose right answers can be worked out by hand.

Two taste groups with disjoint interests: learners a1..a3 use resources r1..r3 (digital
literacy), learners b1..b3 use r4..r6 (agricultural technology).
"""

from __future__ import annotations

import pytest

from recommender.data import Dataset, validate_dataset
from two_tastes import tiny_tables


@pytest.fixture
def tiny_world() -> Dataset:
    return validate_dataset(*tiny_tables())


@pytest.fixture
def tiny_bundle(tiny_world: Dataset):
    """An ALS bundle fitted on the tiny world (no MLflow), for serving and bundle tests."""
    from recommender.bundle import Bundle
    from recommender.features import build_feature_set
    from recommender.models import ALSModel

    features = build_feature_set(tiny_world)
    model = ALSModel(factors=4, iterations=20, regularization=0.01).fit(features)
    return Bundle(
        learner_map=features.learner_map,
        resource_map=features.resource_map,
        learner_factors=model.learner_factors_,
        resource_factors=model.resource_factors_,
        exclusions=features.exclusions,
        interactions=features.interactions,
        resources=tiny_world.resources[["resource_id", "title", "category"]],
        learners=tiny_world.learners[["learner_id", "group", "age_band"]],
        manifest={"version": "als-test", "model": {"name": "als", "params": model.get_params()}},
    )
