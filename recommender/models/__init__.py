"""Models: each ends as learner and resource vectors whose inner product is the score."""

from recommender.models.als import ALSModel
from recommender.models.base import EmbeddingModel

MODELS: dict[str, type[EmbeddingModel]] = {"als": ALSModel}

__all__ = ["ALSModel", "EmbeddingModel", "MODELS"]
