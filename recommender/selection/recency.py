"""The recency window, chosen on validation data: a search around :class:`RecentPopularityModel`.

The validation is the rolling protocol on the training events: the last ``validation_cuts``
horizons of ``horizon_days`` before the newest training event (first accesses only); each
candidate window is fitted on what precedes each cut and scored on what follows
(:func:`recommender.evaluation.rolling.rolling_evaluate`). Ties go to the shorter window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from recommender.errors import InvalidParameterError
from recommender.evaluation.rolling import rolling_evaluate, trailing_cuts
from recommender.features import FeatureSet
from recommender.models.recency import RecentPopularityModel, check_positive, reference_time
from recommender.selection.base import SearchCV

DEFAULT_WINDOW_CANDIDATES: tuple[float, ...] = (1.0, 3.0, 7.0, 14.0, 28.0)


def sorted_windows(candidates: Sequence[float]) -> list[float]:
    """The candidate windows in days, checked and sorted (shortest first: it wins ties)."""
    values = sorted(check_positive("window_candidates", c) for c in candidates)
    if not values:
        raise InvalidParameterError("window_candidates", list(candidates), "at least one window")
    return values


class RecencyWindowSearch(SearchCV):
    """Choose a :class:`RecentPopularityModel`'s ``window_days`` among ``window_candidates`` on
    the last ``validation_cuts`` rolling windows of ``horizon_days`` (module docstring), by
    ``metric`` averaged over the cuts' learners."""

    estimator_class = RecentPopularityModel

    def __init__(
        self,
        estimator: RecentPopularityModel,
        window_candidates: Sequence[float] = DEFAULT_WINDOW_CANDIDATES,
        validation_cuts: int = 3,
        horizon_days: float = 7.0,
        metric: str = "ndcg_at_10",
    ) -> None:
        self.estimator = estimator
        self.window_candidates = window_candidates
        self.validation_cuts = validation_cuts
        self.horizon_days = horizon_days
        self.metric = metric

    def _search(self, features: FeatureSet) -> tuple[dict[str, Any], pd.DataFrame, float]:
        values = sorted_windows(self.window_candidates)
        horizon = check_positive("horizon_days", self.horizon_days)
        end = reference_time(features.events, self.estimator.now)
        if end is None:
            raise InvalidParameterError("features", "no events", "training events to validate on")
        cuts = trailing_cuts(end, self.validation_cuts, horizon)
        models = {f"{value:g}": clone(self.estimator).set_params(window_days=value)
                  for value in values}
        result = rolling_evaluate(features, models, cuts, horizon_days=horizon)
        if result.scores.empty:
            raise InvalidParameterError(
                "features", f"{len(features.events)} events",
                f"first accesses in the last {self.validation_cuts} x {horizon:g} days to "
                "choose a window on",
            )
        summary = result.summary(self.metric)
        table = pd.DataFrame({
            "window_days": values,
            self.metric: [float(summary.loc[f"{value:g}", "mean"]) for value in values],
        })
        best = int(np.argmax(table[self.metric].to_numpy()))  # first maximum: the shortest
        return ({"window_days": float(values[best])}, table,
                float(table[self.metric].iloc[best]))
