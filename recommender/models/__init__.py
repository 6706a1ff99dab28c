"""Models: each ends as learner and resource vectors whose inner product is the score.

Estimators only: a search that chooses weights or windows on validation data wraps them from
outside (the ``selection`` package). Every class a config can reach, a part of a composite
included, is in :data:`MODELS`, so a bundle can name it.
"""

from recommender.models.als import ALSModel
from recommender.models.base import (
    EmbeddingModel,
    HistoryAges,
    LearnerHistory,
    ModelPart,
    model_parts,
)
from recommender.models.bpr import BPRModel
from recommender.models.cold_start import ColdStart, LearnerVector, ResourceVectors, add_resources
from recommender.models.content import ContentModel
from recommender.models.ease import EASEModel
from recommender.models.hybrid import HybridModel
from recommender.models.popularity import GroupPopularityModel, PopularityModel
from recommender.models.rp3beta import RP3betaModel
from recommender.models.recency import (
    BreadthRecencyModel,
    PeerRecencyModel,
    RecentPopularityModel,
)
from recommender.models.schedule import (
    ScheduledPopularityModel,
    TimeAwareModel,
    cohort_position,
)
from recommender.models.sequence import CoAccessModel, SequenceModel

MODELS: dict[str, type[EmbeddingModel]] = {
    "popularity": PopularityModel,
    "group_popularity": GroupPopularityModel,
    "als": ALSModel,
    "bpr": BPRModel,
    "ease": EASEModel,
    "rp3beta": RP3betaModel,
    "content": ContentModel,
    "hybrid": HybridModel,
    "recent_popularity": RecentPopularityModel,
    "scheduled_popularity": ScheduledPopularityModel,
    "peer_recency": PeerRecencyModel,
    "breadth_recency": BreadthRecencyModel,
    "sequence": SequenceModel,
    "co_occurrence": CoAccessModel,
    "time_aware": TimeAwareModel,
}
# Registered so a bundle can name them, but reached through TimeAwareModel's options
# (release_forecast, peers, breadth_groups) rather than run on their own in the experiments.
OPTION_PARTS: frozenset[str] = frozenset({"scheduled_popularity", "peer_recency",
                                          "breadth_recency"})

__all__ = [
    "ALSModel",
    "BPRModel",
    "BreadthRecencyModel",
    "CoAccessModel",
    "ColdStart",
    "ContentModel",
    "EASEModel",
    "EmbeddingModel",
    "GroupPopularityModel",
    "HistoryAges",
    "HybridModel",
    "LearnerHistory",
    "LearnerVector",
    "MODELS",
    "ModelPart",
    "OPTION_PARTS",
    "PeerRecencyModel",
    "PopularityModel",
    "RecentPopularityModel",
    "RP3betaModel",
    "ResourceVectors",
    "ScheduledPopularityModel",
    "SequenceModel",
    "TimeAwareModel",
    "add_resources",
    "cohort_position",
    "model_parts",
]
