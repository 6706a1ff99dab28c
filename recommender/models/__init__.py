"""Models: each ends as learner and resource vectors whose inner product is the score."""

from recommender.models.als import ALSModel
from recommender.models.base import EmbeddingModel
from recommender.models.bpr import BPRModel
from recommender.models.cold_start import ColdStart, LearnerVector, ResourceVectors, add_resources
from recommender.models.content import ContentModel
from recommender.models.ease import EASEModel
from recommender.models.hybrid import HybridModel, choose_hybrid_weights
from recommender.models.popularity import GroupPopularityModel, PopularityModel
from recommender.models.recency import RecentPopularityModel, choose_window_days
from recommender.models.schedule import TimeAwareModel, cohort_position, recommend_available
from recommender.models.sequence import CoAccessModel, SequenceModel

MODELS: dict[str, type[EmbeddingModel]] = {
    "popularity": PopularityModel,
    "group_popularity": GroupPopularityModel,
    "als": ALSModel,
    "bpr": BPRModel,
    "ease": EASEModel,
    "content": ContentModel,
    "hybrid": HybridModel,
    "recent_popularity": RecentPopularityModel,
    "sequence": SequenceModel,
    "co_occurrence": CoAccessModel,
    "time_aware": TimeAwareModel,
}

__all__ = [
    "ALSModel",
    "BPRModel",
    "CoAccessModel",
    "ColdStart",
    "ContentModel",
    "EASEModel",
    "EmbeddingModel",
    "GroupPopularityModel",
    "HybridModel",
    "LearnerVector",
    "MODELS",
    "PopularityModel",
    "RecentPopularityModel",
    "ResourceVectors",
    "SequenceModel",
    "TimeAwareModel",
    "add_resources",
    "choose_hybrid_weights",
    "choose_window_days",
    "cohort_position",
    "recommend_available",
]
