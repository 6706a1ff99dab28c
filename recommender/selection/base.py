"""The shape every search shares: scikit-learn's ``GridSearchCV`` over an embedding model.

A search is built from an unfitted estimator and what to try; ``fit(features)`` scores the
candidates with the library's evaluation functions on a validation protocol, refits the best on
all the features and keeps it as ``best_estimator_``, its parameters as ``best_params_`` and
every candidate's score as ``cv_results_`` (a table, one row per candidate). Fitted, the search
*is* that model to its callers, as ``GridSearchCV`` is its best estimator: the fitted
attributes (``learner_factors_``, ``resource_factors_``, ``parts_``, ...), ``recommend``,
``fold_in`` and ``state`` are the best estimator's, and a bundle stores the best estimator
itself (a registered model with the chosen parameters), so a loaded bundle is the plain model.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.base import clone

from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet, InteractionWeights
from recommender.models.base import EmbeddingModel, LearnerHistory, Profile
from recommender.models.cold_start import map_cold_resources
from recommender.models.state import State


class SearchCV(EmbeddingModel):
    """A search around ``estimator`` (see the module docstring); subclasses say what to try
    (:meth:`_search`)."""

    estimator: EmbeddingModel
    estimator_class: type[EmbeddingModel] = EmbeddingModel  # what the search knows how to tune

    @abstractmethod
    def _search(self, features: FeatureSet) -> tuple[dict[str, Any], pd.DataFrame, float]:
        """``(best_params, results table, best score)`` on validation data from ``features``."""

    def fit(self, features: FeatureSet) -> Self:
        """Score the candidates, then refit the best on all of ``features``."""
        if not isinstance(self.estimator, self.estimator_class):
            raise InvalidParameterError(
                "estimator", type(self.estimator).__name__,
                f"an unfitted {self.estimator_class.__name__}",
            )
        best_params, results, best_score = self._search(features)
        self.best_params_ = best_params
        self.cv_results_ = results
        self.best_score_ = float(best_score)
        self.best_estimator_ = clone(self.estimator).set_params(**best_params).fit(features)
        self.__dict__.pop("_resource_index", None)
        return self

    def __getattr__(self, name: str) -> Any:
        """Fitted attributes (public names ending in ``_``) are the best estimator's."""
        if name.endswith("_") and not name.startswith("_"):
            best = self.__dict__.get("best_estimator_")
            if best is not None:
                return getattr(best, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def fold_in(self, history: LearnerHistory, profile: Profile | None = None) -> np.ndarray:
        self._check_fitted()
        return self.best_estimator_.fold_in(history, profile)

    def state(self) -> State:
        """The best estimator's state (a bundle stores the best estimator, not the search)."""
        self._check_fitted()
        return self.best_estimator_.state()


def chosen_estimator(model: EmbeddingModel) -> EmbeddingModel:
    """What a bundle of ``model`` serves: a fitted search's chosen estimator, else the model
    itself (so what is done to the served vectors, e.g. mapping new resources from their
    content, is done to the estimator the bundle stores)."""
    return model.best_estimator_ if isinstance(model, SearchCV) else model


def map_served_cold_resources(
    model: EmbeddingModel, features: FeatureSet, weights: InteractionWeights | None = None
) -> tuple[EmbeddingModel, int]:
    """:func:`~recommender.models.cold_start.map_cold_resources` of what a bundle of ``model``
    serves (a fitted search: the estimator it chose): resources without interactions in
    ``features`` get their content-mapped vectors, as experiments and ``train`` score a
    hold-out with ``cold_resources = "content_mapping"``."""
    return map_cold_resources(chosen_estimator(model), features, weights)
