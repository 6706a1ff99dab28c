"""The training pipeline: dataset -> features -> fit -> evaluate -> bundle -> MLflow run.

Evaluation fits on a per-learner temporal hold-out; the served model is then refit on every
event so the platform's newest activity is in the bundle. Both fit times are logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mlflow

from recommender.bundle import Bundle, save_bundle
from recommender.data import Dataset
from recommender.evaluation.evaluate import evaluate
from recommender.evaluation.splits import leave_last_fraction
from recommender.features import InteractionWeights, build_feature_set
from recommender.models import MODELS
from training.tracking import use_experiment

# Learner profile fields the bundle carries for explanations and cold start.
PROFILE_COLUMNS = (
    "learner_id", "group", "age_band", "region", "urban_rural", "education_level", "languages",
    "accessibility_needs", "interests",
)
# Catalog fields the bundle carries for serving (titles, filters, explanations).
CATALOG_COLUMNS = (
    "resource_id", "title", "language", "category", "provider_type", "mode", "region",
    "duration_minutes", "credit_hours", "level", "accessibility", "available_from",
    "available_until",
)


@dataclass(frozen=True)
class TrainSpec:
    """What to train and how to judge it; every field is logged as a run parameter."""

    model: str = "als"
    model_params: dict[str, Any] = field(default_factory=dict)
    weights: InteractionWeights = field(default_factory=InteractionWeights)
    holdout_fraction: float = 0.2
    k_values: Sequence[int] = (5, 10, 20)


@dataclass(frozen=True)
class TrainResult:
    bundle_path: Path
    run_id: str
    metrics: dict[str, float]
    bundle: Bundle


Step = Callable[[str], None]


def _flat_params(spec: TrainSpec) -> dict[str, Any]:
    params: dict[str, Any] = {"model": spec.model, "holdout_fraction": spec.holdout_fraction}
    params.update({f"model.{k}": v for k, v in spec.model_params.items()})
    for key, value in asdict(spec.weights).items():
        if isinstance(value, dict):
            params.update({f"weights.{key}.{k}": v for k, v in value.items()})
        else:
            params[f"weights.{key}"] = value
    return params


def train(
    dataset: Dataset,
    bundle_path: Path,
    spec: TrainSpec,
    *,
    tracking_uri: str,
    experiment_name: str,
    artifact_root: Path | None = None,
    on_step: Step | None = None,
) -> TrainResult:
    """Train ``spec.model`` on ``dataset``, write the bundle, and log one MLflow run."""
    step = on_step or (lambda _message: None)
    model_cls = MODELS[spec.model]
    use_experiment(tracking_uri, experiment_name, artifact_root)

    with mlflow.start_run() as run:
        mlflow.log_params(_flat_params(spec))
        summary = dataset.summary()
        mlflow.log_params({f"data.{k}": v for k, v in summary.items()})

        step("evaluating on a per-learner temporal hold-out")
        split = leave_last_fraction(dataset.events, spec.holdout_fraction)
        train_features = build_feature_set(dataset, split.train, spec.weights)
        started = time.perf_counter()
        held_out_model = model_cls(**spec.model_params).fit(train_features)
        metrics = {"fit_seconds_holdout": time.perf_counter() - started}
        metrics.update(evaluate(held_out_model, train_features, split.test, spec.k_values))

        step("fitting the served model on all events")
        features = build_feature_set(dataset, weights=spec.weights)
        started = time.perf_counter()
        model = model_cls(**spec.model_params).fit(features)
        metrics["fit_seconds"] = time.perf_counter() - started
        mlflow.log_metrics(metrics)

        step("writing the bundle")
        catalog = dataset.resources[[c for c in CATALOG_COLUMNS if c in dataset.resources]]
        bundle = Bundle(
            learner_map=features.learner_map,
            resource_map=features.resource_map,
            learner_factors=model.learner_factors_,
            resource_factors=model.resource_factors_,
            exclusions=features.exclusions,
            interactions=features.interactions,
            resources=catalog.reset_index(drop=True),
            learners=features.learners[[c for c in PROFILE_COLUMNS if c in features.learners]],
            manifest={
                "version": f"{spec.model}-{run.info.run_id[:12]}",
                "model": {"name": spec.model, "params": model.get_params()},
                "metrics": metrics,
                "data": summary,
                "split": split.name,
                "run_id": run.info.run_id,
            },
        )
        save_bundle(bundle, bundle_path)
        mlflow.log_artifacts(str(bundle_path), artifact_path="bundle")
    return TrainResult(bundle_path=bundle_path, run_id=run.info.run_id, metrics=metrics, bundle=bundle)
