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
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from recommender.checks import check_k, check_number
from recommender.errors import InvalidParameterError
from recommender.evaluation.equity import equity_gaps, group_accuracy
from recommender.evaluation.evaluate import build_test_set, recommend_for_test
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
            table = group_accuracy(values, train.learners, [self.attribute],
                                   learner_ids=list(test.learner_ids),
                                   min_size=self.min_group_size, per_need=False, n_resamples=1)
            gap = equity_gaps(table).iloc[0]
            mean = float(np.nanmean(values))
            rows.append({**params, name: mean, "worst_group": gap["worst_value"],
                         "worst_group_mean": gap["worst_mean"], "relative_gap": gap["relative_gap"],
                         "objective": group_objective(mean, gap["worst_mean"], self.worst_weight)})
        results = pd.DataFrame(rows)
        best = int(np.argmax(results["objective"].to_numpy()))
        return grid[best], results, float(results["objective"].iloc[best])
