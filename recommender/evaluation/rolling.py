"""The rolling protocol: what does a learner open next, week after week?

A single temporal split says how a model does at one moment of a course; learners' needs move
with the course, so the protocol repeats it. At each cut date every model is fitted on all
events before the cut and judged on a fixed horizon after it (e.g. 7 days):

- ``mode="first_access"`` (the default): relevant = resources the learner opens for the first
  time in the horizon; every resource the learner already engaged with before the cut is
  excluded from their list (it cannot be new to them) and so cannot be a miss either;
- ``mode="repeat"``: relevant = every resource used in the horizon, repeats included; only
  consumed resources (:mod:`recommender.features.consumption`) are excluded, as in serving.

Resources whose availability window does not overlap the horizon are never recommended
(:mod:`recommender.features.catalog`) and do not count as misses. Scores are kept per (cut,
learner), so models are compared pairwise over exactly the same rows
(:func:`recommender.evaluation.significance.paired_comparison`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone

from recommender.features.catalog import CatalogArrays, RequestFilters
from recommender.errors import InvalidParameterError
from recommender.evaluation.evaluate import RELEVANT_EVENT_TYPES, relevance_matrix
from recommender.evaluation.metrics import metrics_at_k
from recommender.evaluation.significance import PairedComparison, paired_comparison
from recommender.features import (
    FeatureSet,
    InteractionWeights,
    build_exclusion_matrix,
    build_interaction_matrix,
)

if TYPE_CHECKING:  # evaluation sits below models: models call the protocol for validation
    from recommender.models.base import EmbeddingModel

MODES: tuple[str, ...] = ("first_access", "repeat")
# Validation cuts end just after the newest training event, so its day is inside the horizon.
_AFTER_NEWEST = pd.Timedelta(microseconds=1)


@dataclass(frozen=True)
class RollingWindow:
    """One cut: the training features before it and what the test learners did after it.

    ``relevant`` rows line up with ``learner_idx``; ``exclude`` is learners x resources (all
    learners) of what may not be recommended; ``closed`` the resources whose availability
    window misses the horizon (never recommended to anyone); ``opened`` (bool per resource)
    those someone engaged with before the cut.
    """

    cut: pd.Timestamp
    horizon_end: pd.Timestamp
    train: FeatureSet
    learner_idx: np.ndarray
    relevant: sp.csr_matrix
    exclude: sp.csr_matrix
    closed: np.ndarray
    opened: np.ndarray
    report: dict[str, int]


def _utc(name: str, value: object) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidParameterError(name, value, "a timestamp (ISO 8601 string or datetime)")
    if pd.isna(stamp):
        raise InvalidParameterError(name, value, "a timestamp, not NaT")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _check_horizon(horizon_days: object) -> float:
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, (int, float)) or not (
        np.isfinite(horizon_days) and horizon_days > 0
    ):
        raise InvalidParameterError("horizon_days", horizon_days, "a finite number of days > 0")
    return float(horizon_days)


def rolling_cuts(start: object, days: Sequence[float]) -> list[pd.Timestamp]:
    """Cut dates ``start + d`` days for each ``d`` (e.g. a course start and days 60..210)."""
    origin = _utc("start", start)
    return [origin + pd.Timedelta(days=float(d)) for d in days]


def trailing_cuts(end: object, n_cuts: int, step_days: float) -> list[pd.Timestamp]:
    """The last ``n_cuts`` cuts ``step_days`` apart whose horizons tile the time up to ``end``
    (inclusive): validation windows at the end of a training period, oldest first."""
    if isinstance(n_cuts, bool) or not isinstance(n_cuts, (int, np.integer)) or n_cuts < 1:
        raise InvalidParameterError("n_cuts", n_cuts, "an integer >= 1")
    step = pd.Timedelta(days=_check_horizon(step_days))
    last = _utc("end", end) + _AFTER_NEWEST
    return [last - step * i for i in range(int(n_cuts), 0, -1)]


def _engaged(events: pd.DataFrame, features: FeatureSet) -> sp.csr_matrix:
    """Binary learners x resources of every engaging (non-dismiss) event in ``events``."""
    engaged = events[events["event_type"].isin(RELEVANT_EVENT_TYPES)]
    learner_idx = features.learner_map.indices_of(engaged["learner_id"], strict=False)
    resource_idx = features.resource_map.indices_of(engaged["resource_id"], strict=False)
    known = (learner_idx >= 0) & (resource_idx >= 0)
    matrix = sp.csr_matrix(
        (np.ones(int(known.sum()), dtype=np.float32), (learner_idx[known], resource_idx[known])),
        shape=features.shape,
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def closed_resources(
    resources: pd.DataFrame, start: object, end: object, catalog: CatalogArrays | None = None
) -> np.ndarray:
    """resource_idx of resources whose availability window does not overlap [start, end)."""
    catalog = catalog if catalog is not None else CatalogArrays.build(resources)
    filters = RequestFilters(open_between=(_utc("start", start), _utc("end", end)))
    return np.flatnonzero(~catalog.mask(filters, None, now=None)).astype(np.int64)


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


def rolling_window(
    features: FeatureSet,
    cut: object,
    horizon_days: float = 7.0,
    mode: str = "first_access",
    interaction_weights: InteractionWeights | None = None,
    respect_availability: bool = True,
    catalog: CatalogArrays | None = None,
) -> RollingWindow:
    """Train features before ``cut`` and the relevance of ``[cut, cut + horizon_days)``.

    ``features`` gives the id maps, the learner and resource tables and (in ``events``) every
    event; ``interaction_weights`` must be those the features were built with.
    """
    if mode not in MODES:
        raise InvalidParameterError("mode", mode, f"one of {list(MODES)}")
    cut_at = _utc("cut", cut)
    end_at = cut_at + pd.Timedelta(days=_check_horizon(horizon_days))
    events = features.events
    stamps = events["timestamp"]
    train_events = events[(stamps < cut_at).to_numpy()]
    test_events = events[((stamps >= cut_at) & (stamps < end_at)).to_numpy()]
    maps = (features.learner_map, features.resource_map)
    train = FeatureSet(
        learner_map=features.learner_map,
        resource_map=features.resource_map,
        interactions=build_interaction_matrix(train_events, *maps, interaction_weights),
        exclusions=build_exclusion_matrix(train_events, *maps, features.consumption),
        learners=features.learners,
        resources=features.resources,
        events=train_events,
        consumption=features.consumption,
    )
    done = sp.csr_matrix(train.exclusions, dtype=np.float32)
    engaged = _engaged(train_events, features)
    if mode == "first_access":
        exclude = sp.csr_matrix(((done + engaged) > 0).astype(np.float32))
    else:
        exclude = done
    relevant = relevance_matrix(test_events, *maps, exclude)
    closed = np.empty(0, dtype=np.int64)
    n_closed_relevant = 0
    if respect_availability:
        closed = closed_resources(features.resources, cut_at, end_at, catalog)
        if closed.size:
            keep = np.ones(features.shape[1], dtype=np.float32)
            keep[closed] = 0.0
            kept = sp.csr_matrix(relevant @ sp.diags(keep))
            kept.eliminate_zeros()
            n_closed_relevant = int(relevant.nnz - kept.nnz)
            relevant = kept
    learner_idx = np.flatnonzero(np.diff(relevant.indptr) > 0).astype(np.int64)
    relevant = sp.csr_matrix(relevant[learner_idx])
    relevant.sort_indices()
    opened = np.asarray(engaged.sum(axis=0)).ravel() > 0
    history = np.diff(train.interactions.indptr)
    report = {
        "n_train_events": int(len(train_events)),
        "n_test_events": int(len(test_events)),
        "n_test_learners": int(len(learner_idx)),
        "n_cold_test_learners": int((history[learner_idx] == 0).sum()),
        "n_relevant": int(relevant.nnz),
        "n_relevant_new_to_cohort": int((~opened[relevant.indices]).sum()),
        "n_relevant_closed": n_closed_relevant,
        "n_closed_resources": int(closed.size),
    }
    return RollingWindow(
        cut=cut_at, horizon_end=end_at, train=train, learner_idx=learner_idx,
        relevant=relevant, exclude=exclude, closed=closed, opened=opened, report=report,
    )


def score_window(
    model: EmbeddingModel,
    window: RollingWindow,
    k_values: Sequence[int] = (10,),
    metric_names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Per-learner metrics of a model fitted on ``window.train``, rows as ``window.learner_idx``."""
    if len(window.learner_idx) == 0:
        return {}
    recommended, _ = model.recommend(
        window.learner_idx, k=max(k_values), exclude=window.exclude,
        exclude_resources=window.closed,
    )
    return dict(metrics_at_k(recommended, window.relevant, k_values, metric_names))


@dataclass(frozen=True)
class RollingResult:
    """Per (cut, learner, model) metrics plus one report row per cut."""

    scores: pd.DataFrame  # columns: cut, learner_id, model, n_relevant, <metric>_at_<k>...
    windows: pd.DataFrame  # one row per cut: horizon_end and the window's counts
    models: tuple[str, ...]
    mode: str
    horizon_days: float

    def values(self, model: str, metric: str = "ndcg_at_10") -> np.ndarray:
        """One model's metric per (cut, learner), in the same row order for every model."""
        if model not in self.models:
            raise InvalidParameterError("model", model, f"one of {list(self.models)}")
        if metric not in self.scores.columns:
            raise InvalidParameterError("metric", metric, "a metric column of the scores")
        rows = self.scores[self.scores["model"] == model]
        return rows.sort_values(["cut", "learner_id"], kind="stable")[metric].to_numpy(float)

    def summary(self, metric: str = "ndcg_at_10") -> pd.DataFrame:
        """Per model: the mean over every (cut, learner), the row count and each cut's mean."""
        if metric not in self.scores.columns:
            raise InvalidParameterError("metric", metric, "a metric column of the scores")
        if self.scores.empty:
            return pd.DataFrame(index=pd.Index(self.models, name="model"),
                                columns=["mean", "n"], dtype=float)
        per_cut = self.scores.pivot_table(
            index="model", columns="cut", values=metric, aggfunc="mean", sort=False
        )
        per_cut.columns = [c.isoformat() for c in per_cut.columns]
        table = pd.DataFrame({
            "mean": self.scores.groupby("model", sort=False)[metric].mean(),
            "n": self.scores.groupby("model", sort=False)[metric].count(),
        }).join(per_cut)
        return table.reindex(list(self.models)).rename_axis("model")

    def compare(
        self, baseline: str, candidate: str, metric: str = "ndcg_at_10", **options: object
    ) -> PairedComparison:
        """Paired bootstrap comparison (candidate - baseline) over every (cut, learner)."""
        return paired_comparison(
            self.values(baseline, metric), self.values(candidate, metric), **options
        )


def rolling_evaluate(
    features: FeatureSet,
    models: Mapping[str, EmbeddingModel],
    cuts: Sequence[object],
    horizon_days: float = 7.0,
    mode: str = "first_access",
    k_values: Sequence[int] = (10,),
    metric_names: Sequence[str] | None = ("ndcg", "recall", "hit_rate"),
    interaction_weights: InteractionWeights | None = None,
    respect_availability: bool = True,
    on_progress: Callable[[str, pd.Timestamp, str], None] | None = None,
) -> RollingResult:
    """Fit every model (an unfitted estimator, cloned per cut) before each cut, score the horizon.

    ``on_progress(stage, cut, model)`` hears each step (stage ``"fit"``), for long runs.
    """
    if not models:
        raise InvalidParameterError("models", models, "at least one model")
    if not len(cuts):
        raise InvalidParameterError("cuts", cuts, "at least one cut")
    catalog = CatalogArrays.build(features.resources) if respect_availability else None
    learner_ids = np.asarray(features.learner_map.ids, dtype=object)
    frames: list[pd.DataFrame] = []
    reports: list[dict[str, object]] = []
    for cut in sorted(_utc("cut", c) for c in cuts):
        window = rolling_window(
            features, cut, horizon_days, mode, interaction_weights, respect_availability,
            catalog,
        )
        reports.append({"cut": window.cut, "horizon_end": window.horizon_end, **window.report})
        if len(window.learner_idx) == 0:
            continue
        n_relevant = np.diff(window.relevant.indptr)
        for name, estimator in models.items():
            if on_progress is not None:
                on_progress("fit", window.cut, name)
            fitted = clone(estimator).fit(window.train)
            metrics = score_window(fitted, window, k_values, metric_names)
            frames.append(pd.DataFrame({
                "cut": window.cut,
                "learner_id": learner_ids[window.learner_idx],
                "model": name,
                "n_relevant": n_relevant,
                **metrics,
            }))
    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["cut", "learner_id", "model", "n_relevant"]
    )
    return RollingResult(
        scores=scores, windows=pd.DataFrame(reports), models=tuple(models), mode=mode,
        horizon_days=float(horizon_days),
    )
