"""Hold-out validation of a training run: the split, its fingerprint, metrics and group gaps.

Metrics come from :mod:`recommender.evaluation` (each defined once there); this module only
keeps the per-learner values so they can be broken down by learner group, and names the split
by a fingerprint so two runs are compared only when they were judged on the same events.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.evaluation.beyond_accuracy import catalog_coverage
from recommender.delivery.batch import core_for_fit, delivered_matrix
from recommender.delivery.core import ListRequest
from recommender.evaluation.evaluate import build_test_set
from recommender.evaluation.groups import group_report
from recommender.evaluation.metrics import metrics_at_k
from recommender.features import FeatureSet, InteractionWeights
from recommender.index import SERVING_INDEX
from recommender.models.base import EmbeddingModel
from recommender.evaluation.rolling import rolling_cuts, rolling_evaluate
from recommender.spec import HoldoutSplit, RollingSplit
from training.config import ValidationSection
from training.progress import NO_PROGRESS, Progress

CHUNK = 10_000


def split_fingerprint(content_hash: str, split: HoldoutSplit | RollingSplit) -> str:
    """Same data content and same split parameters -> same fingerprint (runs comparable)."""
    identity = {"data": content_hash, "split": split.identity()}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ValidationResult:
    """Mean metrics (``ndcg_at_10``, ...), the group breakdown and the gap per attribute."""

    metrics: dict[str, float]
    breakdown: pd.DataFrame
    gaps: pd.DataFrame


def evaluate_holdout(
    model: EmbeddingModel,
    train: FeatureSet,
    test_events: pd.DataFrame,
    validation: ValidationSection,
    progress: Progress = NO_PROGRESS,
    *,
    regions: pd.DataFrame | None = None,
    weights: InteractionWeights | None = None,
    index_factory: str = SERVING_INDEX,
) -> ValidationResult:
    """Score the lists the API would serve from ``model`` (the delivery core over a bundle of
    this fit: exclusions, the learners' hard constraints, the served index) on
    ``test_events``, over learners with a relevant test resource; break results down by group.
    """
    test = build_test_set(train, test_events)
    metrics: dict[str, float] = {"n_test_learners": float(len(test.learner_idx))}
    if len(test.learner_idx) == 0:
        empty = pd.DataFrame()
        return ValidationResult(metrics=metrics, breakdown=empty, gaps=empty)
    k_values = sorted(set(validation.k))
    core = core_for_fit(model, train, regions=regions, weights=weights,
                        index_factory=index_factory)
    # every resource counts as itself (no title de-duplication): the metrics judge the
    # model's ranking of resources, as they did before lists kept one resource per title
    request = ListRequest(k=max(k_values), now=None, one_per_title=False)
    recommended = np.empty((len(test.learner_ids), request.k), dtype=np.int64)
    with progress.task("evaluating on the hold-out", total=len(test.learner_idx)) as advance:
        for lo in range(0, len(test.learner_ids), CHUNK):
            chunk = test.learner_ids[lo: lo + CHUNK]
            recommended[lo: lo + len(chunk)], _ = delivered_matrix(core, chunk, request)
            advance(len(chunk))
    per_learner = dict(metrics_at_k(recommended, test.relevant, k_values))
    metrics.update({name: float(np.nanmean(values)) for name, values in per_learner.items()})
    for k in k_values:
        metrics[f"coverage_at_{k}"] = catalog_coverage(recommended, len(train.resource_map), k)
    breakdown, gaps = _groups(per_learner, train, test.learner_idx, validation)
    return ValidationResult(metrics=metrics, breakdown=breakdown, gaps=gaps)


def _groups(
    per_learner: dict[str, np.ndarray], train: FeatureSet, learner_idx: np.ndarray,
    validation: ValidationSection,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    attributes = [a for a in validation.group_attributes if a in train.learners.columns]
    if not attributes:
        return pd.DataFrame(), pd.DataFrame()
    learners = train.learners.iloc[learner_idx].reset_index(drop=True)
    return group_report(per_learner, learners, attributes, min_size=validation.min_group_size)


_UNSAFE = re.compile(r"[^\w.\- /:]")


def metric_key(*parts: object) -> str:
    """An MLflow-safe metric name: ``ndcg_at_10.age_band.65plus``."""
    text = ".".join(str(p).replace("+", "plus") for p in parts)
    return _UNSAFE.sub("_", text)


def group_metrics(
    result: ValidationResult, metric_names: Sequence[str]
) -> dict[str, float]:
    """``<metric>.<attribute>.<value>`` means and ``<metric>.gap.<attribute>`` gaps, for the
    chosen metrics (too-small groups are logged too; the CSV says which they are)."""
    out: dict[str, float] = {}
    if result.breakdown.empty:
        return out
    wanted = set(metric_names)
    rows = result.breakdown[result.breakdown["metric"].isin(wanted)]
    for attribute, value, metric, mean in zip(
        rows["attribute"], rows["value"], rows["metric"], rows["mean"], strict=True
    ):
        if np.isfinite(mean):
            out[metric_key(metric, attribute, value)] = float(mean)
    gaps = result.gaps[result.gaps["metric"].isin(wanted)]
    for attribute, metric, gap in zip(gaps["attribute"], gaps["metric"], gaps["gap"], strict=True):
        if np.isfinite(gap):
            out[metric_key(metric, "gap", attribute)] = float(gap)
    return out


def evaluate_rolling(
    estimator: EmbeddingModel,
    features: FeatureSet,
    split: RollingSplit,
    validation: ValidationSection,
    progress: Progress = NO_PROGRESS,
    *,
    weights: InteractionWeights | None = None,
) -> tuple[ValidationResult, int]:
    """The rolling protocol (:func:`recommender.evaluation.rolling.rolling_evaluate`) as a
    training validation: ``estimator`` (unfitted) refitted before each cut of ``split`` on
    ``features`` (every event), scored on the next ``horizon_days``; metrics are means over
    every (cut, learner) row (``n_test_learners`` counts the rows); no group breakdown.
    Returns the result and the number of cuts that had learners to score."""
    cuts = rolling_cuts(split.start_of(features.resources), split.cut_days)
    k_values = sorted(set(validation.k))
    with progress.task(f"rolling validation over {len(cuts)} cuts", total=len(cuts)) as advance:
        found = rolling_evaluate(
            features, {"model": estimator}, cuts, split.horizon_days, split.mode,
            k_values=k_values, metric_names=None, interaction_weights=weights,
            on_progress=lambda stage, cut, name: advance(1))
    scores = found.scores
    metrics: dict[str, float] = {"n_test_learners": float(len(scores))}
    metric_columns = [c for c in scores.columns if re.fullmatch(r"[a-z_]+_at_\d+", c)]
    metrics.update({name: float(scores[name].mean()) for name in metric_columns})
    empty = pd.DataFrame()
    return ValidationResult(metrics=metrics, breakdown=empty, gaps=empty), \
        int(scores["cut"].nunique()) if len(scores) else 0
