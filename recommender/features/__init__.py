"""Feature pipelines: events and profiles -> matrices and vectors, with id maps."""

from recommender.features.idmap import IdMap
from recommender.features.interactions import (
    InteractionWeights,
    build_exclusion_matrix,
    build_interaction_matrix,
)

__all__ = ["IdMap", "InteractionWeights", "build_exclusion_matrix", "build_interaction_matrix"]
