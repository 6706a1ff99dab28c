"""Run an experiment file: one split, every listed model, one MLflow run each, one report.

Every model is fitted on the same training features and judged on the same test learners with
the library's metrics (:mod:`recommender.evaluation.report_metrics`), with serving's exclusions
(what a learner completed or dismissed in training is never a candidate). The first model is the
baseline; every other model gets a paired comparison against it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from experiments.config import ExperimentConfig, ModelSpec, config_digest, load_config, safe_name
from recommender.data import Dataset
from recommender.errors import InvalidParameterError
from recommender.evaluation.evaluate import TestSet, build_test_set
from recommender.delivery.batch import core_for_fit, delivered_matrix
from recommender.delivery.core import DeliveryCore, ListRequest
from recommender.delivery.served import ServedModel
from recommender.evaluation.metrics import index_recall_at_k
from recommender.evaluation.report_metrics import (
    ModelReport,
    candidate_exclusions,
    compare_to_baseline,
    content_vectors,
    report_metrics,
)
from recommender.evaluation.splits import Split
from recommender.features import FeatureSet, InteractionWeights, build_feature_set
from recommender.features.ordinal import describe_time
from recommender.models.base import EmbeddingModel
from recommender.selection import map_served_cold_resources
from recommender.selection.record import SelectionRecord, selection_record
from recommender.spec import HoldoutSplit, RollingSplit
from recommender.tracking import default_tracking_uri, use_experiment

if TYPE_CHECKING:
    from experiments.rolling import RollingExperiment

DEFAULT_OUT_ROOT = Path("work") / "experiments"
Step = Callable[[str], None]


@dataclass(frozen=True)
class ModelRun:
    """One model's MLflow run and results; ``significance`` is ``None`` for the baseline."""

    spec: ModelSpec
    run_id: str
    fit_seconds: float
    report: ModelReport
    significance: pd.DataFrame | None
    notes: dict[str, Any] = field(default_factory=dict)
    selection: SelectionRecord | None = None  # what a search (e.g. auto) chose, and how


@dataclass(frozen=True)
class ExperimentResult:
    """What ``run_experiment`` produced and where it put it.

    ``split_report`` holds the split's counts; ``test_only`` its id lists (learners and
    resources seen only in the test period), which the report lists in ``tables/test_only.csv``.
    """

    config: ExperimentConfig
    config_path: Path
    out_dir: Path
    tracking_uri: str
    experiment_id: str
    invocation: str
    data_summary: dict[str, Any]
    split_name: str
    split_report: dict[str, Any]
    runs: list[ModelRun]
    test_only: dict[str, list[str]] = field(default_factory=dict)
    report_path: Path | None = None

    @property
    def baseline(self) -> ModelRun:
        return self.runs[0]


@dataclass(frozen=True)
class Prepared:
    """One experiment file's data, split, training features and test set, built once."""

    dataset: Dataset
    split: Split
    train: FeatureSet
    test: TestSet
    weights: InteractionWeights
    exclude_resources: np.ndarray | None
    vectors: np.ndarray | None
    summary: dict[str, Any]
    # The split replayed inside the training events: what a search that chooses on a
    # configured split (auto) validates on, so its choice is made on the task it is judged on.
    validation: HoldoutSplit | None = None


def run_experiment(
    config_path: str | Path,
    *,
    out_dir: str | Path | None = None,
    data_root: str | Path | None = None,
    tracking_uri: str | None = None,
    on_step: Step | None = None,
    command: str | None = None,
) -> ExperimentResult | RollingExperiment:
    """Validate the file, then split, fit, evaluate, log to MLflow and write the report.

    A ``[split] kind = "rolling"`` file runs the rolling protocol instead
    (:mod:`experiments.rolling`) and returns a :class:`RollingExperiment`.

    ``out_dir`` defaults to ``work/experiments/<name>``; the tracking URI to the file's
    ``[tracking] uri``, else a SQLite store in ``out_dir``. ``command`` is how the report says
    it was made (default: the equivalent CLI call).
    """
    from experiments.report import write_report  # matplotlib only when a run gets this far

    step = on_step or (lambda _message: None)
    config_path = Path(config_path)
    config, data_path = load_config(config_path, data_root)  # fails before any work
    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT_ROOT / config.name
    out.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri or config.tracking.uri or default_tracking_uri(out)

    if isinstance(config.split, RollingSplit):  # several cuts per scope: its own loop
        from experiments.rolling import run_rolling_experiment

        return run_rolling_experiment(config, config_path, out, uri, step, command)
    step(f"loading data ({config.data.source})")
    prepared = prepare(config, step)
    experiment_id = use_experiment(uri, config.experiment_name, out / "mlartifacts")
    invocation = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    common = _common_params(config, config_path, data_path, prepared)
    tags = {"experiment.invocation": invocation, "experiment.config": str(config_path),
            "experiment.baseline": config.models[0].key}

    runs: list[ModelRun] = []
    for position, spec in enumerate(config.models, start=1):
        step(f"[{position}/{len(config.models)}] {spec.key}: fitting")
        runs.append(_run_model(config, spec, prepared, runs[0].report if runs else None,
                               common, tags, step, position))

    result = ExperimentResult(
        config=config, config_path=config_path, out_dir=out, tracking_uri=uri,
        experiment_id=experiment_id, invocation=invocation,
        data_summary=prepared.summary, split_name=prepared.split.name,
        split_report=_scalars(prepared.split.report), runs=runs,
        test_only=_id_lists(prepared.split.report),
    )
    step("writing the report")
    report_path = write_report(result, command)
    client = MlflowClient(uri)
    for run in runs:
        client.set_tag(run.run_id, "experiment.report", str(report_path.resolve()))
        client.log_artifact(run.run_id, str(report_path), "report")
        client.log_artifacts(run.run_id, str(report_path.parent / "plots"), "report/plots")
    return replace(result, report_path=report_path)


def prepare(config: ExperimentConfig, step: Step) -> Prepared:
    """The file's data split as every run of it sees it (also the trade-off sweeps')."""
    dataset = config.data.build(config.seed)
    step(f"splitting ({config.split.kind}) and building features")
    split = config.split.build(dataset.events)
    weights = config.features.build()
    train = build_feature_set(dataset, split.train, weights)
    for warning in train.consumption.warnings():
        step(f"warning: {warning}")
    if weights.ordinal_time:
        step(describe_time("ordinal"))
    test = build_test_set(train, split.test)
    if len(test.learner_idx) == 0:
        raise InvalidParameterError(
            "split", split.name, "a split leaving at least one learner with a relevant test event"
        )
    exclude = candidate_exclusions(
        train, config.split.candidates, window=config.split.test_window(split),
        active_days=config.split.active_days,
    )
    vectors = None
    if config.evaluation.diversity_vectors == "content":
        step("encoding resource content (diversity yardstick)")
        vectors = content_vectors(train.resources)
    validation = config.split.validation_within(split, split.train)
    return Prepared(dataset, split, train, test, weights, exclude, vectors, dataset.summary(),
                    validation)


def _run_model(
    config: ExperimentConfig,
    spec: ModelSpec,
    prepared: Prepared,
    baseline: ModelReport | None,
    common: dict[str, Any],
    tags: dict[str, str],
    step: Step,
    position: int,
) -> ModelRun:
    evaluation = config.evaluation
    model = spec.build(random_state=config.seed, interaction_weights=prepared.weights,
                       section=f"models[{position - 1}]", validation=prepared.validation,
                       cold_resources=evaluation.cold_resources)  # validate as the test is scored
    with mlflow.start_run(run_name=spec.key, tags={**tags, "experiment.position": str(position)}) as run:
        mlflow.log_params({**common, **_model_params(spec, model)})
        started = time.perf_counter()
        model.fit(prepared.train)
        fit_seconds = time.perf_counter() - started
        notes: dict[str, Any] = {}
        served = model  # what a bundle of this fit serves (a search: its best estimator)
        if evaluation.cold_resources == "content_mapping":
            served, n_mapped = map_served_cold_resources(model, prepared.train, prepared.weights)
            notes["n_cold_resources_mapped"] = n_mapped
        step(f"[{position}/{len(config.models)}] {spec.key}: evaluating")
        started = time.perf_counter()
        recommended, index_recall = _served_lists(served, prepared, max(evaluation.k_values),
                                                  evaluation.main_k)
        report = report_metrics(
            recommended, prepared.train, prepared.test, evaluation.k_values,
            main_k=evaluation.main_k, exclude_resources=prepared.exclude_resources,
            resource_vectors=(served.resource_factors_ if prepared.vectors is None
                              else prepared.vectors),
            exposure_columns=evaluation.exposure_attributes,
            group_attributes=evaluation.group_attributes, min_group_size=evaluation.min_group_size,
            equity_metric=evaluation.report_metric, seed=config.seed,
        )
        significance = None
        if baseline is not None:
            significance = compare_to_baseline(
                baseline, report, [f"{m}_at_{evaluation.main_k}" for m in evaluation.significance_metrics],
                n_resamples=evaluation.n_resamples, confidence=evaluation.confidence,
                test=evaluation.test,
            )
        report.summary[f"index_recall_at_{evaluation.main_k}"] = index_recall
        metrics = {**report.summary, "fit_seconds": fit_seconds,
                   "evaluate_seconds": time.perf_counter() - started, **notes}
        metrics.update(_gap_metrics(report))
        metrics.update(_exposure_metrics(report))
        if significance is not None:
            metrics.update(_significance_metrics(significance))
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if _is_number(v)})
        chosen = getattr(model, "best_params_", {}).get("weights")  # a weight search's choice
        if chosen is not None:
            notes["chosen_weights"] = dict(zip([part.name for part in model.parts_], chosen))
            mlflow.log_params({f"chosen_weight.{k}": v for k, v in notes["chosen_weights"].items()})
            mlflow.log_table(model.cv_results_, "weight_search.json")
        selection = selection_record(model)
        if selection is not None:
            step(f"[{position}/{len(config.models)}] {spec.key}: {selection.describe()}")
            mlflow.set_tag("selection.best", selection.best)
            mlflow.log_params(selection.params())
            mlflow.log_metrics(selection.metrics())
            mlflow.log_text(selection.candidates.to_csv(index=False), "selection/candidates.csv")
        _log_frames(report, significance)
    return ModelRun(spec=spec, run_id=run.info.run_id, fit_seconds=fit_seconds, report=report,
                    significance=significance, notes=notes, selection=selection)


def _served_lists(
    model: EmbeddingModel, prepared: Prepared, k: int, main_k: int
) -> tuple[np.ndarray, float]:
    """The test learners' lists as the API would serve them from this fit (the delivery core
    over a bundle of it, with the served index and the learners' hard constraints; the split's
    candidate rule on top), and the served index's recall@``main_k`` against exact search."""
    core = core_for_fit(model, prepared.train, regions=prepared.dataset.regions,
                        weights=prepared.weights)
    # no title de-duplication: the held-out resources are judged one by one, as before
    request = ListRequest(k=k, now=None, candidates=candidate_mask(prepared),
                          one_per_title=False)
    learner_ids = prepared.test.learner_ids
    recommended, _ = delivered_matrix(core, learner_ids, request)
    exact = DeliveryCore(ServedModel.from_bundle(core.served.bundle, "Flat"))
    exact_lists, _ = delivered_matrix(exact, learner_ids, request)
    recall = index_recall_at_k(recommended, exact_lists, len(prepared.train.resource_map), main_k)
    return recommended, float(np.nanmean(recall)) if np.isfinite(recall).any() else 1.0


def candidate_mask(prepared: Prepared) -> np.ndarray | None:
    """The split's candidate rule as a mask over resource_idx (None: every resource)."""
    if prepared.exclude_resources is None:
        return None
    candidates = np.ones(len(prepared.train.resource_map), dtype=bool)
    candidates[prepared.exclude_resources] = False
    return candidates


def _common_params(
    config: ExperimentConfig, config_path: Path, data_path: Path | None, prepared: Prepared
) -> dict[str, Any]:
    """Parameters shared by every run of one invocation: data, split, features, evaluation."""
    evaluation = config.evaluation
    weights = prepared.weights
    params: dict[str, Any] = {
        "experiment.config": config_path.name,
        "experiment.config_sha": config_digest(config_path),
        "experiment.seed": config.seed,
        "data.source": config.data.source,
        "data.path": str(data_path) if data_path else "",
        **{f"data.{k}": v for k, v in config.data.model_dump(
            mode="json", exclude={"source", "path"}, exclude_none=True).items()},
        **{f"data.{k}": v for k, v in prepared.summary.items()},
        "split.name": prepared.split.name,
        **{f"split.{k}": v for k, v in _scalars(prepared.split.report).items()},
        "split.candidates": config.split.candidates,
        "features.use_value_for": ",".join(weights.use_value_for),
        "features.half_life_days": weights.half_life_days,
        "features.log_scale": weights.log_scale,
        "features.time": "ordinal" if weights.ordinal_time else "dates",
        **{f"features.weight.{k}": v for k, v in weights.event_weights.items()},
        "consumption.consumed": ",".join(prepared.train.consumption.consumed),
        "consumption.consumed_for_want_of_an_end":
            ",".join(prepared.train.consumption.consumed_for_want_of_an_end) or "none",
        "evaluation.k_values": ",".join(map(str, evaluation.k_values)),
        "evaluation.main_k": evaluation.main_k,
        "evaluation.baseline": config.models[0].key,
        "evaluation.diversity_vectors": evaluation.diversity_vectors,
        "evaluation.cold_resources": evaluation.cold_resources,
        "evaluation.significance_test": evaluation.test,
    }
    return {k: _param_value(v) for k, v in params.items()}


def _model_params(spec: ModelSpec, model: EmbeddingModel) -> dict[str, Any]:
    params = {"model": spec.name, "label": spec.key}
    for key, value in model.get_params(deep=False).items():
        if key != "interaction_weights":
            params[f"model.{key}"] = _param_value(value)
    return params


def _param_value(value: Any) -> Any:
    text = value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
    return text[:500] if isinstance(text, str) else text


def _scalars(report: dict[str, Any]) -> dict[str, Any]:
    """The split report without its id lists (those go to the report's tables: :func:`_id_lists`)."""
    return {k: v for k, v in report.items() if not isinstance(v, (list, tuple, set, dict))}


def _id_lists(report: dict[str, Any]) -> dict[str, list[str]]:
    """The split report's id lists (e.g. ``learners_only_in_test``), kept for the report."""
    return {k: [str(i) for i in v] for k, v in report.items() if isinstance(v, (list, tuple, set))}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and np.isfinite(value)


def _gap_metrics(report: ModelReport) -> dict[str, float]:
    """Best-worst group gap and the worst group's value of every metric the report breaks down
    (accuracy, novelty, diversity, popularity bias, coverage, exposure shares)."""
    out: dict[str, float] = {}
    for row in report.gaps.itertuples(index=False):
        key = f"{safe_name(row.attribute)}.{safe_name(row.metric)}"
        out[f"gap.{key}"] = row.gap
        out[f"worst_group.{key}"] = row.worst_mean
    return out


def _exposure_metrics(report: ModelReport) -> dict[str, float]:
    return {
        f"exposure_at_{report.main_k}.{safe_name(row.attribute)}.{safe_name(row.value)}": row.share
        for row in report.exposure.itertuples(index=False)
    }


def _significance_metrics(table: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in table.itertuples(index=False):
        for name in ("mean_difference", "ci_low", "ci_high", "p_value"):
            out[f"vs_baseline.{row.metric}.{name}"] = getattr(row, name)
        out[f"vs_baseline.{row.metric}.significant"] = float(row.significant)
    return out


def _log_frames(report: ModelReport, significance: pd.DataFrame | None) -> None:
    """The per-model tables as run artifacts (CSV), for anyone digging past the report."""
    frames = {"groups.csv": report.groups, "group_gaps.csv": report.gaps,
              "exposure.csv": report.exposure, "equity.csv": report.equity,
              "equity_gaps.csv": report.equity_gaps}
    if significance is not None:
        frames["significance.csv"] = significance
    for name, frame in frames.items():
        mlflow.log_text(frame.to_csv(index=False), f"tables/{name}")
