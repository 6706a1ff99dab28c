"""Tidy tables of an experiment's results, shared by the HTML report, the CSV files and README.

Everything here reshapes numbers the library computed; nothing is recomputed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.evaluation.report_metrics import (
    ACCURACY_METRICS,
    BEYOND_ACCURACY_METRICS,
    LOWER_IS_BETTER,
)

from experiments.runner import ExperimentResult

SHORT = {
    "precision": "precision", "recall": "recall", "ndcg": "ndcg", "map": "map",
    "hit_rate": "hit rate", "mrr": "mrr", "coverage": "coverage", "novelty": "novelty",
    "category_diversity": "diversity (category)", "vector_diversity": "diversity (content)",
    "popularity_bias": "popularity bias",
}
# Column names of the summary table (short enough for a README row).
SUMMARY_NAMES = {**SHORT, "hit_rate": "hit", "category_diversity": "div(cat)",
                 "vector_diversity": "div(vec)", "popularity_bias": "pop.bias"}


def _labels(result: ExperimentResult) -> list[str]:
    return [run.spec.key for run in result.runs]


def summary_frame(result: ExperimentResult) -> pd.DataFrame:
    """One row per model at ``main_k``: accuracy, beyond-accuracy, test against the baseline,
    the largest group gap of the report metric, the served index's recall against exact
    search, and fit time."""
    k = result.config.evaluation.main_k
    metric = f"{result.config.evaluation.report_metric}_at_{k}"
    baseline = result.baseline.spec.key
    confidence = round(result.config.evaluation.confidence * 100)
    rows = []
    for run in result.runs:
        summary = run.report.summary
        row: dict[str, object] = {"model": run.spec.key}
        for name in (*ACCURACY_METRICS, *BEYOND_ACCURACY_METRICS):
            row[f"{SUMMARY_NAMES[name]}@{k}"] = summary.get(f"{name}_at_{k}", np.nan)
            if name == result.config.evaluation.report_metric:
                row[f"Δ{name}@{k} vs {baseline} [{confidence}% CI]"] = _difference(run, metric)
        row[f"largest group gap ({metric.replace('_at_', '@')})"] = largest_gap(run, metric)
        # the served index's lists against an exact search's (evaluation scores the former)
        row[f"index recall@{k}"] = summary.get(f"index_recall_at_{k}", np.nan)
        row["fit s"] = run.fit_seconds
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def _difference(run, metric: str) -> str:
    if run.significance is None:
        return "baseline"
    row = run.significance.set_index("metric").loc[metric]
    mark = " *" if row["significant"] else ""
    return f"{row['mean_difference']:+.4f} [{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]{mark}"


def largest_gap(run, metric: str) -> str:
    """The attribute whose best and worst groups differ most, as ``"gap (attribute: worst)"``."""
    gaps = run.report.gaps
    gaps = gaps[(gaps["metric"] == metric) & gaps["gap"].notna()]
    if gaps.empty:
        return "–"
    top = gaps.loc[gaps["gap"].idxmax()]
    return f"{top['gap']:.4f} ({top['attribute']}: {top['worst_value']} < {top['best_value']})"


def by_k_frame(result: ExperimentResult, names: tuple[str, ...] = ACCURACY_METRICS) -> pd.DataFrame:
    """Rows = models, columns = ``metric@k`` for every k (the report's full table)."""
    ks = sorted(result.config.evaluation.k_values)
    rows = {}
    for run in result.runs:
        rows[run.spec.key] = {
            f"{name}@{k}": run.report.summary.get(f"{name}_at_{k}", np.nan) for name in names for k in ks
        }
    return pd.DataFrame(rows).T


def significance_frame(result: ExperimentResult) -> pd.DataFrame:
    frames = [run.significance.assign(model=run.spec.key) for run in result.runs if run.significance is not None]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    columns = ["model", "metric", "mean_baseline", "mean_candidate", "mean_difference", "ci_low",
               "ci_high", "p_value", "significant", "n_learners", "test"]
    return table[columns]


def groups_frame(result: ExperimentResult, metric: str | None = None) -> pd.DataFrame:
    """Every model's group breakdown stacked (``model`` column), optionally one metric only."""
    table = pd.concat([run.report.groups.assign(model=run.spec.key) for run in result.runs], ignore_index=True)
    return table if metric is None else table[table["metric"] == metric]


def equity_frame(result: ExperimentResult) -> pd.DataFrame:
    """Every model's per-group equity metric with bootstrap CIs and gap to the best group, over
    all learners and within history strata (``model`` column)."""
    frames = [run.report.equity.assign(model=run.spec.key) for run in result.runs]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def equity_gaps_frame(result: ExperimentResult) -> pd.DataFrame:
    """Every model's best-worst gap per (attribute, history stratum)."""
    frames = [run.report.equity_gaps.assign(model=run.spec.key) for run in result.runs]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def equity_strata_pivot(result: ExperimentResult) -> pd.DataFrame:
    """Relative best-worst gap, (model, attribute) x history stratum: how much of a gap is
    history length (it shrinks within strata) and how much the model (it stays)."""
    table = equity_gaps_frame(result)
    if table.empty:
        return table
    cell = table.apply(lambda r: "-" if pd.isna(r["gap"]) else
                       f"{r['relative_gap']:.0%} ({r['worst_value']})", axis=1)
    wide = table.assign(cell=cell).pivot_table(index=["model", "attribute"], columns="stratum",
                                               values="cell", aggfunc="first", sort=False)
    order = [c for c in ("all", "0", "1-4", "5-19", "20+") if c in wide.columns]
    return wide[order]


def equity_worst_frame(result: ExperimentResult) -> pd.DataFrame:
    """Per (model, attribute): the worst group over all learners with its CI beside the best."""
    table = equity_frame(result)
    if table.empty:
        return table
    table = table[(table["stratum"] == "all") & ~table["too_small"].astype(bool)]
    rows = []
    for (model, attribute), part in table.groupby(["model", "attribute"], sort=False):
        if part["mean"].notna().sum() < 2:
            continue
        best, worst = part.loc[part["mean"].idxmax()], part.loc[part["mean"].idxmin()]
        rows.append({
            "model": model, "attribute": attribute,
            "best": f"{best['value']} {best['mean']:.3f} [{best['ci_low']:.3f}, {best['ci_high']:.3f}]",
            "worst": f"{worst['value']} {worst['mean']:.3f} [{worst['ci_low']:.3f}, {worst['ci_high']:.3f}]",
            "gap": worst["gap_to_best"], "relative gap": worst["relative_gap_to_best"],
            "CIs overlap": bool(worst["ci_high"] >= best["ci_low"]),
        })
    return pd.DataFrame(rows)


def groups_pivot(result: ExperimentResult, metric: str) -> pd.DataFrame:
    """(attribute, value, learners) rows x model columns of one metric's group means."""
    table = groups_frame(result, metric)
    n = table.groupby(["attribute", "value"], sort=False)["n_learners"].max()
    small = table.groupby(["attribute", "value"], sort=False)["too_small"].any()
    pivot = table.pivot_table(index=["attribute", "value"], columns="model", values="mean", sort=False)
    pivot = pivot[[label for label in _labels(result) if label in pivot.columns]]
    pivot.insert(0, "learners", n.reindex(pivot.index).astype(int))
    pivot.insert(1, "too small", small.reindex(pivot.index).map({True: "yes", False: ""}))
    return pivot


def gaps_frame(result: ExperimentResult, metric: str | None = None) -> pd.DataFrame:
    table = pd.concat([run.report.gaps.assign(model=run.spec.key) for run in result.runs], ignore_index=True)
    table = table if metric is None else table[table["metric"] == metric]
    columns = ["model", "attribute", "metric", "best_value", "best_mean", "worst_value", "worst_mean",
               "gap", "ratio", "n_groups", "too_small_groups"]
    return table[columns]


def gaps_pivot(result: ExperimentResult) -> pd.DataFrame:
    """(metric, attribute) rows x model columns of the best-worst group gap, every metric."""
    table = gaps_frame(result)
    if table.empty:
        return pd.DataFrame()
    order = {metric: i for i, metric in enumerate(dict.fromkeys(table["metric"]))}
    table = table.sort_values("metric", key=lambda m: m.map(order), kind="stable")  # metric by metric
    pivot = table.set_index(["metric", "attribute", "model"])["gap"].unstack("model", sort=False)
    pivot = pivot[[label for label in _labels(result) if label in pivot.columns]]
    lower = {f"{name}_at_{result.config.evaluation.main_k}" for name in LOWER_IS_BETTER}
    better = pd.Series(["lower" if metric in lower else "higher" if not metric.startswith("exposure_at_")
                        else "–" for metric, _ in pivot.index], index=pivot.index)
    pivot.insert(0, "better", better)
    return pivot


def beyond_accuracy_group_metrics(result: ExperimentResult) -> tuple[list[str], list[str]]:
    """The group table's beyond-accuracy metric names at ``main_k``: (per-learner means and
    coverage, exposure shares)."""
    k = result.config.evaluation.main_k
    names = set(groups_frame(result)["metric"])
    beyond = [f"{name}_at_{k}" for name in BEYOND_ACCURACY_METRICS if f"{name}_at_{k}" in names]
    exposure = sorted(name for name in names if name.startswith(f"exposure_at_{k}."))
    return beyond, exposure


def groups_wide(result: ExperimentResult, metrics: list[str]) -> pd.DataFrame:
    """(attribute, value) rows x (metric, model) columns of group values; ``learners`` first."""
    table = groups_frame(result)
    table = table[table["metric"].isin(metrics)]
    if table.empty:
        return pd.DataFrame()
    n = table.groupby(["attribute", "value"], sort=False)["n_learners"].max()
    pivot = table.set_index(["attribute", "value", "metric", "model"])["mean"].unstack(
        ["metric", "model"], sort=False)
    order = [(metric, label) for metric in metrics for label in _labels(result) if (metric, label) in pivot.columns]
    pivot = pivot[order]
    pivot.columns = pd.MultiIndex.from_tuples(
        [(metric.replace(f"_at_{result.config.evaluation.main_k}", ""), label) for metric, label in order])
    pivot.insert(0, ("learners", ""), n.reindex(pivot.index).astype(int))
    return pivot


def only_in_test_frame(result: ExperimentResult) -> pd.DataFrame:
    """One row per learner or resource that appears only in the test period (``kind``, ``id``)."""
    kinds = {"learners_only_in_test": "learner", "resources_only_in_test": "resource"}
    rows = [{"kind": kinds.get(key, key), "id": value}
            for key, values in result.test_only.items() for value in values]
    return pd.DataFrame(rows, columns=["kind", "id"])


def only_in_test_counts(result: ExperimentResult) -> dict[str, int]:
    """``{"learners": n, "resources": m}`` seen only in the test period."""
    return {kind: len(result.test_only.get(f"{kind}_only_in_test", [])) for kind in ("learners", "resources")}


def exposure_frame(result: ExperimentResult) -> pd.DataFrame:
    """(attribute, value) rows x (catalog share, each model's slot share) at ``main_k``."""
    frames = [run.report.exposure.assign(model=run.spec.key) for run in result.runs]
    table = pd.concat(frames, ignore_index=True)
    if table.empty:
        return table
    catalog = table.groupby(["attribute", "value"], sort=False)["catalog_share"].first()
    pivot = table.pivot_table(index=["attribute", "value"], columns="model", values="share", sort=False)
    pivot = pivot[[label for label in _labels(result) if label in pivot.columns]]
    pivot.insert(0, "catalog", catalog.reindex(pivot.index))
    return pivot


def markdown(frame: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub-flavoured markdown table (the index becomes the first column)."""
    frame = frame.reset_index()

    def cell(value: object) -> str:
        if isinstance(value, (float, np.floating)):
            return "–" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value).replace("|", "\\|")

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(frame.columns))) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
