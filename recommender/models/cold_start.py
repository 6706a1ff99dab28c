"""Cold start without retraining: new resources, new learners, learners with a few new events.

Three paths, each reported on the result so no answer pretends to be what it is not:

- ``"content_mapping"``: a new resource gets its vector from its content, through a Ridge
  mapping learned on warm resources (content vector -> the model's resource vector; for the
  content model the content vector is the vector), so it can be recommended at once.
- ``"profile"``: a new learner with no events gets a vector from their profile and stated
  interests: the content model places the profile in content space, the resources nearest to
  it become a pseudo-history, and the model folds that in (the content model and the
  popularity models use the profile directly).
- ``"fold_in"``: a learner with (a few new) events gets a fresh vector against the fixed
  resource vectors: implicit's ``recalculate_user`` for ALS (the closed-form ALS user solve),
  the mean of content vectors for the content model, the history row for EASE, ... (each
  model's ``fold_in``). A newcomer (no training history) who stated interests keeps them: their
  vector points along ``w * profile + (1 - w) * history`` (both as unit vectors) with
  ``w = n0 / (n0 + n)`` for ``n`` resources in their history, so stated interests fade as
  events accumulate instead of vanishing at the first one (``n0``: ``profile_prior_events``,
  measured in ``experiments/newcomer_profile.py``).
  A profile without stated interests (demographics only) is not blended: on OULAD newcomers it
  cost far more than it gave (experiments/README.md).

``cold_start=None`` means the trained vector was returned unchanged. ``path`` says which parts
made the vector: ``trained``, ``history`` (a fold-in of events), ``profile+history`` (the
blend above) or ``profile``.

One code path: a known learner's past is their row of the interaction matrix, fresh from
``fit`` as after a bundle round trip (the raw events are not kept), so what tests exercise is
what serving runs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import Ridge
from threadpoolctl import threadpool_limits

from recommender.errors import InvalidParameterError, NotFittedError
from recommender.features import FeatureSet, IdMap, InteractionWeights, build_interaction_matrix
from recommender.features.interactions import event_weight_values
from recommender.features.ordinal import as_ordinal
from recommender.models.base import (
    EmbeddingModel,
    HistoryAges,
    LearnerHistory,
    Profile,
    history_row,
    model_parts,
)
from recommender.models.content import ContentModel
from recommender.models.state import (
    Arrays,
    Params,
    State,
    model_state,
    nest,
    restore_model,
    ridge_from_state,
    ridge_state,
    unnest,
    weights_from_state,
    weights_state,
)

COLD_START_PATHS: tuple[str, ...] = ("fold_in", "profile", "content_mapping")
VECTOR_PATHS: tuple[str, ...] = ("trained", "history", "profile+history", "profile")
# How many history resources a newcomer's stated interests are worth (n0 of w = n0 / (n0 + n)):
# measured on held-out newcomers of the sample world and OULAD (experiments/README.md).
PROFILE_PRIOR_EVENTS = 10.0
_PATH_OF = {None: "trained", "fold_in": "history", "profile": "profile"}
# Learner profile fields a cold start reads and a bundle carries (reasons, filters, cold start):
# fresh from fit or restored from a bundle, a cold start sees the same profile row.
PROFILE_COLUMNS: tuple[str, ...] = (
    "learner_id", "group", "age_band", "region", "urban_rural", "education_level", "languages",
    "accessibility_needs", "interests", "credit_hours_required",
)



@dataclass(frozen=True)
class LearnerVector:
    """A learner vector in the model's space, the cold-start path that produced it and which
    parts made it (``path``, one of :data:`VECTOR_PATHS`; default: what ``cold_start`` says)."""

    vector: np.ndarray
    cold_start: str | None  # None, "fold_in" or "profile"
    path: str = ""

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", _PATH_OF.get(self.cold_start, "history"))


@dataclass(frozen=True)
class ResourceVectors:
    """New resources' vectors (one row each) and the cold-start path that produced them."""

    vectors: np.ndarray
    cold_start: str = "content_mapping"


def _parts(model: EmbeddingModel) -> list[EmbeddingModel]:
    """The models whose resource vectors are concatenated (a composite's parts, else the model)."""
    return [part.model for part in model_parts(model)]


def map_cold_resources(
    model: EmbeddingModel, features: FeatureSet, weights: InteractionWeights | None = None,
    content: ContentModel | None = None, cold_content: np.ndarray | None = None,
) -> tuple[EmbeddingModel, int]:
    """``model`` (fitted on ``features``) with the vectors serving gives a new resource
    (:class:`ColdStart`'s content mapping) for every resource without interactions in
    ``features``, in a shallow copy; and how many were mapped. An experiment scores its test
    this way with ``cold_resources = "content_mapping"``, and the family search its
    validation when told to (so both judge what a bundle of the fit would serve); ``content``
    as :class:`ColdStart` takes it (fitted once, it serves every model of one split), and
    ``cold_content`` the cold resources' content as that reader encodes it (likewise)."""
    seen = np.asarray((sp.csr_matrix(features.interactions) != 0).sum(axis=0)).ravel() > 0
    cold = np.flatnonzero(~seen)
    if len(cold) == 0 or seen.sum() < 2:
        return model, 0
    cold_start = ColdStart(model, content=content, weights=weights).fit(features)
    vectors = (cold_start.resource_vectors(features.resources.iloc[cold]) if cold_content is None
               else cold_start.vectors_of_content(cold_content)).vectors
    factors = np.array(model.resource_factors_, dtype=np.float32, copy=True)
    factors[cold] = vectors
    mapped = copy.copy(model)
    mapped.resource_factors_ = np.ascontiguousarray(factors)
    return mapped, len(cold)


def add_resources(model: EmbeddingModel, vectors: np.ndarray) -> EmbeddingModel:
    """A shallow copy of ``model`` that also knows new resources (resource_idx n, n+1, ...).

    The learner vectors are shared, not copied; only the resource side grows.
    """
    model._check_fitted()
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    if vectors.shape[1] != model.resource_factors_.shape[1]:
        raise InvalidParameterError(
            "vectors", vectors.shape, f"{model.resource_factors_.shape[1]} columns, as the model's"
        )
    grown = copy.copy(model)
    grown.__dict__.pop("_resource_index", None)
    grown.resource_factors_ = np.ascontiguousarray(np.vstack([model.resource_factors_, vectors]))
    return grown


class ColdStart(BaseEstimator):
    """Cold-start vectors for one fitted model (see the module docstring for the paths).

    ``content`` is the content model used to read resources and profiles; when ``model`` is
    (or contains) a fitted :class:`ContentModel` that one is reused, else ``content`` (default
    ``ContentModel()``) is fitted on the same features (its encoders only:
    :meth:`ContentModel.fit_encoders`); a ``content`` already fitted so on the same features
    (a search mapping many models on one split) is used as is. ``weights`` must be the
    :class:`InteractionWeights` the features were built with, so new events weigh the same.
    A profile's pseudo-history is its ``n_pseudo_events`` nearest resources in content space
    that score at least ``pseudo_min_similarity`` times the nearest one (a weak tail is noise).
    """

    def __init__(
        self,
        model: EmbeddingModel,
        content: ContentModel | None = None,
        mapping_alpha: float = 1.0,
        n_pseudo_events: int = 10,
        pseudo_min_similarity: float = 0.5,
        weights: InteractionWeights | None = None,
    ) -> None:
        self.model = model
        self.content = content
        self.mapping_alpha = mapping_alpha
        self.n_pseudo_events = n_pseudo_events
        self.pseudo_min_similarity = pseudo_min_similarity
        self.weights = weights

    def fit(self, features: FeatureSet) -> Self:
        """Learn the content -> resource-vector mappings on warm resources."""
        self.model._check_fitted()
        n_pseudo = self.n_pseudo_events
        if isinstance(n_pseudo, bool) or not isinstance(n_pseudo, int) or n_pseudo < 1:
            raise InvalidParameterError("n_pseudo_events", self.n_pseudo_events, "an integer >= 1")
        found = [part for part in _parts(self.model) if isinstance(part, ContentModel)]
        if found:
            content = found[0]
        elif self.content is not None and getattr(self.content, "encoder_", None) is not None:
            content = self.content  # fitted by the caller on these features: used as is
        else:
            content = clone(self.content) if self.content is not None else ContentModel()
            content.fit_encoders(features)  # its learner vectors would never place anyone
        self.content_ = content
        warm = np.asarray((sp.csr_matrix(features.interactions) > 0).sum(axis=0)).ravel() > 0
        if warm.sum() < 2:
            raise InvalidParameterError(
                "features", int(warm.sum()), "at least 2 resources with interactions"
            )
        self.mappings_: list[Ridge | None] = []
        for part in _parts(self.model):
            if part is content:
                self.mappings_.append(None)  # its resource vectors are the content vectors
                continue
            mapping = Ridge(alpha=self.mapping_alpha)
            with threadpool_limits(1, "blas"):  # a small solve (resources x dims): no threads
                mapping.fit(content.resource_factors_[warm], part.resource_factors_[warm])
            self.mappings_.append(mapping)
        self.learner_map_ = features.learner_map
        self.resource_map_ = features.resource_map
        self.interactions_ = sp.csr_matrix(features.interactions)
        learners = features.learners
        self.learners_ = learners[[c for c in PROFILE_COLUMNS if c in learners]].reset_index(
            drop=True)
        data = self.interactions_.data
        self.pseudo_confidence_ = float(np.median(data)) if data.size else 1.0
        events = features.events
        self.history_until_ = (
            pd.Timestamp(events["timestamp"].max()).isoformat()
            if events is not None and not events.empty else None
        )
        return self

    def state(self) -> State:
        """Params, the Ridge mappings and the content model (a reference to the model's own
        content part when it has one). The model, id maps, interactions and learner profiles
        are the bundle's own parts and are handed back to :meth:`from_state`."""
        self._check_fitted()
        parts = _parts(self.model)
        params: Params = {
            "params": {"mapping_alpha": self.mapping_alpha,
                       "n_pseudo_events": self.n_pseudo_events,
                       "pseudo_min_similarity": self.pseudo_min_similarity},
            "weights": weights_state(self.weights),
            "pseudo_confidence_": self.pseudo_confidence_,
            "history_until_": getattr(self, "history_until_", None),
            "mappings": [],
        }
        arrays: Arrays = {}
        shared = [i for i, part in enumerate(parts) if part is self.content_]
        if shared:
            params["content"] = {"part": shared[0]}
        else:
            content_params, content_arrays = model_state(self.content_)
            # Its learner vectors (one per training learner) are never used to place anyone.
            learners = content_arrays.pop("learner_factors_")
            params["content"] = {"model": content_params, "learner_width": learners.shape[1]}
            arrays.update(nest("content", content_arrays))
        for i, mapping in enumerate(self.mappings_):
            if mapping is None:
                params["mappings"].append(None)
                continue
            mapping_params, mapping_arrays = ridge_state(mapping)
            params["mappings"].append(mapping_params)
            arrays.update(nest(f"mapping.{i}", mapping_arrays))
        return params, arrays

    @classmethod
    def from_state(
        cls,
        params: Params,
        arrays: Arrays,
        *,
        model: EmbeddingModel,
        learner_map: IdMap,
        resource_map: IdMap,
        interactions: sp.csr_matrix,
        learners: pd.DataFrame,
    ) -> ColdStart:
        """Rebuild around a restored ``model`` and the bundle's maps, history and profiles.

        As after ``fit``, a known learner's past comes from their interaction row (see
        :meth:`_history_of`).
        """
        weights = weights_from_state(params["weights"])
        cold = cls(model, weights=weights, **params["params"])
        content = params["content"]
        if "part" in content:
            cold.content_ = _parts(model)[int(content["part"])]
        else:
            content_arrays = unnest("content", arrays)
            content_arrays.setdefault("learner_factors_", np.zeros(
                (0, int(content.get("learner_width", 0))), dtype=np.float32))
            cold.content_ = restore_model(content["model"], content_arrays)
        cold.mappings_ = [
            None if spec is None else ridge_from_state(spec, unnest(f"mapping.{i}", arrays))
            for i, spec in enumerate(params["mappings"])
        ]
        cold.learner_map_ = learner_map
        cold.resource_map_ = resource_map
        cold.interactions_ = sp.csr_matrix(interactions)
        cold.learners_ = learners.reset_index(drop=True)
        cold.pseudo_confidence_ = float(params["pseudo_confidence_"])
        cold.history_until_ = params["history_until_"]
        return cold

    def _check_fitted(self) -> None:
        if not hasattr(self, "mappings_"):
            raise NotFittedError(self)

    def resource_vectors(self, resources: pd.DataFrame) -> ResourceVectors:
        """Vectors for resources the model never saw, from their content alone."""
        self._check_fitted()
        return self.vectors_of_content(self.content_.encoder_.transform(resources))

    def vectors_of_content(self, content: np.ndarray) -> ResourceVectors:
        """:meth:`resource_vectors` of resources whose content this cold start's reader has
        already encoded (``content_.encoder_.transform``: one encoding serves many models)."""
        self._check_fitted()
        blocks = [  # predict() drops a single output column; keep every block 2-D
            content if mapping is None
            else np.asarray(mapping.predict(content)).reshape(len(content), -1)
            for mapping in self.mappings_
        ]
        return ResourceVectors(np.ascontiguousarray(np.hstack(blocks), dtype=np.float32))

    def _history_of(
        self, learner_id: str | None, events: pd.DataFrame | None
    ) -> tuple[sp.csr_matrix, pd.DataFrame]:
        """One learner's confidence row (a known learner's past from their interaction row, see
        :meth:`_history_from_row`) plus ``events``, and each resource's ages in days before the
        learner's latest event (columns first_access and last_use, indexed by resource_idx)."""
        if learner_id is not None:
            return self._history_from_row(self.learner_map_.index_of(learner_id), events)
        if events is None or events.empty:
            empty = sp.csr_matrix((1, len(self.resource_map_)), dtype=np.float32)
            return empty, pd.DataFrame({"first_access": [], "last_use": []}, dtype=float)
        key = "__learner__"
        combined = self._clock(events.assign(learner_id=key))
        row = build_interaction_matrix(
            combined, IdMap("learner", [key]), self.resource_map_, self.weights
        )
        stamps = pd.to_datetime(combined["timestamp"], utc=True)
        by_resource = stamps.groupby(self.resource_map_.indices_of(combined["resource_id"]))
        newest = stamps.max()
        return row, pd.DataFrame({
            "first_access": (newest - by_resource.min()).dt.total_seconds() / 86400.0,
            "last_use": (newest - by_resource.max()).dt.total_seconds() / 86400.0,
        })

    def _clock(self, events: pd.DataFrame) -> pd.DataFrame:
        """``events`` with the timestamps the model was fitted on: steps under ordinal time
        (:mod:`recommender.features.ordinal`), as they are otherwise."""
        return as_ordinal(events) if self.weights is not None and self.weights.ordinal_time \
            else events

    def _history_from_row(
        self, learner_idx: int, events: pd.DataFrame | None
    ) -> tuple[sp.csr_matrix, pd.DataFrame]:
        """A known learner's history (the raw events are not kept, fresh or restored): their
        confidence row, with the new events' weights added before the log scale. Past
        resources count as last used, and (not knowing better) first accessed, when the
        training data ended; a resource new in ``events`` was first accessed there."""
        weights = self.weights or InteractionWeights()
        past = self.interactions_[learner_idx]
        raw = np.asarray(past.toarray(), dtype=np.float64).ravel()
        if weights.log_scale:
            raw = np.expm1(raw)
        ages = pd.DataFrame({"first_access": 0.0, "last_use": 0.0}, index=past.indices)
        if events is not None and not events.empty:
            resource_idx = self.resource_map_.indices_of(events["resource_id"])
            events = self._clock(events)
            np.add.at(raw, resource_idx, event_weight_values(events, weights))
            stamps = pd.to_datetime(events["timestamp"], utc=True)
            latest = stamps.max()
            if weights.ordinal_time:  # the past lies one step before the first new event
                ages[:] = float((latest - stamps.min()).days) + 1.0
            elif self.history_until_ is not None:
                gap = (latest - pd.Timestamp(self.history_until_)).total_seconds() / 86400.0
                ages[:] = max(gap, 0.0)
            by_resource = stamps.groupby(resource_idx)
            fresh = pd.DataFrame({
                "first_access": (latest - by_resource.min()).dt.total_seconds() / 86400.0,
                "last_use": (latest - by_resource.max()).dt.total_seconds() / 86400.0,
            })
            seen = fresh.index.intersection(ages.index)
            fresh.loc[seen, "first_access"] = ages.loc[seen, "first_access"]  # began before
            ages = pd.concat([ages.drop(fresh.index, errors="ignore"), fresh])
        raw = np.where(raw > 0, raw, 0.0)
        if weights.log_scale:
            raw = np.log1p(raw)
        row = sp.csr_matrix(raw.astype(np.float32)[None, :])
        return row, ages

    def learner_vector(
        self,
        *,
        learner_idx: int | None = None,
        profile: Profile | None = None,
        events: pd.DataFrame | None = None,
        resource_idx: np.ndarray | None = None,
        confidence: np.ndarray | None = None,
        profile_prior_events: float = PROFILE_PRIOR_EVENTS,
    ) -> LearnerVector:
        """The best vector available for one learner, saying which path produced it.

        - a known ``learner_idx`` and nothing new: the trained vector (``cold_start=None``),
          unless they had no events in training: then their profile row (``"profile"``);
        - new ``events`` (an events frame) or ``resource_idx``/``confidence``: fold-in over the
          learner's whole history (``"fold_in"``); for a learner without a training history
          who has a usable profile, blended with the profile's vector, whose weight
          ``profile_prior_events / (profile_prior_events + n)`` shrinks as the history grows
          to ``n`` resources (0: no blend; path ``"profile+history"``);
        - only a ``profile`` (group, age band, interests, ...): ``"profile"``.
        """
        self._check_fitted()
        if (isinstance(profile_prior_events, bool) or not np.isfinite(profile_prior_events)
                or profile_prior_events < 0):
            raise InvalidParameterError("profile_prior_events", profile_prior_events,
                                        "a finite number >= 0")
        trained = False
        if events is not None and resource_idx is not None:
            raise InvalidParameterError("resource_idx", resource_idx, "None when events are given")
        has_new = (events is not None and not events.empty) or (
            resource_idx is not None and len(np.atleast_1d(resource_idx)) > 0
        )
        if learner_idx is not None:
            if not 0 <= learner_idx < self.model.learner_factors_.shape[0]:
                raise InvalidParameterError("learner_idx", learner_idx, "a trained learner index")
            indptr = self.interactions_.indptr
            trained = indptr[learner_idx + 1] > indptr[learner_idx]
            if not has_new and trained:
                return LearnerVector(self.model.learner_factors_[learner_idx].copy(), None)
            if profile is None:  # the learner's own profile row, e.g. for a newcomer's first list
                profile = self.learners_.iloc[learner_idx]
        if has_new:
            learner_id = None if learner_idx is None else self.learner_map_.id_of(learner_idx)
            row, ages = self._history_of(learner_id, events)
            if resource_idx is not None:  # given without timestamps: taken as just now
                extra = history_row(resource_idx, confidence, len(self.resource_map_))
                row = sp.csr_matrix(row + extra)
                ages = ages.drop(np.atleast_1d(resource_idx), errors="ignore")
            ages = ages.reindex(row.indices).fillna(0.0)
            history = LearnerHistory(row.indices, row.data, HistoryAges(
                ages["first_access"].to_numpy(), ages["last_use"].to_numpy()))
            vector = np.asarray(self.model.fold_in(history, profile), dtype=np.float32)
            if trained or profile is None or profile_prior_events == 0:
                return LearnerVector(vector, "fold_in", "history")
            return self._with_profile(vector, profile, row.nnz, profile_prior_events)
        if profile is not None:
            return LearnerVector(self._from_profile(profile), "profile")
        raise InvalidParameterError(
            "learner", "no learner_idx, events or profile", "at least one of them"
        )

    def _with_profile(self, history_vector: np.ndarray, profile: Profile, n_history: int,
                      prior_events: float) -> LearnerVector:
        """A newcomer's history vector blended with their profile's (a profile without stated
        interests, or one the model cannot place, leaves the history vector alone, and the path
        says so)."""
        interests = profile.get("interests")
        if not isinstance(interests, str) or not interests.strip():
            return LearnerVector(history_vector, "fold_in", "history")
        try:
            stated = self._from_profile(profile)
        except InvalidParameterError:
            return LearnerVector(history_vector, "fold_in", "history")
        if n_history == 0:  # only dismissals: nothing but the profile to go on
            return LearnerVector(stated, "profile")
        weight = prior_events / (prior_events + n_history)
        # Directions are blended, so w is the profile's share of the ranking whatever the two
        # vectors' lengths (a pseudo-history and a real one differ); the length is blended too.
        norms = np.array([np.linalg.norm(stated), np.linalg.norm(history_vector)])
        if not (norms > 0).all():
            return LearnerVector(history_vector if norms[1] > 0 else stated, "fold_in",
                                 "history" if norms[1] > 0 else "profile")
        direction = weight * stated / norms[0] + (1.0 - weight) * history_vector / norms[1]
        length = weight * norms[0] + (1.0 - weight) * norms[1]
        size = np.linalg.norm(direction)
        blended = direction * (length / size) if size > 0 else direction
        return LearnerVector(blended.astype(np.float32), "fold_in", "profile+history")

    def _from_profile(self, profile: Profile) -> np.ndarray:
        """Profile -> content space -> nearest resources as a pseudo-history -> fold-in."""
        known, placed = self.content_.encode_profiles(profile)
        query = placed[0]
        if not known.any() or not query.any():  # nothing to go on: refuse rather than guess
            raise InvalidParameterError(
                "profile", profile,
                "a profile with stated interests or a field the model knows (group, age band, ...)",
            )
        if self.model is self.content_:
            return self.content_.fold_in(LearnerHistory(np.empty(0, dtype=np.int64)), profile)
        similarity = self.content_.resource_factors_ @ query
        top = _top_stable(similarity, self.n_pseudo_events)
        best = float(similarity[top[0]]) if len(top) else 0.0
        top = top[(similarity[top] > 0) & (similarity[top] >= self.pseudo_min_similarity * best)]
        confidence = self.pseudo_confidence_ * similarity[top] / max(best, 1e-12)
        return np.asarray(self.model.fold_in(LearnerHistory(top, confidence), profile),
                          dtype=np.float32)


def _top_stable(scores: np.ndarray, n: int) -> np.ndarray:
    """``np.argsort(-scores, kind="stable")[:n]`` without sorting the whole catalog (a
    newcomer's request should not sort 100k scores for ten of them)."""
    negated = -scores
    if n < len(negated):
        cut = np.partition(negated, n - 1)[n - 1]
        candidates = np.flatnonzero(negated <= cut)  # ties at the cut included, then ranked
    else:
        candidates = np.arange(len(negated))
    return candidates[np.argsort(negated[candidates], kind="stable")][:n]
