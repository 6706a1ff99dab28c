"""The report's figures (matplotlib, PNG): where an operator would rather look than read."""

from __future__ import annotations

from pathlib import Path

from recommender.fonts import configure_plot_fonts

configure_plot_fonts()  # Agg, and a CJK font for Chinese labels (no "findfont" lines, no boxes)

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from experiments.runner import ExperimentResult  # noqa: E402
from experiments.tables import SHORT, groups_frame, significance_frame  # noqa: E402
from recommender.evaluation.report_metrics import ACCURACY_METRICS  # noqa: E402

DPI = 110
plt.rcParams.update({
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
})


def _colours(n: int) -> list:
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def _save(figure: plt.Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def metric_by_k(result: ExperimentResult, path: Path) -> Path:
    """Six accuracy metrics against the cut-off k, one line per model."""
    ks = sorted(result.config.evaluation.k_values)
    figure, axes = plt.subplots(2, 3, figsize=(13, 7), squeeze=False)
    colours = _colours(len(result.runs))
    for ax, name in zip(axes.ravel(), ACCURACY_METRICS):
        for colour, run in zip(colours, result.runs):
            values = [run.report.summary.get(f"{name}_at_{k}", np.nan) for k in ks]
            ax.plot(ks, values, marker="o", color=colour, label=run.spec.key)
        ax.set_title(f"{SHORT[name]}@k")
        ax.set_xlabel("k")
        ax.set_xticks(ks)
    axes[0, 0].legend(fontsize=8, loc="best")
    figure.suptitle(f"{result.config.name}: accuracy by cut-off (mean over {_n_learners(result)} test learners)")
    return _save(figure, path)


def _n_learners(result: ExperimentResult) -> int:
    return int(result.baseline.report.summary["n_test_learners"])


def metric_by_group(result: ExperimentResult, path: Path) -> Path:
    """The report metric per learner group, one panel per attribute, one bar per model.

    Groups below the minimum size are drawn pale and hatched: their means are noise.
    """
    evaluation = result.config.evaluation
    metric = f"{evaluation.report_metric}_at_{evaluation.main_k}"
    table = groups_frame(result, metric)
    attributes = [a for a in table["attribute"].unique()
                  if not (table.loc[table["attribute"] == a, "value"] == "(missing)").all()]
    if not attributes:
        attributes = list(table["attribute"].unique())[:1]
    labels = [run.spec.key for run in result.runs]
    colours = _colours(len(labels))
    figure, axes = plt.subplots(len(attributes), 1, figsize=(13, 3.2 * len(attributes) + 0.8), squeeze=False)
    for ax, attribute in zip(axes[:, 0], attributes):
        part = table[table["attribute"] == attribute]
        values = list(dict.fromkeys(part["value"]))
        width = 0.8 / max(len(labels), 1)
        x = np.arange(len(values))
        for i, (label, colour) in enumerate(zip(labels, colours)):
            rows = part[part["model"] == label].set_index("value").reindex(values)
            small = rows["too_small"].fillna(True).to_numpy(dtype=bool)
            bars = ax.bar(x + (i - (len(labels) - 1) / 2) * width, rows["mean"].to_numpy(dtype=float),
                          width, color=colour)
            for bar, is_small in zip(bars, small):
                if is_small:
                    bar.set_alpha(0.35)
                    bar.set_hatch("//")
        n = part.groupby("value", sort=False)["n_learners"].max().reindex(values)
        crowded = len(values) > 8
        ax.set_xticks(x, [f"{v}\n(n={int(c)})" for v, c in zip(values, n)], fontsize=7 if crowded else 8,
                      rotation=35 if crowded else 0, ha="right" if crowded else "center")
        ax.set_title(attribute, loc="left", fontsize=10)
        ax.set_ylabel(metric.replace("_at_", "@"))
    handles = [Patch(color=colour, label=label) for label, colour in zip(labels, colours)]
    axes[0, 0].legend(handles=handles, fontsize=8, ncols=min(len(labels), 7), loc="lower left",
                      bbox_to_anchor=(0, 1.12))
    figure.suptitle(f"{result.config.name}: {metric.replace('_at_', '@')} by learner group "
                    f"(hatched: fewer than {evaluation.min_group_size} learners)", y=1.0)
    return _save(figure, path)


def coverage_vs_popularity(result: ExperimentResult, path: Path) -> Path:
    """Catalog coverage against popularity bias at main k; marker area follows the report
    metric. Up and left is a broader, less popularity-driven list."""
    evaluation = result.config.evaluation
    k = evaluation.main_k
    metric = f"{evaluation.report_metric}_at_{k}"
    figure, ax = plt.subplots(figsize=(10, 5.5))
    values = [run.report.summary.get(metric, np.nan) for run in result.runs]
    top = max([v for v in values if np.isfinite(v)], default=1.0) or 1.0
    label = metric.replace("_at_", "@")
    for colour, run, value in zip(_colours(len(result.runs)), result.runs, values):
        x = run.report.summary[f"popularity_bias_at_{k}"]
        y = run.report.summary[f"coverage_at_{k}"]
        ax.scatter(x, y, s=60 + 600 * (value / top if np.isfinite(value) else 0), color=colour, alpha=0.75,
                   edgecolor="black", linewidth=0.5, label=f"{run.spec.key} ({label}={value:.3f})")
    legend = ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), markerscale=0.4)
    legend.set_title("model", prop={"size": 8})
    ax.set_xlabel(f"popularity bias@{k} (mean training popularity of listed resources)")
    ax.set_ylabel(f"catalog coverage@{k}")
    ax.margins(0.2)
    ax.set_title(f"{result.config.name}: coverage vs popularity bias (marker size: {metric.replace('_at_', '@')})")
    return _save(figure, path)


def exposure(result: ExperimentResult, path: Path) -> Path:
    """Share of top-k slots per provider type / mode, each model against the catalog."""
    k = result.config.evaluation.main_k
    frames = {run.spec.key: run.report.exposure for run in result.runs}
    attributes = list(dict.fromkeys(result.baseline.report.exposure["attribute"]))
    figure, axes = plt.subplots(1, max(len(attributes), 1), figsize=(6.5 * max(len(attributes), 1), 0.45 * len(frames) + 3.2),
                                squeeze=False)
    for ax, attribute in zip(axes[0], attributes):
        base = result.baseline.report.exposure
        values = list(base.loc[base["attribute"] == attribute, "value"])
        rows = {"catalog": base[base["attribute"] == attribute].set_index("value")["catalog_share"].reindex(values)}
        for label, frame in frames.items():
            rows[label] = frame[frame["attribute"] == attribute].set_index("value")["share"].reindex(values)
        shares = pd.DataFrame(rows).T.fillna(0.0)
        left = np.zeros(len(shares))
        for colour, value in zip(_colours(len(values)), values):
            ax.barh(shares.index, shares[value], left=left, color=colour, label=value)
            left += shares[value].to_numpy()
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_title(f"{attribute}: share of top-{k} slots", fontsize=10)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=min(len(values), 4),
                  frameon=False)
    return _save(figure, path)


def significance(result: ExperimentResult, path: Path) -> Path | None:
    """Mean per-learner difference to the baseline with its bootstrap CI, per metric."""
    table = significance_frame(result)
    if table.empty:
        return None
    metrics = list(dict.fromkeys(table["metric"]))
    columns = min(3, len(metrics))
    rows = int(np.ceil(len(metrics) / columns))
    labels = list(dict.fromkeys(table["model"]))
    figure, axes = plt.subplots(rows, columns, figsize=(4.5 * columns, 0.4 * len(labels) * rows + 1.5 * rows),
                                squeeze=False)
    for ax, metric in zip(axes.ravel(), metrics):
        part = table[table["metric"] == metric].set_index("model").reindex(labels)
        y = np.arange(len(labels))
        colours = ["tab:green" if s and d > 0 else "tab:red" if s else "tab:gray"
                   for s, d in zip(part["significant"], part["mean_difference"])]
        for yi, (mean, low, high, colour) in enumerate(zip(part["mean_difference"], part["ci_low"],
                                                           part["ci_high"], colours)):
            ax.errorbar([mean], [yi], xerr=[[mean - low], [high - mean]], fmt="o", color=colour,
                        ecolor=colour, capsize=3)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_yticks(y, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"Δ {metric.replace('_at_', '@')}", fontsize=10)
    for ax in axes.ravel()[len(metrics):]:
        ax.set_visible(False)
    figure.suptitle(f"{result.config.name}: difference to {result.baseline.spec.key} "
                    f"({int(result.config.evaluation.confidence * 100)}% paired bootstrap CI; "
                    "green/red = CI excludes 0)")
    return _save(figure, path)


def draw_all(result: ExperimentResult, directory: Path) -> dict[str, Path]:
    """Every figure into ``directory``; returns name -> file (figures that apply only)."""
    directory.mkdir(parents=True, exist_ok=True)
    made = {
        "metric_by_k": metric_by_k(result, directory / "metric_by_k.png"),
        "metric_by_group": metric_by_group(result, directory / "metric_by_group.png"),
        "coverage_vs_popularity": coverage_vs_popularity(result, directory / "coverage_vs_popularity_bias.png"),
        "exposure": exposure(result, directory / "exposure.png"),
        "significance": significance(result, directory / "significance.png"),
    }
    return {name: file for name, file in made.items() if file is not None}
