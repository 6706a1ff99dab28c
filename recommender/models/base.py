"""The one interface every model implements: learner and resource vectors in one space.

Models follow the scikit-learn estimator habit (hyper-parameters in the constructor, ``fit``
returns self, learned state ends in ``_``), so ``get_params`` and ``repr`` come from
:class:`sklearn.base.BaseEstimator` and every model's parameters can be logged the same way.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Literal, NamedTuple, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from threadpoolctl import ThreadpoolController

from recommender.errors import InvalidParameterError, NotFittedError
from recommender.features import FeatureSet
from recommender.retrieval import FilteredRetriever
from recommender.models.state import Arrays, Params, State, jsonable, known_params


# A learner profile row: a one-row frame, a Series or a plain mapping of column -> value.
Profile = pd.DataFrame | pd.Series | Mapping[str, object]
AgeKind = Literal["first_access", "last_use"]


@dataclass(frozen=True)
class HistoryAges:
    """A history's ages in days before the learner's latest event, both ways: since each
    resource was first accessed and since it was last used (one entry per resource_idx).

    Serving knows both; each model reads the one its fit used (:attr:`EmbeddingModel.fold_in_ages`),
    so a fold-in of a learner's own history reproduces their trained vector.
    """

    first_access: np.ndarray
    last_use: np.ndarray

    @classmethod
    def same(cls, age_days: np.ndarray) -> HistoryAges:
        """Ages where first access and last use coincide (each resource used once)."""
        ages = np.asarray(age_days, dtype=np.float64)
        return cls(first_access=ages, last_use=ages)

    def of(self, kind: AgeKind) -> np.ndarray:
        return self.first_access if kind == "first_access" else self.last_use


@dataclass(frozen=True)
class LearnerHistory:
    """One learner's history as every ``fold_in`` reads it: the resources (``resource_idx``,
    repeats allowed), their confidences as in the interaction matrix (None: 1 each) and, for
    recency-aware models, their ages (None: all just used).

    One value instead of three loose arrays, so a composite passes the same history to each part
    and each part reads the ages its fit used (:meth:`age_days`).
    """

    resource_idx: np.ndarray
    confidence: np.ndarray | None = None
    ages: HistoryAges | None = None

    def age_days(self, kind: AgeKind) -> np.ndarray | None:
        """The ages of ``kind`` (first access or last use), or None when none were given."""
        return None if self.ages is None else self.ages.of(kind)


class ModelPart(NamedTuple):
    """One part of a composite model: its name, the fitted estimator and its weight in the
    blend (the weights sum to 1). A plain model is its own single part (:func:`model_parts`)."""

    name: str
    model: EmbeddingModel
    weight: float


class EmbeddingModel(BaseEstimator):
    """A model whose score for (learner, resource) is ``learner_factors_ @ resource_factors_.T``."""

    learner_factors_: np.ndarray
    resource_factors_: np.ndarray
    # Fitted attributes that :meth:`state` leaves out (rebuilt by ``from_state`` or not needed
    # to serve, e.g. the library's own solver object).
    _state_skip: tuple[str, ...] = ()
    # Which age of a history ``fold_in`` reads for this model (see HistoryAges); None for
    # models that pass the whole history on to their parts (hybrids).
    fold_in_ages: ClassVar[AgeKind | None] = "last_use"
    # Parameters and fitted attributes an older bundle may still carry that moved to the
    # selection layer's searches: dropped on load (any other unknown parameter is refused).
    _moved_params: ClassVar[tuple[str, ...]] = ()
    _moved_fitted: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def fit(self, features: FeatureSet) -> Self:
        """Learn both sets of vectors from the training features."""

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "learner_factors_") and hasattr(self, "resource_factors_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(self)

    def recommend(
        self,
        learner_idx: int | np.ndarray,
        k: int = 10,
        exclude: sp.csr_matrix | None = None,
        exclude_resources: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ``(resource_idx, score)`` arrays for each learner index.

        ``exclude`` is a learners x resources matrix (e.g. what each learner completed), indexed
        by ``learner_idx``; ``exclude_resources`` is dropped for every learner.
        """
        self._check_fitted()
        learner_idx = np.atleast_1d(np.asarray(learner_idx, dtype=np.int64))
        n_learners = self.learner_factors_.shape[0]
        if learner_idx.size and (learner_idx.min() < 0 or learner_idx.max() >= n_learners):
            raise InvalidParameterError("learner_idx", learner_idx, f"indices in [0, {n_learners})")
        rows = None if exclude is None else sp.csr_matrix(exclude)[learner_idx]
        return self._retriever.search_many(self.learner_factors_[learner_idx], k, exclude=rows,
                                           exclude_all=exclude_resources)

    @abstractmethod
    def fold_in(self, history: LearnerHistory, profile: Profile | None = None) -> np.ndarray:
        """A learner vector from a short ``history`` (and optional profile row), without
        retraining, against the fixed resource vectors.

        Recency-aware models read ``history.age_days(self.fold_in_ages)``. See
        :mod:`recommender.models.cold_start` for the entry point that reports the path used.
        """

    def state(self) -> State:
        """Fitted state for a bundle: constructor params and fitted scalars as JSON, fitted
        arrays by name (see :mod:`recommender.models.state`).

        This default covers models whose fitted attributes are arrays or plain JSON values;
        models holding other objects (an implicit solver, an encoder) override it.
        """
        self._check_fitted()
        owner = type(self).__name__
        fitted: Params = {}
        arrays: Arrays = {}
        for name, value in vars(self).items():
            if not name.endswith("_") or name.startswith("_") or name in self._state_skip:
                continue
            if isinstance(value, np.ndarray):
                arrays[name] = value
            else:
                fitted[name] = jsonable(owner, name, value)
        params = {name: jsonable(owner, name, value) for name, value in self.get_params().items()}
        return {"params": params, "fitted": fitted}, arrays

    @classmethod
    def from_state(cls, params: Params, arrays: Arrays) -> Self:
        """The fitted model again, from what :meth:`state` returned."""
        model = cls(**known_params(cls, params["params"], cls._moved_params))
        for name, value in params.get("fitted", {}).items():
            if name not in cls._moved_fitted:
                setattr(model, name, value)
        for name, value in arrays.items():
            setattr(model, name, value)
        model._check_fitted()
        return model

    @property
    def _retriever(self) -> FilteredRetriever:
        """The one filtered top-k (:mod:`recommender.retrieval`) over an exact index of the
        current resource vectors, built on first use and again when they change."""
        cached = self.__dict__.get("_resource_index")
        if cached is None or cached[0] is not self.resource_factors_:
            cached = (self.resource_factors_, FilteredRetriever(self.resource_factors_))
            self.__dict__["_resource_index"] = cached
        return cached[1]


@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


def single_threaded_blas() -> AbstractContextManager[Any]:
    """``threadpool_limits(1, "blas")`` for per-request solves (fold-in): through one
    :class:`threadpoolctl.ThreadpoolController`, made on first use, instead of a fresh scan of
    the loaded libraries per call (about 1 ms, more than the solve itself)."""
    return _threadpools().limit(limits=1, user_api="blas")


def model_parts(model: EmbeddingModel) -> list[ModelPart]:
    """The parts protocol: a composite's ``parts_`` (name, fitted estimator, weight), else the
    model as its one part of weight 1. Code that reaches into parts goes through this."""
    parts = getattr(model, "parts_", None)
    if parts:
        return list(parts)
    return [ModelPart(type(model).__name__, model, 1.0)]


def history_row(
    resource_idx: np.ndarray, confidence: np.ndarray | None, n_resources: int
) -> sp.csr_matrix:
    """One learner's history as a 1 x n_resources CSR row (duplicates summed), validated."""
    resource_idx = np.atleast_1d(np.asarray(resource_idx, dtype=np.int64))
    if resource_idx.size and (resource_idx.min() < 0 or resource_idx.max() >= n_resources):
        raise InvalidParameterError("resource_idx", resource_idx, f"indices in [0, {n_resources})")
    if confidence is None:
        confidence = np.ones(len(resource_idx), dtype=np.float32)
    confidence = np.atleast_1d(np.asarray(confidence, dtype=np.float32))
    if confidence.shape != resource_idx.shape:
        raise InvalidParameterError(
            "confidence", confidence.shape, f"one value per resource_idx {resource_idx.shape}"
        )
    if not np.isfinite(confidence).all():
        raise InvalidParameterError("confidence", confidence, "finite values")
    row = sp.csr_matrix(
        (confidence, (np.zeros(len(resource_idx), dtype=np.int64), resource_idx)),
        shape=(1, n_resources), dtype=np.float32,
    )
    row.sum_duplicates()
    row.data = np.where(row.data > 0, row.data, 0.0).astype(np.float32)
    row.eliminate_zeros()
    return row


def positive_history(matrix: sp.csr_matrix, binary: bool) -> sp.csr_matrix:
    """The positive part of a confidence matrix (negative feedback is no co-occurrence) as
    float32, or its 0/1 pattern with ``binary``: what item-to-item models (EASE, RP3beta)
    count."""
    history = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    history.data = np.where(history.data > 0, history.data, 0.0).astype(np.float32)
    history.eliminate_zeros()
    if binary:
        history.data[:] = 1.0
    return history
