"""The training pipeline: config + dataset -> hold-out validation -> fit -> bundle -> MLflow.

Validation fits on the config's hold-out split and logs metrics (overall and per learner
group); the served model is then refit on every event so the platform's newest activity is in
the bundle. The registry only ever points at a complete bundle: the version is registered last,
after the bundle was saved, re-loaded and verified, and logged. Any exception before that ends
the run as FAILED (MLflow's run context does this) and registers nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models.model import ModelInfo
from mlflow.tracking import MlflowClient

from recommender.bundle import Bundle, build_bundle, load_bundle, save_bundle
from recommender.data import Dataset
from recommender.delivery.rerank import ListPolicy
from recommender.evaluation.splits import Split
from recommender.features import FeatureSet, build_feature_set
from recommender.models import ALSModel, ColdStart
from recommender.models.base import EmbeddingModel
from recommender.selection import map_served_cold_resources
from recommender.selection.record import SelectionRecord, selection_record
from recommender.spec import HoldoutSplit, RollingSplit
from recommender.spec.engine import SparkEngine
from recommender.tracking import use_experiment
from recommender import registry
from training.config import TrainConfig
from training.progress import NO_PROGRESS, Progress
from training.pyfunc_model import log_pyfunc
from training.tracking import Tracking, flatten, log_frame
from training.validation import (
    evaluate_rolling,
    ValidationResult,
    evaluate_holdout,
    group_metrics,
    split_fingerprint,
)

@dataclass(frozen=True)
class TrainResult:
    run_id: str
    metrics: dict[str, float]
    bundle_path: Path
    bundle: Bundle
    model_uri: str
    version: str | None
    comparison: registry.Comparison | None
    split_fingerprint: str | None
    warnings: tuple[str, ...] = ()  # what the run summary must say about the data
    selection: SelectionRecord | None = None  # what a search chose (the default: auto)


@dataclass(frozen=True)
class Validated:
    """A hold-out validation: metrics, group tables, the split's fingerprint and timings."""

    result: ValidationResult
    fingerprint: str
    split_name: str
    split_counts: dict[str, int]
    seconds: dict[str, float]
    split: Split | None = None  # the hold-out split (None: the rolling protocol's cuts)


# --- building blocks (also used by tuning) -----------------------------------------------------

def fit_model(
    config: TrainConfig, features: FeatureSet, progress: Progress, label: str,
    *, every_event: bool = False, validation: HoldoutSplit | None = None,
) -> tuple[EmbeddingModel, float]:
    """A fitted model of the config's kind (seeded with the run's seed), and the seconds
    ``fit`` took: here, or on Spark when ``[engine] kind = "spark"`` (``every_event``: the
    full-data fit, which may read the ``[engine] events`` Parquet instead); ``validation``
    is what a search that chooses on a configured split (auto) validates on."""
    weights = config.features.build()
    model = config.model.build(random_state=config.seed, interaction_weights=weights,
                               validation=validation,
                               cold_resources=config.validation.cold_resources)
    engine = config.engine
    where = "" if engine.kind == "local" else f" on Spark {engine.describe()['master']}"
    with progress.task(f"fitting {config.model.name} ({label}){where}"):
        started = time.perf_counter()
        if isinstance(engine, SparkEngine) and isinstance(model, ALSModel):
            from training.spark_jobs import fit_als_on_spark  # PySpark only when asked for

            model = fit_als_on_spark(engine, features, model, weights, every_event=every_event)
        else:
            model.fit(features)
        seconds = time.perf_counter() - started
    return model, seconds


@dataclass
class HoldoutCache:
    """Reused across tuning trials: one split, hold-out features per feature setting."""

    split: Split | None = None
    features: dict[str, FeatureSet] = field(default_factory=dict)


def validate(
    config: TrainConfig,
    dataset: Dataset,
    progress: Progress = NO_PROGRESS,
    content_hash: str | None = None,
    cache: HoldoutCache | None = None,
) -> Validated:
    """Fit on the config's hold-out split's train side and score the test side (a rolling
    split: refit before each cut and score the horizon after it).

    A ``cache`` shared by calls must only see configs with the same data and split.
    """
    if isinstance(config.split, RollingSplit):
        return validate_rolling(config, dataset, progress, content_hash)
    validation = config.validation
    weights = config.features.build()
    cache = cache or HoldoutCache()
    started = time.perf_counter()
    with progress.task("splitting and building hold-out features"):
        if cache.split is None:
            cache.split = config.split.build(dataset.events)
        split = cache.split
        key = json.dumps(config.features.model_dump(mode="json"), sort_keys=True)
        features = cache.features.get(key)
        if features is None:
            features = cache.features[key] = build_feature_set(dataset, split.train, weights)
    seconds = {"features_seconds_holdout": time.perf_counter() - started}
    model, seconds["fit_seconds_holdout"] = fit_model(
        config, features, progress, "hold-out",
        validation=search_validation(config, split, split.train))
    started = time.perf_counter()
    if validation.cold_resources == "content_mapping":  # as a bundle of this fit would serve them
        model, _ = map_served_cold_resources(model, features, weights)
    result = evaluate_holdout(model, features, split.test, validation, progress,
                              regions=dataset.regions, weights=weights)
    seconds["evaluate_seconds"] = time.perf_counter() - started
    fingerprint = split_fingerprint(content_hash or dataset.content_hash(), config.split)
    counts = {k: int(v) for k, v in split.report.items()
              if isinstance(v, (int, np.integer)) and not isinstance(v, bool)}
    return Validated(result=result, fingerprint=fingerprint, split_name=split.name,
                     split_counts=counts, seconds=seconds, split=split)


def validate_rolling(
    config: TrainConfig, dataset: Dataset, progress: Progress = NO_PROGRESS,
    content_hash: str | None = None,
) -> Validated:
    """:func:`validate` for a rolling split: every model of the run is the config's estimator,
    refitted before each cut on the events before it (:func:`evaluate_rolling`), on this
    machine whatever the ``[engine]`` (the rolling protocol is the library's; the run's
    full-data fit still goes where the engine says)."""
    split = config.split
    assert isinstance(split, RollingSplit)
    weights = config.features.build()
    started = time.perf_counter()
    with progress.task("building features (all events, for the rolling cuts)"):
        features = build_feature_set(dataset, weights=weights)
    seconds = {"features_seconds_holdout": time.perf_counter() - started}
    estimator = config.model.build(random_state=config.seed, interaction_weights=weights)
    started = time.perf_counter()
    result, n_cuts = evaluate_rolling(estimator, features, split, config.validation, progress,
                                      weights=weights)
    seconds["evaluate_seconds"] = time.perf_counter() - started
    fingerprint = split_fingerprint(content_hash or dataset.content_hash(), split)
    name = f"rolling({len(split.cut_days)} cuts, {split.horizon_days:g}d, {split.mode})"
    counts = {"n_cuts": n_cuts, "n_test": int(result.metrics["n_test_learners"])}
    return Validated(result=result, fingerprint=fingerprint, split_name=name,
                     split_counts=counts, seconds=seconds)


def search_validation(
    config: TrainConfig, split: Split, events: pd.DataFrame
) -> HoldoutSplit | None:
    """The config's split replayed inside ``events`` (the events a model is fitted on) when the
    config names a hold-out ``[split]``, for a search that chooses on it (auto); None when it
    names none (the search's own validation, as before) or a rolling one."""
    if "split" not in config.model_fields_set or isinstance(config.split, RollingSplit):
        return None
    return config.split.validation_within(split, events)


def _every_event_validation(
    config: TrainConfig, dataset: Dataset, validated: Validated | None
) -> HoldoutSplit | None:
    """:func:`search_validation` for the fit on every event: the split's held-out share,
    measured on the hold-out split (built here when validation is off)."""
    if "split" not in config.model_fields_set or isinstance(config.split, RollingSplit):
        return None
    split = validated.split if validated is not None else None
    if split is None:
        split = config.split.build(dataset.events)
    return search_validation(config, split, dataset.events)


def log_consumption(features: FeatureSet) -> tuple[str, ...]:
    """Log which event types consumed a resource in this data (and why) to the active run;
    return the warnings the run's summary must show."""
    consumption = features.consumption
    mlflow.log_params({
        "consumption.consumed": ",".join(consumption.consumed),
        "consumption.consumed_for_want_of_an_end":
            ",".join(consumption.consumed_for_want_of_an_end) or "none",
    })
    warnings = tuple(consumption.warnings())
    if warnings:
        mlflow.set_tag("consumption.warning", " | ".join(warnings)[:5000])
    return warnings


# --- the run ----------------------------------------------------------------------------------

def train(
    config: TrainConfig,
    dataset: Dataset,
    tracking: Tracking,
    *,
    bundle_root: Path,
    bundle_path: Path | None = None,
    progress: Progress = NO_PROGRESS,
    index_factory: str = "Flat",
    policy: ListPolicy = ListPolicy(),
) -> TrainResult:
    """One tracked training run; the bundle goes to ``bundle_path`` or ``bundle_root/<run id>``;
    its pyfunc model serves lists re-ranked by ``policy`` (the serving settings')."""
    use_experiment(tracking.uri, config.tracking.experiment, tracking.artifact_root)
    client = MlflowClient(tracking.uri, registry_uri=tracking.uri)
    with mlflow.start_run(run_name=f"train-{config.model.name}") as run:
        run_id = run.info.run_id
        started = time.perf_counter()
        summary = dataset.summary()
        mlflow.log_params(flatten({k: v for k, v in config.to_dict().items() if k != "tune"}))
        mlflow.log_params({f"data.{k}": v for k, v in summary.items()})
        mlflow.set_tags({"model": config.model.name, "data.content_hash": summary["content_hash"],
                         "engine": config.engine.kind})
        if config.engine.kind == "spark":
            from training.spark_jobs import DRIVER_PARTS

            mlflow.set_tag("engine.driver_parts", DRIVER_PARTS)
        mlflow.log_text(json.dumps(config.to_dict(), indent=2), "config.json")
        seconds: dict[str, float] = {"data_summary_seconds": time.perf_counter() - started}

        metrics: dict[str, float] = {}
        validated = None
        if config.validation.enabled:
            validated = validate(config, dataset, progress, summary["content_hash"])
            metrics.update(validated.result.metrics)
            seconds.update(validated.seconds)
            _log_validation(config, validated, metrics)

        started = time.perf_counter()
        with progress.task("building features (all events)"):
            features = build_feature_set(dataset, weights=config.features.build())
        seconds["features_seconds"] = time.perf_counter() - started
        warnings = log_consumption(features)
        model, seconds["fit_seconds"] = fit_model(
            config, features, progress, "all events", every_event=True,
            validation=_every_event_validation(config, dataset, validated))
        selection = _log_selection(model)

        started = time.perf_counter()
        path = bundle_path or bundle_root / run_id
        on_driver = " on the driver" if config.engine.kind != "local" else ""
        with progress.task(f"fitting cold start (content mapping, profiles, fold-in){on_driver}"):
            cold_start = ColdStart(
                model, weights=config.features.build()
            ).fit(features)
        seconds["cold_start_seconds"] = time.perf_counter() - started

        started = time.perf_counter()
        with progress.task("writing and verifying the bundle"):
            bundle = build_bundle(model, cold_start, features, {
                "version": f"{config.model.name}-{run_id[:12]}",
                "model": {"name": config.model.name, "params": model.get_params()},
                "engine": config.engine.describe(),
                "metrics": metrics,
                "data": summary,
                "split": validated.split_name if validated else None,
                "split_fingerprint": validated.fingerprint if validated else None,
                "config": config.to_dict(),
                "run_id": run_id,
            }, regions=dataset.regions, weights=config.features.build())
            save_bundle(bundle, path)
            bundle = load_bundle(path)  # what is logged and registered is what loads
        seconds["bundle_seconds"] = time.perf_counter() - started

        started = time.perf_counter()
        with progress.task("logging the bundle and the pyfunc model"):
            mlflow.log_artifacts(str(path), artifact_path="bundle")
            model_info = log_pyfunc(path, index_factory, policy)
        seconds["log_model_seconds"] = time.perf_counter() - started
        mlflow.log_metrics(seconds)

        comparison, version = _compare_and_register(config, client, validated, metrics,
                                                    model_info)
    return TrainResult(
        run_id=run_id, metrics={**metrics, **seconds}, bundle_path=path, bundle=bundle,
        model_uri=model_info.model_uri, version=version, comparison=comparison,
        split_fingerprint=validated.fingerprint if validated else None,
        warnings=warnings,
        selection=selection,
    )


def _log_selection(model: EmbeddingModel) -> SelectionRecord | None:
    """A search's candidates as a table artifact (``selection/candidates.csv``), its choice as
    a tag and parameters, its time budget and candidates' scores as metrics; None for a model
    that chose nothing."""
    record = selection_record(model)
    if record is None:
        return None
    log_frame(record.candidates, "selection/candidates.csv")
    mlflow.set_tag("selection.best", record.best)
    mlflow.log_params(record.params())
    mlflow.log_metrics(record.metrics())
    return record


def _log_validation(config: TrainConfig, validated: Validated, metrics: dict[str, float]) -> None:
    """Overall and per-group metrics, group tables as CSV, and the split's identity tags."""
    validation = config.validation
    mlflow.log_params({f"split.{k}": v for k, v in validated.split_counts.items()})
    mlflow.log_metrics(metrics)
    main = [name for name in metrics if name.endswith(f"_at_{validation.main_k}")]
    mlflow.log_metrics(group_metrics(validated.result, main))
    if not validated.result.breakdown.empty:
        log_frame(validated.result.breakdown, "groups/breakdown.csv")
        log_frame(validated.result.gaps, "groups/gaps.csv")
    mlflow.set_tags({
        registry.SPLIT_TAG: validated.fingerprint,
        registry.METRIC_TAG: validation.metric,
        registry.DIRECTION_TAG: str(validation.higher_is_better).lower(),
        "split": validated.split_name,
    })


def _compare_and_register(
    config: TrainConfig, client: MlflowClient, validated: Validated | None,
    metrics: dict[str, float], model_info: ModelInfo,
) -> tuple[registry.Comparison | None, str | None]:
    """Flag a run worse than production on the same split; register it (last step)."""
    tracking, validation = config.tracking, config.validation
    comparison = None
    if validated is not None:
        comparison = registry.compare_with_alias(
            client, tracking.registered_model, tracking.production_alias,
            fingerprint=validated.fingerprint, metric=validation.metric,
            value=metrics.get(validation.metric),
            higher_is_better=validation.higher_is_better,
        )
    if comparison is not None:
        mlflow.set_tags({registry.WORSE_TAG: str(comparison.worse).lower(),
                         registry.COMPARISON_TAG: comparison.describe()})
    if not tracking.register_version:
        return comparison, None
    tags = {"model": config.model.name}
    if validated is not None:
        tags[registry.SPLIT_TAG] = validated.fingerprint
    if comparison is not None:
        tags[registry.WORSE_TAG] = str(comparison.worse).lower()
    version = registry.register(client, tracking.registered_model, model_info, tags)
    mlflow.set_tag("registered_version", f"{tracking.registered_model}/{version.version}")
    return comparison, str(version.version)
