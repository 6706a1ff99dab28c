"""The time-aware hybrid's recency windows and blend weights, chosen on rolling validation cuts.

The validation is the rolling protocol itself (:mod:`recommender.evaluation.rolling`) on the
last weeks of the training events: ``validation_cuts`` horizons of ``horizon_days`` ending at
the newest training event, first accesses only. First each recency window the search is asked
to choose (``window_days``, and ``breadth_window_days`` when the model has a breadth part) is
chosen for its part alone, by nDCG@``k`` summed over the windows; then the blend weights, on a
grid of ``grid_step``, with the chosen windows. Steps of 0.5 (each part all, half or nothing)
overfit three noisy weeks less than steps of 0.125 (OULAD development cuts 0.543 / 0.608 /
0.500 vs 0.533 / 0.600 / 0.497). Where the training events hold no validation window with a
history before it and first accesses after it, the windows are the middle candidate and the
weights equal, and ``validated_on_`` is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from recommender.errors import InvalidParameterError
from recommender.evaluation.rolling import (
    RollingWindow,
    rolling_window,
    score_window,
    trailing_cuts,
)
from recommender.features import FeatureSet, InteractionWeights
from recommender.models.base import EmbeddingModel
from recommender.models.hybrid import HybridModel, resolve_parts
from recommender.models.recency import check_positive, reference_time
from recommender.models.schedule import TimeAwareModel, default_time_aware_parts
from recommender.selection.base import SearchCV
from recommender.selection.hybrid import weight_grid
from recommender.selection.recency import sorted_windows

# The recency windows the time-aware hybrid chooses among. A 1-day window (in
# DEFAULT_WINDOW_CANDIDATES for plain recency) is left out: chosen on three noisy validation
# days it cost BBB-2013B's day-195 development cut 0.575 -> 0.491; without it the development
# cuts (days 45..195) score 0.533 / 0.600 / 0.497 instead of 0.533 / 0.600 / 0.493.
TIME_AWARE_WINDOW_CANDIDATES: tuple[float, ...] = (3.0, 7.0, 14.0, 28.0)
# Each window parameter of TimeAwareModel and the default part it sets.
WINDOW_PARTS: dict[str, str] = {"window_days": "recent_popularity",
                                "breadth_window_days": "breadth"}


class TimeAwareSearch(SearchCV):
    """Choose a :class:`TimeAwareModel`'s recency windows and weights on rolling validation
    cuts (module docstring).

    ``windows`` the window parameters to choose among ``window_candidates`` (a parameter whose
    part the model does not have is left alone; empty: keep the model's); ``grid_step`` the
    weight grid's step (None: keep the model's weights); ``validation_cuts`` rolling windows of
    ``horizon_days``, scored by nDCG@``k``; ``interaction_weights`` those the features were
    built with.
    """

    estimator_class = TimeAwareModel

    def __init__(
        self,
        estimator: TimeAwareModel,
        windows: Sequence[str] = tuple(WINDOW_PARTS),
        window_candidates: Sequence[float] = TIME_AWARE_WINDOW_CANDIDATES,
        grid_step: float | None = 0.5,
        validation_cuts: int = 3,
        horizon_days: float = 7.0,
        k: int = 10,
        interaction_weights: InteractionWeights | None = None,
    ) -> None:
        self.estimator = estimator
        self.windows = windows
        self.window_candidates = window_candidates
        self.grid_step = grid_step
        self.validation_cuts = validation_cuts
        self.horizon_days = horizon_days
        self.k = k
        self.interaction_weights = interaction_weights

    def fit(self, features: FeatureSet) -> TimeAwareSearch:
        self.validated_on_: list[str] = []
        return super().fit(features)

    def _search(self, features: FeatureSet) -> tuple[dict[str, Any], pd.DataFrame, float]:
        estimator = self.estimator
        chosen = self._window_params()
        windows = self._validation_windows(features)
        self.validated_on_ = [window.cut.isoformat() for window in windows]
        params: dict[str, Any] = {}
        window_rows: list[dict[str, Any]] = []
        if chosen:
            candidates = sorted_windows(self.window_candidates)
            default_parts = dict(self._default_parts(estimator))
            for name in chosen:
                part = default_parts[WINDOW_PARTS[name]]
                totals = np.zeros(len(candidates))
                for window in windows:
                    for i, value in enumerate(candidates):
                        fitted = clone(part).set_params(window_days=value).fit(window.train)
                        totals[i] += np.nansum(self._ndcg(fitted, window))
                best = int(np.argmax(totals)) if windows else len(candidates) // 2
                params[name] = float(candidates[best])
                window_rows += [{"param": name, "window_days": value, "ndcg_sum": total}
                                for value, total in zip(candidates, totals)]
        self.window_results_ = pd.DataFrame(window_rows,
                                            columns=["param", "window_days", "ndcg_sum"])
        if self.grid_step is None:
            return params, self.window_results_, float("nan")
        with_windows = clone(estimator).set_params(**params)
        weights, table, score = self._search_weights(
            resolve_parts(with_windows._part_specs()), windows
        )
        params["weights"] = weights
        return params, table, score

    def _window_params(self) -> list[str]:
        """The window parameters to choose: those asked for whose default part the model has."""
        unknown = sorted(set(self.windows) - set(WINDOW_PARTS))
        if unknown:
            raise InvalidParameterError("windows", list(self.windows),
                                        f"names among {list(WINDOW_PARTS)}")
        if self.estimator.parts is not None:
            return []  # explicit parts carry their own windows
        present = {name for name, _ in self._default_parts(self.estimator)}
        return [name for name in WINDOW_PARTS
                if name in self.windows and WINDOW_PARTS[name] in present]

    @staticmethod
    def _default_parts(estimator: TimeAwareModel) -> tuple[tuple[str, EmbeddingModel], ...]:
        return default_time_aware_parts(
            estimator.anchor_on, estimator.release_forecast, estimator.peers,
            estimator.breadth_groups, estimator.window_days, estimator.breadth_window_days,
        )

    def _validation_windows(self, features: FeatureSet) -> list[RollingWindow]:
        """The rolling windows at the end of the training events that can score anything."""
        horizon = check_positive("horizon_days", self.horizon_days)
        end = reference_time(features.events)
        if end is None:
            return []
        windows = []
        for cut in trailing_cuts(end, self.validation_cuts, horizon):
            window = rolling_window(
                features, cut, horizon, "first_access", self.interaction_weights
            )
            if len(window.learner_idx) and len(window.train.events):
                windows.append(window)
        return windows

    def _ndcg(self, model: EmbeddingModel, window: RollingWindow) -> np.ndarray:
        k = int(self.k)
        return score_window(model, window, (k,), ("ndcg",))[f"ndcg_at_{k}"]

    def _search_weights(
        self, resolved: list[tuple[str, EmbeddingModel]], windows: list[RollingWindow]
    ) -> tuple[tuple[float, ...], pd.DataFrame, float]:
        """Every grid point's mean nDCG over the validation windows (one fit per part and
        window; each grid point only reweights the learner side)."""
        names = [name for name, _ in resolved]
        grid = weight_grid(len(resolved), self.grid_step)  # type: ignore[arg-type]
        metric = f"ndcg_at_{int(self.k)}"
        if not windows:
            equal = tuple(1.0 / len(names) for _ in names)
            table = pd.DataFrame([{**dict(zip(names, equal)), metric: np.nan}])
            return equal, table, float("nan")
        totals = np.zeros(len(grid))
        count = 0
        for window in windows:
            hybrid = HybridModel(
                parts=[(name, clone(part)) for name, part in resolved],
                weights=[1.0] * len(resolved), scale_sample=self.estimator.scale_sample,
                random_state=self.estimator.random_state,
            ).fit(window.train)
            count += len(window.learner_idx)
            for i, weights in enumerate(grid):
                totals[i] += np.nansum(self._ndcg(hybrid.with_weights(weights), window))
        means = totals / max(count, 1)
        table = pd.DataFrame([{**dict(zip(names, w)), metric: m} for w, m in zip(grid, means)])
        best = int(np.argmax(means))  # the grid lists balanced weights first: they win ties
        return tuple(float(w) for w in grid[best]), table, float(means[best])
