"""What one worker serves: a loaded bundle plus its FAISS index, swapped as a unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.bundle import Bundle
from recommender.errors import InvalidParameterError
from recommender.index import ResourceIndex


@dataclass(frozen=True)
class ServedModel:
    """An immutable (bundle, index) pair; replacing the whole object is the atomic swap."""

    bundle: Bundle
    index: ResourceIndex

    @classmethod
    def from_bundle(cls, bundle: Bundle, index_factory: str = "Flat") -> ServedModel:
        return cls(bundle=bundle, index=ResourceIndex(bundle.resource_factors, index_factory))

    def recommend(self, learner_id: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (resource_idx, score) for a known learner, without what they are done with."""
        if k < 1:
            raise InvalidParameterError("k", k, "an integer >= 1")
        bundle = self.bundle
        learner_idx = bundle.learner_map.index_of(learner_id)
        done = bundle.exclusions.indices[
            bundle.exclusions.indptr[learner_idx]: bundle.exclusions.indptr[learner_idx + 1]
        ]
        resource_idx, scores = self.index.search(
            bundle.learner_factors[learner_idx], k, [done]
        )
        keep = resource_idx[0] >= 0
        return resource_idx[0][keep], scores[0][keep]
