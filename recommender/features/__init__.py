"""Feature pipelines: events and profiles -> matrices and vectors, with id maps."""

from recommender.features.feature_set import FeatureSet, build_feature_set
from recommender.features.idmap import IdMap
from recommender.features.interactions import (
    InteractionWeights,
    build_exclusion_matrix,
    build_interaction_matrix,
)

__all__ = [
    "FeatureSet",
    "IdMap",
    "InteractionWeights",
    "build_exclusion_matrix",
    "build_feature_set",
    "build_interaction_matrix",
]
