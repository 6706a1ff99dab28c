"""Read experiment runs back from MLflow as one side-by-side table per experiment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from recommender.errors import ConfigError

INVOCATION = "tags.experiment.invocation"
COLUMNS = ("ndcg", "recall", "precision", "map", "hit_rate", "mrr", "coverage", "novelty",
           "category_diversity", "vector_diversity", "popularity_bias")


def stores_under(root: Path) -> list[str]:
    """Tracking URIs of the default per-experiment SQLite stores below ``root``."""
    return [f"sqlite:///{p.resolve()}" for p in sorted(root.glob("*/mlflow.db"))]


def runs_table(
    tracking_uri: str, experiment_name: str | None = None, all_invocations: bool = False
) -> dict[str, pd.DataFrame]:
    """Experiment name -> runs (rows, in the order they were listed) x headline metrics.

    Only runs made by ``recommender experiment run`` (tagged with an invocation) count; by
    default only each experiment's latest invocation is shown.
    """
    client = MlflowClient(tracking_uri)
    if experiment_name is not None:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            names = sorted(e.name for e in client.search_experiments())
            raise ConfigError(f"no experiment {experiment_name!r} in {tracking_uri}; found {names}")
        experiments = [experiment]
    else:
        experiments = client.search_experiments()
    tables: dict[str, pd.DataFrame] = {}
    for experiment in experiments:
        runs = _runs(client, experiment.experiment_id)
        if runs.empty:
            continue
        if not all_invocations:
            latest = runs.sort_values("start_time")[INVOCATION].iloc[-1]
            runs = runs[runs[INVOCATION] == latest]
        tables[experiment.name] = _headline(runs)
    return tables


def _runs(client: MlflowClient, experiment_id: str) -> pd.DataFrame:
    rows = []
    for run in client.search_runs([experiment_id], max_results=5000):
        tags = run.data.tags
        if "experiment.invocation" not in tags:
            continue
        rows.append({
            "run_id": run.info.run_id, "start_time": run.info.start_time,
            INVOCATION: tags["experiment.invocation"],
            "position": int(tags.get("experiment.position", 0)),
            "label": run.data.params.get("label", run.info.run_name),
            "model": run.data.params.get("model", ""),
            "main_k": run.data.params.get("evaluation.main_k", "10"),
            **{f"metrics.{k}": v for k, v in run.data.metrics.items()},
        })
    return pd.DataFrame(rows)


def _headline(runs: pd.DataFrame) -> pd.DataFrame:
    runs = runs.sort_values(["start_time", "position"])
    rows = []
    for run in runs.to_dict("records"):
        k = run["main_k"]
        row = {"invocation": run[INVOCATION], "label": run["label"], "model": run["model"]}
        for name in COLUMNS:
            row[f"{name}@{k}"] = run.get(f"metrics.{name}_at_{k}")
        difference = run.get(f"metrics.vs_baseline.ndcg_at_{k}.mean_difference")
        significant = run.get(f"metrics.vs_baseline.ndcg_at_{k}.significant")
        row[f"Δndcg@{k}"] = None if pd.isna(difference) else f"{difference:+.4f}{' *' if significant else ''}"
        row[f"index recall@{k}"] = run.get(f"metrics.index_recall_at_{k}")
        row["fit s"] = run.get("metrics.fit_seconds")
        row["run"] = run["run_id"][:8]
        rows.append(row)
    return pd.DataFrame(rows)
