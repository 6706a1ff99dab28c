"""``[split] kind = "rolling"``: the rolling protocol inside the experiment runner.

For each scope (a course, e.g. an OULAD presentation; or the whole catalog), cuts on course
days ``cut_days`` after its start; at each cut every model (cloned) is fitted on the events
before it and judged on the next ``horizon_days`` (:func:`recommender.evaluation.rolling.
rolling_evaluate`, first accesses only unless ``mode = "repeat"``). Every model is compared with
the baseline pairwise over (cut, learner) (paired bootstrap CI and a Wilcoxon p); the ``target``
model's gain is checked against ``target_gain``. A diagnostic ceiling, ranking by next week's
cohort first accesses (it knows the future, it is no model), says how much a shared ranking
could gain at all; a second, knowable at the cut, pools what goes to resources nobody had opened
before the cut over their category (the cut cannot say which unopened site opens next). One
MLflow run per model; ``report.md``, per-cut CSVs and a plot in the
output directory.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from experiments.config import ExperimentConfig, config_digest, safe_name
from recommender.data import Dataset
from recommender.errors import InvalidParameterError
from recommender.evaluation.metrics import ndcg_at_k
from recommender.evaluation.rolling import (
    RollingResult,
    RollingWindow,
    rolling_cuts,
    rolling_evaluate,
    rolling_window,
)
from recommender.features import FeatureSet, InteractionWeights, build_feature_set
from recommender.models.base import EmbeddingModel
from recommender.spec import RollingSplit
from recommender.tracking import use_experiment

Step = Callable[[str], None]
ALL = "all"  # the scope name when the whole catalog is one course


@dataclass(frozen=True)
class ScopeResult:
    """One scope's rolling result, its start, and its diagnostic ceilings (NaN: not computed):
    next horizon's cohort first accesses, and the same knowable at the cut."""

    scope: str
    start: pd.Timestamp
    result: RollingResult
    ceiling: float
    knowable_ceiling: float = float("nan")


@dataclass(frozen=True)
class RollingExperiment:
    """What a rolling experiment produced; ``table`` (model x scope) is what the CLI prints."""

    config: ExperimentConfig
    config_path: Path
    out_dir: Path
    tracking_uri: str
    experiment_id: str
    invocation: str
    split_name: str
    scopes: list[ScopeResult]
    table: pd.DataFrame
    tests: pd.DataFrame
    run_ids: dict[str, str]
    report_path: Path


def build_models(config: ExperimentConfig, weights: InteractionWeights
                 ) -> dict[str, EmbeddingModel]:
    """Every model of the file, unfitted, by label, seeded with the file's seed (features'
    weights where a model takes them)."""
    return {spec.key: spec.build(random_state=config.seed, interaction_weights=weights,
                                 section=f"models[{i}]")
            for i, spec in enumerate(config.models)}


def scope_features(
    dataset: Dataset, scope: str | None, columns: Sequence[str], weights: InteractionWeights
) -> FeatureSet:
    """Features of one scope: its resources, their events, and its learners (those with such
    events, and those whose ``presentations`` column lists the scope: registered, never active).
    ``scope=None``: everything."""
    if scope is None:
        return build_feature_set(dataset, None, weights)
    missing = [c for c in columns if c not in dataset.resources.columns]
    if missing:
        raise InvalidParameterError("split.scope_columns", missing, "columns of the resources table")
    key = dataset.resources[list(columns)].astype(str).agg("-".join, axis=1)
    resources = dataset.resources[key == scope]
    if resources.empty:
        raise InvalidParameterError("split.scopes", scope, f"one of {sorted(key.unique())}")
    events = dataset.events[dataset.events["resource_id"].isin(set(resources["resource_id"]))]
    learners = dataset.learners["learner_id"].isin(set(events["learner_id"]))
    if "presentations" in dataset.learners.columns:
        listed = dataset.learners["presentations"].astype(str).str.split("|")
        learners |= listed.map(lambda names: scope in names)
    subset = dataclasses.replace(
        dataset, learners=dataset.learners[learners].reset_index(drop=True),
        resources=resources.reset_index(drop=True), events=events.reset_index(drop=True),
    )
    return build_feature_set(subset, None, weights)


def scope_start(features: FeatureSet, split: RollingSplit, scope: str) -> pd.Timestamp:
    """``split.start``, else the scope's ``course_start`` (its earliest, if several)."""
    return split.start_of(features.resources, scope)


def pool_unopened(features: FeatureSet, window: RollingWindow, future: np.ndarray) -> np.ndarray:
    """``future`` (per resource) where each resource nobody engaged with before the cut (and
    open in the horizon) gets instead the mean of ``future`` over such resources of its
    ``category``: how much goes to unopened resources of a type, not which one gets it."""
    pool = ~window.opened
    pool[window.closed] = False  # never candidates: known at the cut, and never relevant
    if "category" in features.resources.columns:
        category = features.resources["category"].astype(str).to_numpy()
    else:
        category = np.zeros(len(future), dtype=np.int64)
    pooled = np.asarray(future, dtype=np.float64).copy()
    groups = pd.Series(pooled[pool]).groupby(category[pool]).transform("mean")
    pooled[pool] = groups.to_numpy(np.float64)
    return pooled


def ceilings_ndcg(features: FeatureSet, cuts: Sequence[pd.Timestamp], horizon: float, mode: str,
                  k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per (cut, learner) nDCG@k of ranking by next horizon's cohort first accesses: a ceiling
    for any ranking shared by the whole cohort (it knows the future; not a model); and of the
    same ranking knowable at the cut, where resources nobody opened before it share their
    category's mean (:func:`pool_unopened`). Each cut's window is built once for both. Ties
    fall to the lower resource index (the resources table's order): a stable sort."""
    plain, knowable = [], []
    for cut in cuts:
        window = rolling_window(features, cut, horizon, mode)
        if len(window.learner_idx) == 0:
            continue
        future = np.asarray(window.relevant.sum(axis=0)).ravel()
        plain.append(_shared_ranking_ndcg(window, future, k))
        knowable.append(_shared_ranking_ndcg(window, pool_unopened(features, window, future), k))
    return tuple(np.concatenate(v) if v else np.empty(0) for v in (plain, knowable))


def _shared_ranking_ndcg(window: RollingWindow, future: np.ndarray, k: int) -> np.ndarray:
    """nDCG@k of every test learner's list ranked by ``future``, less what they may not get."""
    scores = np.tile(future, (len(window.learner_idx), 1)).astype(np.float64)
    excluded = window.exclude[window.learner_idx].tocoo()
    scores[excluded.row, excluded.col] = -np.inf
    scores[:, window.closed] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top = np.where(np.isfinite(np.take_along_axis(scores, top, axis=1)), top, -1)
    return ndcg_at_k(top, window.relevant, k)


def run_rolling_experiment(
    config: ExperimentConfig,
    config_path: Path,
    out: Path,
    tracking_uri: str,
    step: Step,
    command: str | None = None,
) -> RollingExperiment:
    """Load, evaluate every scope, compare, log one MLflow run per model, write the report."""
    split = config.split
    assert isinstance(split, RollingSplit)
    evaluation = config.evaluation
    metric = f"{evaluation.report_metric}_at_{evaluation.main_k}"
    weights = config.features.build()
    step(f"loading data ({config.data.source})")
    dataset = config.data.build(config.seed)
    models = build_models(config, weights)
    baseline = split.baseline or config.models[0].key
    scopes: list[ScopeResult] = []
    for scope in split.scopes or [None]:
        name = scope or ALL
        features = scope_features(dataset, scope, split.scope_columns, weights)
        start = scope_start(features, split, name)
        cuts = rolling_cuts(start, split.cut_days)
        started = time.perf_counter()

        def progress(stage: str, cut: pd.Timestamp, model: str, name: str = name,
                     start: pd.Timestamp = start, started: float = started) -> None:
            step(f"{name} day {(cut - start).days}: {stage} {model} "
                 f"[{time.perf_counter() - started:.0f}s]")

        result = rolling_evaluate(
            features, models, cuts, horizon_days=split.horizon_days, mode=split.mode,
            k_values=evaluation.k_values, metric_names=list(dict.fromkeys(
                [evaluation.report_metric, *evaluation.significance_metrics])),
            interaction_weights=weights, on_progress=progress,
        )
        ceilings = [float("nan"), float("nan")]
        if split.ceiling:
            both = ceilings_ndcg(features, cuts, split.horizon_days, split.mode,
                                 evaluation.main_k)
            ceilings = [float(np.nanmean(v)) if v.size else float("nan") for v in both]
        scopes.append(ScopeResult(name, start, result, *ceilings))

    table, comparisons = _comparisons(scopes, list(models), baseline, metric, config)
    tests = _target_table(comparisons, split, baseline, scopes)
    experiment_id = use_experiment(tracking_uri, config.experiment_name, out / "mlartifacts")
    invocation = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    split_name = (f"rolling(days {','.join(f'{d:g}' for d in split.cut_days)}; "
                  f"{split.horizon_days:g}d; {split.mode})")
    run_ids = _log_runs(config, config_path, models, scopes, comparisons, baseline, metric,
                        invocation, split_name)
    step("writing the report")
    report_path = _write_report(config, out, scopes, table, tests, metric, baseline, command,
                                split_name, comparisons)
    return RollingExperiment(
        config=config, config_path=config_path, out_dir=out, tracking_uri=tracking_uri,
        experiment_id=experiment_id, invocation=invocation, split_name=split_name,
        scopes=scopes, table=table, tests=tests, run_ids=run_ids, report_path=report_path,
    )


def _comparisons(
    scopes: list[ScopeResult], names: list[str], baseline: str, metric: str,
    config: ExperimentConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The model x scope table of means (with the gain over the baseline) and one paired
    comparison row per (scope, model)."""
    evaluation = config.evaluation
    table = pd.DataFrame(index=pd.Index(names, name="model"))
    rows = []
    for scope in scopes:
        summary = scope.result.summary(metric)
        base = float(summary.loc[baseline, "mean"])
        table[scope.scope] = [
            f"{summary.loc[n, 'mean']:.3f} ({(summary.loc[n, 'mean'] / base - 1) * 100:+.1f}%)"
            for n in names
        ]
        for name in names:
            test = scope.result.compare(
                baseline, name, metric, n_resamples=evaluation.n_resamples,
                confidence=evaluation.confidence, test=evaluation.test,
            )
            rows.append({"scope": scope.scope, "model": name, "n": test.n_learners,
                         "baseline": test.mean_baseline, "mean": test.mean_candidate,
                         "difference": test.mean_difference, "ci_low": test.ci_low,
                         "ci_high": test.ci_high, "p_value": test.p_value})
    return table, pd.DataFrame(rows)


def _target_table(comparisons: pd.DataFrame, split: RollingSplit, baseline: str,
                  scopes: list[ScopeResult]) -> pd.DataFrame:
    """Per scope: the target model against the baseline, and whether the target is met."""
    target = split.target
    if target is None or comparisons.empty:
        return pd.DataFrame()
    ceilings = {s.scope: s for s in scopes}
    rows = []
    for row in comparisons[comparisons["model"] == target].itertuples(index=False):
        windows = next(s for s in scopes if s.scope == row.scope).result.windows
        gain = row.difference / row.baseline if row.baseline else float("nan")
        met = gain >= split.target_gain and row.ci_low > 0
        rows.append({
            "scope": row.scope,
            "(cut, learner) pairs": row.n,
            baseline: f"{row.baseline:.3f}",
            target: f"{row.mean:.3f}",
            "gain": f"{gain * 100:+.1f}%",
            "difference [95% CI]": f"{row.difference:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}]",
            "p": f"{row.p_value:.1e}",
            f"target (+{split.target_gain * 100:g}%, CI > 0)": "met" if met else "NOT met",
            "ceiling: next horizon's popularity": f"{ceilings[row.scope].ceiling:.3f}",
            "ceiling knowable at the cut": f"{ceilings[row.scope].knowable_ceiling:.3f}",
            "relevant new to cohort": (
                f"{windows['n_relevant_new_to_cohort'].sum() / max(windows['n_relevant'].sum(), 1) * 100:.1f}%"
            ),
        })
    return pd.DataFrame(rows)


def _log_runs(
    config: ExperimentConfig, config_path: Path, models: dict[str, EmbeddingModel],
    scopes: list[ScopeResult], comparisons: pd.DataFrame, baseline: str, metric: str,
    invocation: str, split_name: str,
) -> dict[str, str]:
    """One MLflow run per model: its parameters, and per scope its mean and the comparison."""
    split = config.split
    tags = {"experiment.invocation": invocation, "experiment.config": str(config_path),
            "experiment.baseline": baseline}
    common = {
        "experiment.config": config_path.name, "experiment.config_sha": config_digest(config_path),
        "data.source": config.data.source, "split.name": split_name[:500],
        "split.horizon_days": split.horizon_days, "split.mode": split.mode,
        "evaluation.main_k": config.evaluation.main_k, "evaluation.baseline": baseline,
    }
    run_ids = {}
    for position, (label, model) in enumerate(models.items(), start=1):
        with mlflow.start_run(run_name=label,
                              tags={**tags, "experiment.position": str(position)}) as run:
            params = {f"model.{k}": (v if isinstance(v, (int, float, str, bool)) else str(v))
                      for k, v in model.get_params(deep=False).items()
                      if k != "interaction_weights"}
            mlflow.log_params({**common, "label": label,
                               **{k: (v[:500] if isinstance(v, str) else v)
                                  for k, v in params.items()}})
            metrics = {}
            for row in comparisons[comparisons["model"] == label].itertuples(index=False):
                scope = safe_name(row.scope)
                metrics[f"{scope}.{metric}"] = row.mean
                if label != baseline:
                    for name in ("difference", "ci_low", "ci_high", "p_value"):
                        metrics[f"{scope}.vs_baseline.{name}"] = getattr(row, name)
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()
                                if isinstance(v, (int, float)) and np.isfinite(v)})
            for scope in scopes:
                mlflow.log_text(scope.result.summary(metric).to_csv(),
                                f"tables/summary_{safe_name(scope.scope)}.csv")
            run_ids[label] = run.info.run_id
    return run_ids


def markdown(frame: pd.DataFrame, index: bool = True) -> str:
    """A GitHub-flavoured markdown table of already formatted cells."""
    frame = frame.reset_index() if index else frame
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(frame.columns))) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _write_report(
    config: ExperimentConfig, out: Path, scopes: list[ScopeResult], table: pd.DataFrame,
    tests: pd.DataFrame, metric: str, baseline: str, command: str | None, split_name: str,
    comparisons: pd.DataFrame,
) -> Path:
    split = config.split
    assert isinstance(split, RollingSplit)
    for scope in scopes:
        slug = safe_name(scope.scope).lower()
        scope.result.scores.to_csv(out / f"scores_{slug}.csv", index=False)
        scope.result.summary(metric).to_csv(out / f"summary_{slug}.csv")
        scope.result.windows.to_csv(out / f"windows_{slug}.csv", index=False)
    comparisons.to_csv(out / "comparisons.csv", index=False)
    plot = _plot(scopes, metric, baseline, split.target, out)
    days = ", ".join(f"{d:g}" for d in split.cut_days)
    lines = [
        f"# {config.name}: rolling evaluation ({split.mode.replace('_', ' ')}, cuts on days "
        f"{days}, {split.horizon_days:g}-day horizon)",
        "",
        f"`{command or f'recommender experiment run {config.name}'}`",
        "",
        f"{metric} over every (cut, learner), relative to `{baseline}`:",
        "",
        markdown(table),
        "",
    ]
    if not tests.empty:
        lines += [f"`{split.target}` against `{baseline}`, paired bootstrap over (cut, learner) "
                  "pairs:", "", markdown(tests, index=False), ""]
    lines += [f"![per cut]({plot.name})", ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _plot(scopes: list[ScopeResult], metric: str, baseline: str, target: str | None,
          out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(scopes[0].result.models)
    fig, axes = plt.subplots(1, len(scopes), figsize=(5.2 * len(scopes), 4.4), squeeze=False)
    for ax, scope in zip(axes[0], scopes):
        summary = scope.result.summary(metric)
        cut_columns = list(summary.columns[2:])
        days = [(pd.Timestamp(c) - scope.start).days for c in cut_columns]
        for name in names:
            style = {"linewidth": 2.6} if name in (baseline, target) else {"alpha": 0.7}
            ax.plot(days, summary.loc[name, cut_columns].to_numpy(float), marker="o",
                    label=name, **style)
        ax.set_title(f"{scope.scope}: {metric} per cut")
        ax.set_xlabel("course day of the cut")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(metric)
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path = out / "rolling.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
