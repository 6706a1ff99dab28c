"""Schedule awareness and the time-aware hybrid: what a learner needs next, this week.

Three time signals, each an embedding model in the one space, joined by :class:`TimeAwareModel`
(its weights and recency windows chosen on validation data by a search around it,
:class:`selection.TimeAwareSearch`):

- what the cohort started lately (:class:`recommender.models.recency.RecentPopularityModel`);
- what usually follows the learner's own latest first accesses
  (:class:`recommender.models.sequence.SequenceModel`);
- what learners who lately did what this learner did have just started
  (:class:`recommender.models.sequence.CoAccessModel`), which places a learner relative to
  the cohort: behind, on pace or ahead.

The search validates on the rolling protocol itself (``evaluation.rolling``) on
the last weeks of the training events. Availability windows are not a score: a
resource outside its window is removed from the candidates
(:func:`evaluation.rolling.recommend_available`, the rolling protocol, and serving
through :mod:`recommender.features.catalog`), so it never appears.
:func:`cohort_position` says where each learner stands relative to their cohort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet
from recommender.models.base import EmbeddingModel
from recommender.models.hybrid import HybridModel, PartSpec
from recommender.models.recency import (
    BreadthRecencyModel,
    FirstAccesses,
    PeerRecencyModel,
    RecentPopularityModel,
    check_positive,
    first_accesses,
)
from recommender.models.sequence import CoAccessModel, SequenceModel


def default_time_aware_parts(
    anchor_on: str = "first_access", release_forecast: bool = False, peers: bool = False,
    breadth_groups: int | None = None, window_days: float = 7.0,
    breadth_window_days: float = 7.0,
) -> tuple[tuple[str, EmbeddingModel], ...]:
    """Recent popularity over ``window_days`` (with ``release_forecast`` plus the
    assessment-cycle forecast of :class:`ScheduledPopularityModel`), transitions gated by what
    the cohort started in the last days, and time-decayed co-occurrence (learner anchors aged
    by ``anchor_on``, see :mod:`recommender.models.sequence`); with ``peers`` also recent
    popularity among each learner's nearest peers (:class:`PeerRecencyModel`); with
    ``breadth_groups`` also recent popularity over ``breadth_window_days`` within the learner's
    breadth group (:class:`BreadthRecencyModel`, that many bins)."""
    recency = (ScheduledPopularityModel(window_days=window_days) if release_forecast
               else RecentPopularityModel(window_days=window_days, group_column=None))
    parts: tuple[tuple[str, EmbeddingModel], ...] = (
        ("recent_popularity", recency),
        ("sequence", SequenceModel(fresh_days=3.0, anchor_on=anchor_on)),
        ("co_occurrence", CoAccessModel(anchor_on=anchor_on)),
    )
    if peers:
        parts += (("peers", PeerRecencyModel()),)
    if breadth_groups is not None:
        parts += (("breadth", BreadthRecencyModel(window_days=breadth_window_days,
                                                  bins=breadth_groups)),)
    return parts


class TimeAwareModel(HybridModel):
    """The time-aware hybrid: recency, sequence and cohort position in one blend.

    ``parts`` as in :class:`HybridModel`, or None for :func:`default_time_aware_parts`: their
    learner anchors aged by ``anchor_on``, recency over ``window_days`` (with the deadline
    release forecast when ``release_forecast``), plus recent popularity among nearest peers
    when ``peers`` and within the learner's breadth group (over ``breadth_window_days``) when
    ``breadth_groups``. ``weights`` the part weights. The shipped default chooses the weights
    and the windows on the last weeks of the training events:
    :class:`selection.TimeAwareSearch`, which ``build_model`` returns.
    """

    def __init__(
        self,
        parts: Sequence[PartSpec] | None = None,
        weights: Sequence[float] | Mapping[str, float] | None = None,
        window_days: float = 7.0,
        breadth_window_days: float = 7.0,
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
        self.window_days = window_days
        self.breadth_window_days = breadth_window_days
        self.scale_sample = scale_sample
        self.random_state = random_state

    def _part_specs(self) -> Sequence[PartSpec]:
        if self.parts is not None:
            return self.parts
        return default_time_aware_parts(
            self.anchor_on, self.release_forecast, self.peers, self.breadth_groups,
            self.window_days, self.breadth_window_days,
        )


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
    those of :func:`release_forecast` (``horizon_days`` how far ahead it forecasts).
    """

    def __init__(
        self,
        window_days: float = 7.0,
        decay: str = "window",
        count: str = "first_access",
        group_column: str | None = None,
        global_weight: float = 0.1,
        scope_column: str | None = None,
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
            global_weight=global_weight, scope_column=scope_column, now=now,
        )
        self.horizon_days = horizon_days
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
