"""Popularity baselines, global and per learner group, written as inner products.

Global: resource vector ``[p_r]`` (share of learners who engaged with r), learner vector
``[1]``. Per group: resource vector ``[p_r, p_r|g1, ..., p_r|gG]`` (share of each group's
learners), learner vector ``[global_weight, onehot(group)]``, so a learner sees what their own
group uses, ties (and unseen or tiny groups) settled by global popularity. Both stay one FAISS
inner-product search like every other model.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet
from recommender.features.profile import as_profile_frame
from recommender.models.base import EmbeddingModel, LearnerHistory, Profile


def _engaged(features: FeatureSet) -> sp.csr_matrix:
    """Binary learners x resources: who engaged (positive confidence) with what."""
    engaged = sp.csr_matrix(features.interactions, dtype=np.float32, copy=True)
    engaged.data = (engaged.data > 0).astype(np.float32)
    engaged.eliminate_zeros()
    return engaged


class PopularityModel(EmbeddingModel):
    """The same list for everyone: resources by the share of learners who engaged with them."""

    def fit(self, features: FeatureSet) -> Self:
        engaged = _engaged(features)
        n_learners = max(engaged.shape[0], 1)
        share = np.asarray(engaged.sum(axis=0)).ravel() / n_learners
        self.popularity_ = share.astype(np.float32)
        self.resource_factors_ = self.popularity_[:, None].copy()
        self.learner_factors_ = np.ones((engaged.shape[0], 1), dtype=np.float32)
        return self

    def fold_in(self, history: LearnerHistory, profile: Profile | None = None) -> np.ndarray:
        """Every learner's vector is ``[1]``: history does not change a global ranking."""
        self._check_fitted()
        return np.ones(1, dtype=np.float32)


class GroupPopularityModel(EmbeddingModel):
    """Per-group popularity; ``global_weight`` mixes in global popularity for every learner."""

    def __init__(self, global_weight: float = 0.1) -> None:
        self.global_weight = global_weight

    def fit(self, features: FeatureSet) -> Self:
        if not isinstance(self.global_weight, (int, float)) or self.global_weight < 0:
            raise InvalidParameterError("global_weight", self.global_weight, "a number >= 0")
        engaged = _engaged(features)
        group = features.learners["group"].astype(object)
        group = group.where(group.notna(), "")
        codes, groups = pd.factorize(group.to_numpy(dtype=object), sort=True)
        n_learners, n_groups = engaged.shape[0], len(groups)
        membership = sp.csr_matrix(
            (np.ones(n_learners, dtype=np.float32), (codes, np.arange(n_learners))),
            shape=(n_groups, n_learners),
        )
        size = np.maximum(np.asarray(membership.sum(axis=1)).ravel(), 1.0)
        per_group = (membership @ engaged).toarray() / size[:, None]  # groups x resources
        share = np.asarray(engaged.sum(axis=0)).ravel() / max(n_learners, 1)
        self.groups_ = [str(g) for g in groups]
        self.resource_factors_ = np.ascontiguousarray(
            np.hstack([share[:, None], per_group.T]), dtype=np.float32
        )
        learner = np.zeros((n_learners, 1 + n_groups), dtype=np.float32)
        learner[:, 0] = self.global_weight
        learner[np.arange(n_learners), 1 + codes] = 1.0
        self.learner_factors_ = learner
        return self

    def group_vector(self, group: str | None) -> np.ndarray:
        """The learner vector of a group member; an unknown group gets global popularity only."""
        self._check_fitted()
        vector = np.zeros(self.resource_factors_.shape[1], dtype=np.float32)
        vector[0] = self.global_weight
        if group in self.groups_:
            vector[1 + self.groups_.index(group)] = 1.0
        elif self.global_weight == 0:
            vector[0] = 1.0  # with no group to go on, global popularity is all there is
        return vector

    def fold_in(self, history: LearnerHistory, profile: Profile | None = None) -> np.ndarray:
        """The learner's group vector (from ``profile``); history does not move popularity."""
        self._check_fitted()
        group = None
        if profile is not None:
            frame = as_profile_frame(profile)
            if "group" in frame.columns and len(frame) and pd.notna(frame["group"].iloc[0]):
                group = str(frame["group"].iloc[0])
        return self.group_vector(group)
