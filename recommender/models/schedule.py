"""Schedule awareness and the time-aware hybrid: what a learner needs next, this week.

Three time signals, each an embedding model in the one space, joined by :class:`TimeAwareModel`
with weights chosen on validation data:

- what the cohort started lately (:class:`recommender.models.recency.RecentPopularityModel`);
- what usually follows the learner's own latest first accesses
  (:class:`recommender.models.sequence.SequenceModel`);
- what learners who lately did what this learner did have just started
  (:class:`recommender.models.sequence.CoAccessModel`), which places a learner relative to
  the cohort: behind, on pace or ahead.

The validation is the rolling protocol itself (:mod:`recommender.evaluation.rolling`) on the
last weeks of the training events: ``validation_cuts`` horizons of ``horizon_days`` ending at
the newest training event, first accesses only. Availability windows are not a score: a
resource outside its window is removed from the candidates (:func:`recommend_available`, the
rolling protocol, and serving through :mod:`recommender.delivery.filters`), so it never appears.
:func:`cohort_position` says where each learner stands relative to their cohort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone

from recommender.errors import InvalidParameterError
from recommender.evaluation.rolling import (
    RollingWindow,
    closed_resources,
    rolling_window,
    score_window,
    trailing_cuts,
)
from recommender.features import FeatureSet, InteractionWeights
from recommender.models.base import EmbeddingModel
from recommender.models.hybrid import (
    HybridModel,
    PartSpec,
    WeightSearch,
    _check_weights,
    _resolve_parts,
    score_scale,
    weight_grid,
)
from recommender.models.recency import (
    CHOOSE_WINDOW,
    BreadthRecencyModel,
    DEFAULT_WINDOW_CANDIDATES,
    FirstAccesses,
    PeerRecencyModel,
    RecentPopularityModel,
    check_positive,
    first_accesses,
    reference_time,
)
from recommender.models.sequence import CoAccessModel, SequenceModel


# The recency windows the time-aware hybrid chooses among. A 1-day window (in
# DEFAULT_WINDOW_CANDIDATES for plain recency) is left out: chosen on three noisy validation
# days it cost BBB-2013B's day-195 development cut 0.575 -> 0.491; without it the development
# cuts (days 45..195) score 0.533 / 0.600 / 0.497 instead of 0.533 / 0.600 / 0.493.
TIME_AWARE_WINDOW_CANDIDATES: tuple[float, ...] = (3.0, 7.0, 14.0, 28.0)


def default_time_aware_parts(
    anchor_on: str = "first_access", release_forecast: bool = False, peers: bool = False,
    breadth_groups: int | None = None,
) -> tuple[tuple[str, EmbeddingModel], ...]:
    """Recent popularity (window chosen on validation; with ``release_forecast`` plus the
    assessment-cycle forecast of :class:`ScheduledPopularityModel`), transitions gated by what
    the cohort started in the last days, and time-decayed co-occurrence (learner anchors aged
    by ``anchor_on``, see :mod:`recommender.models.sequence`); with ``peers`` also recent
    popularity among each learner's nearest peers (:class:`PeerRecencyModel`); with
    ``breadth_groups`` also recent popularity within the learner's breadth group
    (:class:`BreadthRecencyModel`, that many bins, its window chosen like the first part's)."""
    recency = (ScheduledPopularityModel(window_days=None) if release_forecast
               else RecentPopularityModel(window_days=None, group_column=None))
    parts: tuple[tuple[str, EmbeddingModel], ...] = (
        ("recent_popularity", recency),
        ("sequence", SequenceModel(fresh_days=3.0, anchor_on=anchor_on)),
        ("co_occurrence", CoAccessModel(anchor_on=anchor_on)),
    )
    if peers:
        parts += (("peers", PeerRecencyModel()),)
    if breadth_groups is not None:
        parts += (("breadth", BreadthRecencyModel(window_days=None, bins=breadth_groups)),)
    return parts


class TimeAwareModel(HybridModel):
    """The time-aware hybrid: recency, sequence and cohort position, weighted on validation.

    ``parts`` as in :class:`HybridModel` (default :func:`default_time_aware_parts`, their
    learner anchors aged by ``anchor_on``, recency with the deadline release forecast when
    ``release_forecast``, plus recent popularity among nearest peers when ``peers`` and
    within the learner's breadth group when ``breadth_groups``);
    ``weights`` fixed weights, or None to choose them on the last ``validation_cuts`` rolling
    windows of ``horizon_days`` in the training events (first accesses, nDCG@``k``), on a grid
    of ``grid_step``: steps of 0.5 (each part all, half or nothing) overfit three noisy weeks
    less than steps of 0.125 (OULAD development cuts 0.543 / 0.608 / 0.500 vs 0.533 / 0.600 /
    0.497). A
    :class:`RecentPopularityModel` part with ``window_days=None`` gets its window chosen on the
    same windows among ``window_candidates``. Where the training events hold no validation
    window with a history before it and first accesses after it, the weights are equal and
    ``weights_source_`` says so.
    """

    def __init__(
        self,
        parts: Sequence[PartSpec] | None = None,
        weights: Sequence[float] | Mapping[str, float] | None = None,
        validation_cuts: int = 3,
        horizon_days: float = 7.0,
        window_candidates: Sequence[float] = TIME_AWARE_WINDOW_CANDIDATES,
        k: int = 10,
        interaction_weights: InteractionWeights | None = None,
        grid_step: float = 0.5,
        scale_sample: int = 500,
        random_state: int = 0,
        anchor_on: Literal["first_access", "last_use"] = "first_access",
        release_forecast: bool = False,
        peers: bool = False,
        breadth_groups: int | None = None,
    ) -> None:
        self.anchor_on = anchor_on
        self.peers = peers
        self.breadth_groups = breadth_groups
        self.release_forecast = release_forecast
        self.parts = parts
        self.weights = weights
        self.validation_cuts = validation_cuts
        self.horizon_days = horizon_days
        self.window_candidates = window_candidates
        self.k = k
        self.interaction_weights = interaction_weights
        self.grid_step = grid_step
        self.scale_sample = scale_sample
        self.random_state = random_state

    def fit(self, features: FeatureSet) -> Self:
        resolved = _resolve_parts(
            self.parts if self.parts is not None else default_time_aware_parts(
                self.anchor_on, self.release_forecast, self.peers, self.breadth_groups
            )
        )
        names = [name for name, _ in resolved]
        needs_window = any(
            isinstance(part, RecentPopularityModel)
            and part.window_days in (None, CHOOSE_WINDOW)
            for _, part in resolved
        )
        windows = (self._validation_windows(features)
                   if self.weights is None or needs_window else [])
        self.__dict__.pop("window_days_", None)  # the first recency part's window is reported
        resolved = [(name, self._fix_window(part, windows)) for name, part in resolved]
        if self.weights is None:
            search = self._search_weights(resolved, windows)
            self.weight_search_ = search
            self.weights_source_ = "validation" if windows else (
                "equal: no validation window with training events before it and first "
                "accesses after it"
            )
            weights = np.asarray(search.weights, dtype=np.float64)
        else:
            weights = _check_weights(self.weights, names)
            self.weights_source_ = "given"
        self.parts_ = [(name, part.fit(features)) for name, part in resolved]
        self.scales_ = np.array([
            score_scale(part, features, self.scale_sample, self.random_state)
            for _, part in self.parts_
        ])
        self.weights_ = weights / weights.sum()
        self._assemble()
        return self

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

    def _fix_window(
        self, part: EmbeddingModel, windows: list[RollingWindow]
    ) -> EmbeddingModel:
        """A recency part with ``window_days=None`` gets the window that scores best on
        ``windows`` (without windows: the middle candidate, reported in ``window_days_``)."""
        if not isinstance(part, RecentPopularityModel) or part.window_days not in (
            None, CHOOSE_WINDOW
        ):
            return part
        candidates = sorted(check_positive("window_candidates", c)
                            for c in self.window_candidates)
        if not candidates:
            raise InvalidParameterError("window_candidates", self.window_candidates,
                                        "at least one window")
        totals = np.zeros(len(candidates))
        for window in windows:
            for i, value in enumerate(candidates):
                fitted = clone(part).set_params(window_days=value).fit(window.train)
                totals[i] += np.nansum(self._ndcg(fitted, window))
        best = int(np.argmax(totals)) if windows else len(candidates) // 2
        self.__dict__.setdefault("window_days_", float(candidates[best]))
        return clone(part).set_params(window_days=candidates[best])

    def _ndcg(self, model: EmbeddingModel, window: RollingWindow) -> np.ndarray:
        k = int(self.k)
        return score_window(model, window, (k,), ("ndcg",))[f"ndcg_at_{k}"]

    def _search_weights(
        self, resolved: list[tuple[str, EmbeddingModel]], windows: list[RollingWindow]
    ) -> WeightSearch:
        """Every grid point's nDCG summed over the validation windows (one fit per part and
        window; each grid point only reweights the learner side)."""
        names = [name for name, _ in resolved]
        grid = weight_grid(len(resolved), self.grid_step)
        metric = f"ndcg_at_{int(self.k)}"
        if not windows:
            equal = tuple(1.0 / len(names) for _ in names)
            table = pd.DataFrame([{**dict(zip(names, equal)), metric: np.nan}])
            return WeightSearch(weights=equal, score=float("nan"), metric=metric, table=table)
        totals = np.zeros(len(grid))
        count = 0
        for window in windows:
            hybrid = HybridModel(
                parts=[(name, clone(part)) for name, part in resolved],
                weights=[1.0] * len(resolved), scale_sample=self.scale_sample,
                random_state=self.random_state,
            ).fit(window.train)
            count += len(window.learner_idx)
            for i, weights in enumerate(grid):
                totals[i] += np.nansum(self._ndcg(hybrid.with_weights(weights), window))
        means = totals / max(count, 1)
        table = pd.DataFrame([{**dict(zip(names, w)), metric: m} for w, m in zip(grid, means)])
        best = int(np.argmax(means))  # the grid lists balanced weights first: they win ties
        return WeightSearch(
            weights=tuple(float(w) for w in grid[best]), score=float(means[best]),
            metric=metric, table=table,
        )


def available_resources(resources: pd.DataFrame, now: object, until: object | None = None
                        ) -> np.ndarray:
    """Boolean mask over resource_idx: open at ``now`` (or at some point of [now, until))."""
    start = pd.Timestamp(now)  # type: ignore[arg-type]
    end = start + pd.Timedelta(microseconds=1) if until is None else until
    mask = np.ones(len(resources), dtype=bool)
    mask[closed_resources(resources, start, end)] = False
    return mask


def recommend_available(
    model: EmbeddingModel,
    learner_idx: int | np.ndarray,
    resources: pd.DataFrame,
    now: object,
    k: int = 10,
    exclude: sp.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`EmbeddingModel.recommend` without the resources whose availability window is
    closed at ``now``: a resource outside its window never appears."""
    closed = np.flatnonzero(~available_resources(resources, now))
    return model.recommend(learner_idx, k=k, exclude=exclude, exclude_resources=closed)


def cohort_position(
    features: FeatureSet, now: object | None = None, recent_days: float = 28.0
) -> pd.DataFrame:
    """Where each learner stands relative to their cohort, one row per learner_idx.

    ``lag_days``: median over the learner's first accesses in the last ``recent_days`` of
    (their first access - the cohort's median first access of that resource); positive is
    behind the cohort, negative ahead, NaN without recent first accesses. ``started_share``:
    share of the resources the cohort has started that the learner has started.
    ``idle_days``: days since the learner's last engaging event (NaN: never).
    """
    recent = check_positive("recent_days", recent_days)
    accesses = first_accesses(features, now)
    n_learners, n_resources = features.shape
    frame = pd.DataFrame({
        "l": accesses.learner_idx, "r": accesses.resource_idx, "age": accesses.age_days,
        "last": accesses.last_age_days,
    })
    median_age = frame.groupby("r")["age"].median().reindex(range(n_resources)).to_numpy()
    frame["lag"] = median_age[frame["r"].to_numpy()] - frame["age"]
    lag = frame[frame["age"] < recent].groupby("l")["lag"].median()
    started = frame.groupby("l").size()
    cohort_started = max(int(np.isfinite(median_age).sum()), 1)
    idle = frame.groupby("l")["last"].min()
    index = pd.RangeIndex(n_learners, name="learner_idx")
    return pd.DataFrame({
        "learner_id": np.asarray(features.learner_map.ids, dtype=object),
        "lag_days": lag.reindex(index).to_numpy(),
        "started_share": started.reindex(index).fillna(0).to_numpy() / cohort_started,
        "idle_days": idle.reindex(index).to_numpy(),
    }, index=index)


def _schedule_days(text: object, start: pd.Timestamp) -> np.ndarray:
    """Deadline days after ``start`` from ``"|"``-joined timestamps (empty: none), sorted."""
    if text is None or (isinstance(text, float) and np.isnan(text)) or str(text) == "":
        return np.empty(0)
    stamps = pd.to_datetime(pd.Series(str(text).split("|")), utc=True, errors="coerce")
    if stamps.isna().any():
        raise InvalidParameterError("deadlines", text, "'|'-joined ISO 8601 timestamps")
    return np.sort(((stamps - start).dt.total_seconds() / 86400.0).to_numpy())


def deadline_phase(days: np.ndarray, deadlines: np.ndarray) -> np.ndarray:
    """Days since the latest deadline at or before each day (since the course start before the
    first deadline): where a day falls in the course's assessment cycle."""
    days = np.asarray(days, dtype=np.float64)
    latest = np.searchsorted(deadlines, days, side="right") - 1
    anchor = np.where(latest >= 0, deadlines[np.maximum(latest, 0)] if deadlines.size else 0.0,
                      0.0)
    return days - anchor


def release_forecast(
    features: FeatureSet,
    accesses: FirstAccesses,
    deadline_column: str = "assessment_deadlines",
    start_column: str = "course_start",
    category_column: str = "category",
    horizon_days: float = 7.0,
    grace_days: float = 7.0,
    tolerance_days: float = 1.0,
) -> np.ndarray:
    """Expected share of learners who start each never-opened resource in the next
    ``horizon_days``, from the course's assessment cycle (all known at ``accesses.now``).

    A resource is *released* mid-course when the cohort's first access to it came at least
    ``grace_days`` after the course start; its uptake is the share of learners who started it
    within ``horizon_days`` of that. Deadlines are published in advance, so the phase of the
    coming days in the cycle (days since the latest deadline) is known. For each category, the
    uptake of past releases whose phase lies within ``tolerance_days`` of a coming day, per
    deadline passed so far, is spread over the category's resources nobody has opened yet:
    e.g. a forum opened two days after each deadline makes the unopened forums likely two
    days after the next one, and not mid-cycle. Opened resources get 0 (their recent share
    speaks for them).
    """
    horizon = check_positive("horizon_days", horizon_days)
    tolerance = float(tolerance_days)
    if not np.isfinite(tolerance) or tolerance < 0:
        raise InvalidParameterError("tolerance_days", tolerance_days, "a number >= 0")
    resources = features.resources
    for name in (deadline_column, start_column, category_column):
        if name not in resources.columns:
            raise InvalidParameterError(
                "deadline_column" if name == deadline_column else
                "start_column" if name == start_column else "category_column",
                name, "a column of the resources table",
            )
    n_learners, n_resources = features.shape
    forecast = np.zeros(n_resources)
    if accesses.now is None or not len(accesses.resource_idx):
        return forecast
    now = accesses.now
    first_age = np.full(n_resources, -np.inf)
    np.maximum.at(first_age, accesses.resource_idx, accesses.age_days)
    opened = np.isfinite(first_age)
    early = accesses.age_days >= first_age[accesses.resource_idx] - horizon
    uptake = np.bincount(accesses.resource_idx, weights=early.astype(np.float64),
                         minlength=n_resources) / max(n_learners, 1)
    category = resources[category_column].astype(str).to_numpy()
    starts = pd.to_datetime(resources[start_column], utc=True, errors="coerce")
    schedules = pd.DataFrame({"deadlines": resources[deadline_column].astype(object)
                              .where(resources[deadline_column].notna(), ""),
                              "start": starts})
    for (text, start), rows in schedules.groupby(["deadlines", "start"], sort=False).groups.items():
        idx = np.asarray(rows, dtype=np.int64)
        start = pd.Timestamp(start)
        deadlines = _schedule_days(text, start)
        today = (now - start).total_seconds() / 86400.0
        release_day = today - first_age[idx]
        released = opened[idx] & (release_day >= grace_days)
        coming = deadline_phase(today + np.arange(int(np.ceil(horizon))), deadlines)
        release_phase = deadline_phase(release_day[released], deadlines)
        close = np.abs(release_phase[:, None] - coming[None, :]).min(axis=1) <= tolerance
        matched = idx[released][close]
        cycles = max(int((deadlines < today).sum()), 1)
        never = idx[~opened[idx]]
        for name in np.unique(category[matched]):
            targets = never[category[never] == name]
            if targets.size:
                total = uptake[matched[category[matched] == name]].sum()
                forecast[targets] = total / cycles / targets.size
    return forecast


class ScheduledPopularityModel(RecentPopularityModel):
    """Recent popularity plus :func:`release_forecast` (``forecast_weight`` times it): what the
    cohort started lately, and what the course's assessment cycle is about to release.

    The forecast is in the same unit as the recent share (a share of learners starting the
    resource), so the two add; the parameters beyond :class:`RecentPopularityModel`'s are
    those of :func:`release_forecast`.
    """

    def __init__(
        self,
        window_days: float | Literal["validation"] | None = 7.0,
        decay: str = "window",
        count: str = "first_access",
        group_column: str | None = None,
        global_weight: float = 0.1,
        scope_column: str | None = None,
        window_candidates: Sequence[float] = DEFAULT_WINDOW_CANDIDATES,
        validation_cuts: int = 3,
        horizon_days: float = 7.0,
        now: str | None = None,
        forecast_weight: float = 1.0,
        deadline_column: str = "assessment_deadlines",
        start_column: str = "course_start",
        category_column: str = "category",
        grace_days: float = 7.0,
        tolerance_days: float = 1.0,
    ) -> None:
        super().__init__(
            window_days=window_days, decay=decay, count=count, group_column=group_column,
            global_weight=global_weight, scope_column=scope_column,
            window_candidates=window_candidates, validation_cuts=validation_cuts,
            horizon_days=horizon_days, now=now,
        )
        self.forecast_weight = forecast_weight
        self.deadline_column = deadline_column
        self.start_column = start_column
        self.category_column = category_column
        self.grace_days = grace_days
        self.tolerance_days = tolerance_days

    def _expected_new_share(self, features: FeatureSet, accesses: FirstAccesses) -> np.ndarray:
        weight = self.forecast_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise InvalidParameterError("forecast_weight", weight, "a number >= 0")
        self.release_forecast_ = release_forecast(
            features, accesses, self.deadline_column, self.start_column,
            self.category_column, self.horizon_days, self.grace_days, self.tolerance_days,
        )
        return float(weight) * self.release_forecast_
