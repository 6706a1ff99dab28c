"""Content model: resources are their content vectors; learners are what they used and said.

Resource vector = :class:`~recommender.features.content.ContentEncoder` vector (CJK-aware text
plus categorical one-hots). Learner vector = a blend of

- ``h``: the confidence- and recency-weighted mean of the content vectors of their history
  (recency relative to the learner's own latest event, so a returning learner's last interests
  count most), and
- ``p``: their profile placed in content space: stated interests through the catalog's text
  encoder, plus a Ridge mapping, learned on learners with a history (a seeded sample of at most
  ``max_mapping_learners``), from the profile vector (group, age band, region, ...) to the
  history mean: "what people like this one use".

``learner = normalise(n/(n+s) * h + s/(n+s) * p)`` with ``n`` the number of resources in the
history and ``s = profile_strength``: the profile leads for newcomers and fades as history
accumulates. Both sides are L2-normalised, so scores are cosines in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import Ridge
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet
from recommender.features.content import ContentEncoder
from recommender.features.profile import ProfileEncoder, as_profile_frame
from recommender.models.base import EmbeddingModel, LearnerHistory, Profile, history_row
from recommender.models.state import (
    Arrays,
    Params,
    State,
    nest,
    ridge_from_state,
    ridge_state,
    unnest,
)


def _seconds(stamps: pd.Series) -> np.ndarray:
    utc = pd.to_datetime(stamps, utc=True)
    return (utc - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64)


def recency_weights(
    features: FeatureSet, half_life_days: float | None, learner_idx: np.ndarray | None = None
) -> sp.csr_matrix:
    """The interaction matrix with each pair decayed by the age of its latest event, measured
    from that learner's latest event (so a returning learner's last interests count most).

    Given ``learner_idx``, only those learners' rows, in that order (and only their events read).
    """
    rows_wanted = None if learner_idx is None else np.asarray(learner_idx, dtype=np.int64)
    weights = sp.csr_matrix(features.interactions, dtype=np.float32)
    # Decayed in place below: a row selection is already a copy, the whole matrix needs one.
    weights = weights.copy() if rows_wanted is None else weights[rows_wanted]
    events = features.events
    if not half_life_days or events is None or events.empty or weights.nnz == 0:
        return weights
    event_learner, event_resource = features.event_indices or (
        features.learner_map.indices_of(events["learner_id"], strict=False),
        features.resource_map.indices_of(events["resource_id"], strict=False),
    )
    known = (event_learner >= 0) & (event_resource >= 0)
    if rows_wanted is not None:  # learner index -> row of the result (-1: not wanted)
        row_of = np.full(features.interactions.shape[0], -1, dtype=np.int64)
        row_of[rows_wanted] = np.arange(len(rows_wanted))
        event_learner = np.where(event_learner >= 0, row_of[np.maximum(event_learner, 0)], -1)
        known &= event_learner >= 0
    if not known.any():
        return weights
    event_learner, event_resource = event_learner[known], event_resource[known]
    seconds = _seconds(events["timestamp"][known])
    n_learners, n_resources = weights.shape
    # Latest event per (learner, resource) pair, keyed like the CSR entries (row-major order).
    pair = event_learner * n_resources + event_resource
    order = np.argsort(pair, kind="stable")
    pair, seconds_by_pair = pair[order], seconds[order]
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    pair_keys, pair_last = pair[starts], np.maximum.reduceat(seconds_by_pair, starts)
    learner_last = np.full(n_learners, np.nan)
    np.fmax.at(learner_last, event_learner, seconds)
    rows = np.repeat(np.arange(n_learners), np.diff(weights.indptr))
    keys = rows * n_resources + weights.indices
    found = np.minimum(np.searchsorted(pair_keys, keys), len(pair_keys) - 1)
    pair_seconds = np.where(pair_keys[found] == keys, pair_last[found], np.nan)
    age_days = np.nan_to_num((learner_last[rows] - pair_seconds) / 86400.0, nan=0.0)
    decay = np.power(0.5, np.clip(age_days, 0.0, None) / half_life_days)
    weights.data = (weights.data * decay).astype(np.float32)
    return weights


class ContentModel(EmbeddingModel):
    """Content-based recommendation in the one embedding space (see the module docstring)."""

    # half_life_days=30 and profile_strength=1.0, measured in
    # experiments/results/interaction_weights.md: the best half-life goes opposite ways by data
    # (test ndcg@10 +0.011 at 90 d on the sample world, +0.090 at 7 d on OULAD temporal, flat on
    # Canvas), so 30 d stays between; profile strength 0.5-2 moves it by <= 0.007 at 30 d.
    def __init__(
        self,
        n_components: int = 128,
        text_weight: float = 1.0,
        field_weights: Mapping[str, float] | None = None,
        half_life_days: float | None = 30.0,
        profile_strength: float = 1.0,
        profile_alpha: float = 1.0,
        analyzer: str = "mixed",
        max_mapping_learners: int | None = 5_000,
        random_state: int = 0,
    ) -> None:
        self.n_components = n_components
        self.text_weight = text_weight
        self.field_weights = field_weights
        self.half_life_days = half_life_days
        self.profile_strength = profile_strength
        self.profile_alpha = profile_alpha
        self.analyzer = analyzer
        self.max_mapping_learners = max_mapping_learners
        self.random_state = random_state

    def fit(self, features: FeatureSet) -> Self:
        self._check_params()
        self._fit_readers(features)
        weights = recency_weights(features, self.half_life_days)
        history = normalize(weights @ self.resource_factors_).astype(np.float32)
        n_history = np.diff(sp.csr_matrix(features.interactions).indptr).astype(np.float32)
        profiles = self.profile_encoder_.transform(features.learners)
        sample = self._mapping_sample(n_history)
        self._fit_profile_map(profiles[sample], history[sample])
        self.learner_factors_ = self._blend(history, self._profile_prior(profiles), n_history)
        return self

    def fit_encoders(self, features: FeatureSet) -> Self:
        """Fit what reads resources and profiles (the catalog and profile encoders and the
        profile mapping) without a vector per training learner: all that cold start needs,
        at a cost that does not grow with the number of learners. Learner vectors are left
        empty (zero rows); :meth:`fit` adds them.
        """
        self._check_params()
        self._fit_readers(features)
        n_history = np.diff(sp.csr_matrix(features.interactions).indptr)
        sample = self._mapping_sample(n_history)
        weights = recency_weights(features, self.half_life_days, sample)
        history = normalize(weights @ self.resource_factors_).astype(np.float32)
        self._fit_profile_map(
            self.profile_encoder_.transform(features.learners.iloc[sample]), history)
        self.learner_factors_ = np.zeros((0, self.encoder_.dim_), dtype=np.float32)
        return self

    def _fit_readers(self, features: FeatureSet) -> None:
        """The catalog's encoder (and so the resource vectors) and the profile encoder."""
        self.encoder_ = ContentEncoder(
            n_components=self.n_components, text_weight=self.text_weight,
            field_weights=self.field_weights, analyzer=self.analyzer,
            random_state=self.random_state,
        )
        self.resource_factors_ = self.encoder_.fit_transform(features.resources)
        self.profile_encoder_ = ProfileEncoder(text_encoder=self.encoder_.text_encoder_)
        self.profile_encoder_.fit(features.learners)

    def _mapping_sample(self, n_history: np.ndarray) -> np.ndarray:
        """The learners the profile mapping learns from: those with a history, at most
        ``max_mapping_learners`` of them (a seeded sample). A Ridge from a few hundred profile
        columns is settled long before that, and encoding every learner's interests for it
        made cold start's fit grow with the platform. Measured on the sample world (33k
        learners, 2,000 held-out newcomers placed by profile, recall@20 of what they used):
        0.157 learning from all 31k, 0.157 from 20k, 0.158 from 10k, 0.160 from 5k."""
        warm = np.flatnonzero(n_history > 0)
        cap = self.max_mapping_learners
        if cap is not None and len(warm) > cap:
            rng = np.random.default_rng(self.random_state)
            warm = np.sort(rng.choice(warm, cap, replace=False))
        return warm

    def _fit_profile_map(self, profiles: np.ndarray, history: np.ndarray) -> None:
        self.profile_map_ = None
        if len(profiles) >= 2:
            # No intercept: a profile field nobody warm shares maps to nothing, rather than to
            # the average learner drowning out what the newcomer did say.
            self.profile_map_ = Ridge(alpha=self.profile_alpha, fit_intercept=False)
            with threadpool_limits(1, "blas"):  # a small solve: threads only wait (see text.py)
                self.profile_map_.fit(profiles, history)

    def _check_params(self) -> None:
        if not isinstance(self.profile_strength, (int, float)) or self.profile_strength < 0:
            raise InvalidParameterError("profile_strength", self.profile_strength, "a number >= 0")
        if self.half_life_days is not None and (
            not isinstance(self.half_life_days, (int, float)) or self.half_life_days <= 0
        ):
            raise InvalidParameterError(
                "half_life_days", self.half_life_days, "a number > 0 or None"
            )
        cap = self.max_mapping_learners
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 2):
            raise InvalidParameterError("max_mapping_learners", cap, "an integer >= 2 or None")

    def _profile_prior(self, profiles: np.ndarray) -> np.ndarray:
        """Profile vectors -> content space: the interests directly (unit length), plus the
        mapping's prediction at its own length (short when the profile says little)."""
        direct = np.zeros((len(profiles), self.encoder_.dim_), dtype=np.float32)
        interests = profiles[:, self.profile_encoder_.text_slice_]
        direct[:, self.encoder_.text_slice_] = normalize(interests)
        mapped = np.zeros_like(direct)
        if self.profile_map_ is not None:
            mapped = self.profile_map_.predict(profiles).astype(np.float32)
        return normalize(direct + mapped).astype(np.float32)

    def _blend(self, history: np.ndarray, prior: np.ndarray, n_history: np.ndarray) -> np.ndarray:
        share = (n_history / (n_history + self.profile_strength + 1e-12))[:, None]
        return normalize(share * history + (1.0 - share) * prior).astype(np.float32)

    def profile_vectors(
        self, learners: pd.DataFrame | pd.Series | Mapping[str, object]
    ) -> np.ndarray:
        """Learners with no history, placed in content space by profile and stated interests."""
        return self.encode_profiles(learners)[1]

    def encode_profiles(
        self, learners: pd.DataFrame | pd.Series | Mapping[str, object]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The learners' profile vectors (what the profile encoder knows of them) and their
        place in content space (:meth:`profile_vectors`), from one encoding."""
        self._check_fitted()
        profiles = self.profile_encoder_.transform(as_profile_frame(learners))
        return profiles, self._profile_prior(profiles)

    def fold_in(self, history: LearnerHistory, profile: Profile | None = None) -> np.ndarray:
        """Recency-weighted mean of the history's content vectors, blended with the profile."""
        self._check_fitted()
        resource_idx, confidence = history.resource_idx, history.confidence
        age_days = history.age_days(self.fold_in_ages)
        if age_days is not None and self.half_life_days:
            age = np.atleast_1d(np.asarray(age_days, dtype=np.float64))
            if age.shape != np.shape(np.atleast_1d(resource_idx)):
                raise InvalidParameterError("age_days", age.shape, "one age per resource_idx")
            base = np.ones(len(age)) if confidence is None else np.asarray(confidence, float)
            confidence = base * np.power(0.5, np.clip(age, 0.0, None) / self.half_life_days)
        row = history_row(resource_idx, confidence, self.resource_factors_.shape[0])
        mean = normalize(row @ self.resource_factors_).astype(np.float32)
        prior = np.zeros_like(mean) if profile is None else self.profile_vectors(profile)
        return self._blend(mean, prior, np.array([row.nnz], dtype=np.float32))[0]

    def state(self) -> State:
        """Params, both encoders (the text encoder once: they share it), the profile mapping."""
        self._check_fitted()
        encoder_params, encoder_arrays = self.encoder_.state()
        profile_params, _ = self.profile_encoder_.state(shared_text=True)
        arrays: Arrays = {
            "learner_factors_": self.learner_factors_,
            "resource_factors_": self.resource_factors_,
            **nest("encoder", encoder_arrays),
        }
        mapping = None
        if self.profile_map_ is not None:
            mapping, mapping_arrays = ridge_state(self.profile_map_)
            arrays.update(nest("profile_map", mapping_arrays))
        params = {"params": self.get_params(), "encoder": encoder_params,
                  "profile_encoder": profile_params, "profile_map": mapping}
        return params, arrays

    @classmethod
    def from_state(cls, params: Params, arrays: Arrays) -> ContentModel:
        model = cls(**params["params"])
        model.learner_factors_ = arrays["learner_factors_"]
        model.resource_factors_ = arrays["resource_factors_"]
        model.encoder_ = ContentEncoder.from_state(params["encoder"], unnest("encoder", arrays))
        model.profile_encoder_ = ProfileEncoder.from_state(
            params["profile_encoder"], {}, text_encoder=model.encoder_.text_encoder_
        )
        model.profile_map_ = None
        if params["profile_map"] is not None:
            model.profile_map_ = ridge_from_state(
                params["profile_map"], unnest("profile_map", arrays)
            )
        return model
