"""Everything a model may learn from, aligned to one pair of id maps.

Collaborative models read only ``interactions``; content and profile models read the catalog
and learner tables; time-aware models read ``events``. Building it once per split means every
model in an experiment sees exactly the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import scipy.sparse as sp

from recommender.data import Dataset
from recommender.features.idmap import IdMap
from recommender.features.interactions import (
    InteractionWeights,
    build_exclusion_matrix,
    build_interaction_matrix,
)


@dataclass(frozen=True)
class FeatureSet:
    """Training inputs; row i of each table / matrix is learner_idx or resource_idx i."""

    learner_map: IdMap
    resource_map: IdMap
    interactions: sp.csr_matrix  # learners x resources confidence
    exclusions: sp.csr_matrix  # learners x resources: completed or dismissed
    learners: pd.DataFrame
    resources: pd.DataFrame
    events: pd.DataFrame  # the events the matrices were built from

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.learner_map), len(self.resource_map)


def build_feature_set(
    dataset: Dataset,
    events: pd.DataFrame | None = None,
    weights: InteractionWeights | None = None,
    *,
    now: pd.Timestamp | None = None,
) -> FeatureSet:
    """Features over every learner and resource of ``dataset`` from ``events`` (default: all).

    Id maps always cover the whole dataset, so a split's train and test share one index space.
    """
    events = dataset.events if events is None else events
    learner_map = IdMap("learner", dataset.learners["learner_id"])
    resource_map = IdMap("resource", dataset.resources["resource_id"])
    return FeatureSet(
        learner_map=learner_map,
        resource_map=resource_map,
        interactions=build_interaction_matrix(events, learner_map, resource_map, weights, now=now),
        exclusions=build_exclusion_matrix(events, learner_map, resource_map),
        learners=dataset.learners.reset_index(drop=True),
        resources=dataset.resources.reset_index(drop=True),
        events=events,
    )
