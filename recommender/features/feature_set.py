"""Everything a model may learn from, aligned to one pair of id maps.

Collaborative models read only ``interactions``; content and profile models read the catalog
and learner tables; time-aware models read ``events``. Building it once per split means every
model in an experiment sees exactly the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import scipy.sparse as sp

from recommender.data import Dataset
from recommender.features.consumption import Consumption
from recommender.features.idmap import IdMap
from recommender.features.ordinal import as_ordinal
from recommender.features.interactions import (
    EventIndices,
    InteractionWeights,
    build_exclusion_matrix,
    build_interaction_matrix,
    event_indices,
)


@dataclass(frozen=True)
class FeatureSet:
    """Training inputs; row i of each table / matrix is learner_idx or resource_idx i."""

    learner_map: IdMap
    resource_map: IdMap
    interactions: sp.csr_matrix  # learners x resources confidence
    exclusions: sp.csr_matrix  # learners x resources: consumed (by ``consumption``)
    learners: pd.DataFrame
    resources: pd.DataFrame
    events: pd.DataFrame  # the events the matrices were built from
    consumption: Consumption  # the consumption rule, resolved on the whole data set
    # Each event's (learner_idx, resource_idx) when build_feature_set looked them up, so models
    # that read events need not look a million ids up again; None: look them up.
    event_indices: EventIndices | None = field(default=None, repr=False, compare=False)

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

    Id maps always cover the whole dataset, so a split's train and test share one index space;
    the consumption rule (``weights.consumption``) is resolved on the whole dataset's event
    types for the same reason. With ``weights.ordinal_time`` the events' timestamps become
    each learner's steps (:func:`~recommender.features.ordinal.as_ordinal`), in every matrix
    and in ``events``, and ``now`` is each learner's latest event.
    """
    weights = weights or InteractionWeights()
    consumption = weights.consumption.resolve(dataset.events["event_type"].unique())
    events = dataset.events if events is None else events
    if weights.ordinal_time:
        events, now = as_ordinal(events), None
    learner_map = IdMap("learner", dataset.learners["learner_id"])
    resource_map = IdMap("resource", dataset.resources["resource_id"])
    indices = event_indices(events, learner_map, resource_map)
    return FeatureSet(
        learner_map=learner_map,
        resource_map=resource_map,
        interactions=build_interaction_matrix(
            events, learner_map, resource_map, weights, now=now, indices=indices),
        exclusions=build_exclusion_matrix(events, learner_map, resource_map, consumption,
                                          indices=indices),
        learners=dataset.learners.reset_index(drop=True),
        resources=dataset.resources.reset_index(drop=True),
        events=events,
        consumption=consumption,
        event_indices=indices,
    )
