"""Feature pipelines: events and profiles -> matrices and vectors, with id maps."""

from recommender.features.consumption import Consumption, ConsumptionRule
from recommender.features.content import ContentEncoder, resource_texts
from recommender.features.feature_set import FeatureSet, build_feature_set
from recommender.features.idmap import IdMap
from recommender.features.interactions import (
    InteractionWeights,
    build_completion_matrix,
    build_exclusion_matrix,
    build_interaction_matrix,
)
from recommender.features.profile import ProfileEncoder
from recommender.features.text import TextEncoder

__all__ = [
    "Consumption",
    "ConsumptionRule",
    "ContentEncoder",
    "FeatureSet",
    "IdMap",
    "InteractionWeights",
    "ProfileEncoder",
    "TextEncoder",
    "build_completion_matrix",
    "build_exclusion_matrix",
    "build_feature_set",
    "build_interaction_matrix",
    "resource_texts",
]
