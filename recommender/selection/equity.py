"""Group-aware selection: choose an estimator's parameters on validation with an objective that
counts the worst-served learner group, not only the mean.

A search over means alone picks whatever serves the majority best; a minority the chosen model
fails costs it almost nothing. :class:`GroupAwareSearch` scores each candidate setting (a
blend's weights, a group-popularity mix, any constructor parameters; or wrap an existing search
as the estimator) on the same validation split the hybrid search uses (each learner's latest
``validation_fraction`` of training events, :func:`~recommender.selection.hybrid.
validation_split`) with ``(1 - worst_weight) * mean + worst_weight * worst group mean`` of
per-learner ``metric@k`` over ``attribute``'s groups of at least ``min_group_size`` validation
learners, and refits the best on all the features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from recommender.checks import check_k, check_number
from recommender.errors import InvalidParameterError
from recommender.evaluation.equity import equity_gaps, group_accuracy
from recommender.evaluation.evaluate import (
    build_test_set,
    evaluate_per_learner,
    recommend_for_test,
)
from recommender.evaluation.metrics import METRICS, metrics_at_k
from recommender.features import FeatureSet, InteractionWeights
from recommender.models.base import EmbeddingModel
from recommender.selection.base import SearchCV
from recommender.selection.hybrid import validation_split


def group_objective(mean: float, worst: float, worst_weight: float) -> float:
    """``(1 - worst_weight) * mean + worst_weight * worst`` (worst NaN: the mean alone)."""
    if not np.isfinite(worst):
        return float(mean)
    return float((1.0 - worst_weight) * mean + worst_weight * worst)


def group_score(
    values: np.ndarray,
    learners: pd.DataFrame,
    attributes: Sequence[str],
    worst_weight: float,
    *,
    learner_ids: Sequence[str] | None = None,
    min_group_size: int = 20,
) -> dict[str, Any]:
    """One candidate's per-learner ``values`` judged by :func:`group_objective`: the mean, the
    worst eligible group over all ``attributes`` (its value, attribute and mean), the largest
    relative best-worst gap among them, and the objective (``worst_weight`` 0: the mean
    alone, as every other search; the worst group is still reported)."""
    mean = float(np.nanmean(values)) if len(values) else float("nan")
    found: dict[str, Any] = {"mean": mean, "worst_group": None, "worst_attribute": None,
                             "worst_group_mean": float("nan"), "relative_gap": float("nan")}
    if attributes:
        gaps = equity_gaps(group_accuracy(values, learners, list(attributes),
                                          learner_ids=learner_ids, min_size=min_group_size,
                                          per_need=False, n_resamples=1))
        ranked = gaps[gaps["worst_mean"].notna()]
        if not ranked.empty:
            worst = ranked.loc[ranked["worst_mean"].idxmin()]
            found.update(worst_group=worst["worst_value"], worst_attribute=worst["attribute"],
                         worst_group_mean=float(worst["worst_mean"]),
                         relative_gap=float(ranked["relative_gap"].max()))
    found["objective"] = group_objective(mean, found["worst_group_mean"], worst_weight)
    return found


@dataclass(frozen=True)
class GroupObjective:
    """A validation scorer with :func:`~recommender.evaluation.evaluate.evaluate`'s signature
    and metrics, plus :func:`group_score`'s columns for ``metric`` (``worst_group``,
    ``worst_attribute``, ``worst_group_mean``, ``relative_gap``, ``objective``): what a search
    maximises when it counts the worst group (``worst_weight`` > 0) over ``attributes``."""

    metric: str = "ndcg_at_10"
    attributes: tuple[str, ...] = ("group",)
    worst_weight: float = 0.0
    min_group_size: int = 20

    def check(self, learners: pd.DataFrame) -> None:
        """Refuse a weight outside [0, 1] or an attribute the learners lack, before any fit."""
        check_number("worst_weight", self.worst_weight, 0.0, 1.0)
        missing = [a for a in self.attributes if a not in learners.columns]
        if missing or (self.worst_weight > 0 and not self.attributes):
            raise InvalidParameterError(
                "group_attributes", list(self.attributes),
                f"learner columns among {list(learners.columns)}")

    def __call__(self, model: EmbeddingModel, train: FeatureSet, test_events: pd.DataFrame,
                 k_values: Sequence[int],
                 exclude_resources: np.ndarray | None = None) -> dict[str, Any]:
        test, per_learner = evaluate_per_learner(model, train, test_events, k_values,
                                                 exclude_resources)
        results: dict[str, Any] = {"n_test_learners": float(len(test.learner_idx))}
        results.update({name: float(np.nanmean(v)) for name, v in per_learner.items()})
        if self.metric not in per_learner:
            if per_learner:
                raise InvalidParameterError("metric", self.metric, f"one of {sorted(results)}")
            return results
        score = group_score(per_learner[self.metric], train.learners, self.attributes,
                            self.worst_weight, learner_ids=list(test.learner_ids),
                            min_group_size=self.min_group_size)
        score.pop("mean")
        return {**results, **score}


class GroupAwareSearch(SearchCV):
    """Pick ``estimator``'s parameters among ``param_grid`` (a list of parameter dicts) by
    :func:`group_objective` on a validation split.

    ``attribute`` the learner column whose groups count (e.g. ``group``, ``imd_band``);
    ``worst_weight`` in [0, 1] (0 = the mean alone, as every other search; 1 = the worst group
    alone); ``metric`` one of the library's per-learner metrics at ``k``.
    """

    estimator_class = EmbeddingModel

    def __init__(
        self,
        estimator: EmbeddingModel,
        param_grid: Sequence[Mapping[str, Any]] = (),
        attribute: str = "group",
        worst_weight: float = 0.5,
        metric: str = "ndcg",
        k: int = 10,
        min_group_size: int = 20,
        validation_fraction: float = 0.2,
        interaction_weights: InteractionWeights | None = None,
    ) -> None:
        self.estimator = estimator
        self.param_grid = param_grid
        self.attribute = attribute
        self.worst_weight = worst_weight
        self.metric = metric
        self.k = k
        self.min_group_size = min_group_size
        self.validation_fraction = validation_fraction
        self.interaction_weights = interaction_weights

    def _check(self, features: FeatureSet) -> list[dict[str, Any]]:
        grid = [dict(params) for params in self.param_grid]
        if not grid:
            raise InvalidParameterError("param_grid", self.param_grid, "at least one setting")
        check_number("worst_weight", self.worst_weight, 0.0, 1.0)
        check_k(self.k)
        if self.metric not in METRICS:
            raise InvalidParameterError("metric", self.metric, f"one of {sorted(METRICS)}")
        if self.attribute not in features.learners.columns:
            raise InvalidParameterError(
                "attribute", self.attribute, f"a learner column {list(features.learners.columns)}")
        return grid

    def _search(self, features: FeatureSet) -> tuple[dict[str, Any], pd.DataFrame, float]:
        grid = self._check(features)
        train, validation = validation_split(
            features, self.validation_fraction, self.interaction_weights)
        test = build_test_set(train, validation)
        if len(test.learner_idx) == 0:
            raise InvalidParameterError(
                "validation_fraction", self.validation_fraction,
                "a share of each learner's events that leaves learners to validate on")
        name = f"{self.metric}_at_{self.k}"
        rows = []
        for params in grid:
            model = clone(self.estimator).set_params(**params).fit(train)
            recommended = recommend_for_test(model, train, test, self.k)
            values = metrics_at_k(recommended, test.relevant, [self.k], names=[self.metric])[name]
            score = group_score(values, train.learners, [self.attribute], self.worst_weight,
                                learner_ids=list(test.learner_ids),
                                min_group_size=self.min_group_size)
            rows.append({**params, name: score.pop("mean"), **score})
        results = pd.DataFrame(rows)
        best = int(np.argmax(results["objective"].to_numpy()))
        return grid[best], results, float(results["objective"].iloc[best])
