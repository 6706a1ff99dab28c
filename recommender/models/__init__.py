"""Models: each ends as learner and resource vectors whose inner product is the score."""

from recommender.models.als import ALSModel
from recommender.models.base import EmbeddingModel
from recommender.models.bpr import BPRModel
from recommender.models.cold_start import ColdStart, LearnerVector, ResourceVectors, add_resources
from recommender.models.content import ContentModel
from recommender.models.ease import EASEModel
from recommender.models.hybrid import HybridModel, choose_hybrid_weights
from recommender.models.popularity import GroupPopularityModel, PopularityModel

MODELS: dict[str, type[EmbeddingModel]] = {
    "popularity": PopularityModel,
    "group_popularity": GroupPopularityModel,
    "als": ALSModel,
    "bpr": BPRModel,
    "ease": EASEModel,
    "content": ContentModel,
    "hybrid": HybridModel,
}

__all__ = [
    "ALSModel",
    "BPRModel",
    "ColdStart",
    "ContentModel",
    "EASEModel",
    "EmbeddingModel",
    "GroupPopularityModel",
    "HybridModel",
    "LearnerVector",
    "MODELS",
    "PopularityModel",
    "ResourceVectors",
    "add_resources",
    "choose_hybrid_weights",
]
