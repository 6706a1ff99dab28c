"""The operator's report: one static HTML page (tables + PNG plots beside it) per experiment run.

``write_report`` writes into the run's output directory:
``report.html``, ``plots/*.png`` (linked from the page), ``tables/*.csv`` (every table in full)
and ``results.md`` (the summary table in markdown, with the command, for the README).
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from experiments import plots
from experiments.runner import ExperimentResult
from experiments.tables import (
    beyond_accuracy_group_metrics,
    by_k_frame,
    exposure_frame,
    equity_frame,
    equity_gaps_frame,
    equity_strata_pivot,
    equity_worst_frame,
    gaps_frame,
    gaps_pivot,
    groups_frame,
    groups_pivot,
    groups_wide,
    markdown,
    only_in_test_counts,
    only_in_test_frame,
    significance_frame,
    summary_frame,
)
from recommender.evaluation.report_metrics import BEYOND_ACCURACY_METRICS

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans CJK SC',sans-serif;margin:2em auto;max-width:1300px;
color:#222;padding:0 1em}
h1{margin-bottom:0.2em} h2{border-bottom:2px solid #ddd;padding-bottom:0.2em;margin-top:2em}
table{border-collapse:collapse;font-size:0.85em;margin:0.6em 0} th,td{padding:3px 8px;border-bottom:1px solid #e4e4e4}
th{background:#f4f4f4;text-align:left} td{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0} .note{color:#555;font-size:0.9em}
.takeaways li{margin:0.2em 0} pre{background:#f7f7f7;padding:0.8em;overflow-x:auto;font-size:0.85em}
details summary{cursor:pointer;color:#245} .scroll{overflow-x:auto;max-width:100%}
"""


def _table(frame: pd.DataFrame, digits: int = 4, index: bool = True) -> str:
    if frame.empty:
        return "<p class='note'>(nothing to show)</p>"
    formatted = frame.copy()
    for column in formatted.columns:
        if pd.api.types.is_float_dtype(formatted[column]):
            formatted[column] = formatted[column].map(lambda v: "–" if pd.isna(v) else f"{v:.{digits}f}")
    return f"<div class='scroll'>{formatted.to_html(index=index, escape=True, border=0, na_rep='–')}</div>"


def _kv(pairs: dict[str, object]) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td style='text-align:left'>{html.escape(str(v))}</td></tr>"
                   for k, v in pairs.items())
    return f"<table>{rows}</table>"


def _img(plots_made: dict[str, Path], name: str, alt: str) -> str:
    if name not in plots_made:
        return ""
    return f"<img src='plots/{plots_made[name].name}' alt='{html.escape(alt)}'>"


def takeaways(result: ExperimentResult) -> list[str]:
    """A few plain sentences an operator reads first (all derived from the tables)."""
    evaluation = result.config.evaluation
    metric = f"{evaluation.report_metric}_at_{evaluation.main_k}"
    label = metric.replace("_at_", "@")
    values = {run.spec.key: run.report.summary.get(metric, np.nan) for run in result.runs}
    best = max(values, key=lambda key: -np.inf if np.isnan(values[key]) else values[key])
    lines = [f"Best {label}: {best} ({values[best]:.4f}); baseline {result.baseline.spec.key} "
             f"{values[result.baseline.spec.key]:.4f}."]
    better, worse = [], []
    for run in result.runs[1:]:
        row = run.significance.set_index("metric").loc[metric]
        if row["significant"]:
            (better if row["mean_difference"] > 0 else worse).append(run.spec.key)
    if len(result.runs) > 1:
        lines.append(f"Significantly better than {result.baseline.spec.key} on {label}: "
                     f"{', '.join(better) or 'none'}; significantly worse: {', '.join(worse) or 'none'}.")
    k = evaluation.main_k
    coverage = {run.spec.key: run.report.summary[f"coverage_at_{k}"] for run in result.runs}
    widest = max(coverage, key=coverage.get)
    lines.append(f"Widest catalog coverage@{k}: {widest} ({coverage[widest]:.3f}).")
    gaps = gaps_frame(result, metric).dropna(subset=["gap"])
    if not gaps.empty:
        top = gaps.loc[gaps["gap"].idxmax()]
        lines.append(f"Largest group gap in {label}: {top['model']} on {top['attribute']} "
                     f"({top['worst_value']} {top['worst_mean']:.4f} vs {top['best_value']} "
                     f"{top['best_mean']:.4f}).")
    summary = result.baseline.report.summary
    lines.append(f"{int(summary['n_test_learners'])} test learners ({int(summary['n_cold_test_learners'])} "
                 f"without training history); {int(summary['n_candidates'])} candidate resources.")
    lines.append(_only_in_test_sentence(result))
    return lines


def _only_in_test_sentence(result: ExperimentResult) -> str:
    counts = only_in_test_counts(result)
    return (f"{counts['learners']} learners and {counts['resources']} resources appear only in the test "
            "period (ids in tables/test_only.csv).")


def render_html(result: ExperimentResult, plots_made: dict[str, Path], command: str) -> str:
    """The whole page as a string."""
    config = result.config
    evaluation = config.evaluation
    k = evaluation.main_k
    metric = f"{evaluation.report_metric}_at_{k}"
    setup = {
        "description": config.description,
        "command": command,
        "run at (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "experiment file": f"{result.config_path} (sha256 {_digest(result)})",
        "MLflow": f"{result.tracking_uri} · experiment {config.experiment_name!r} (id {result.experiment_id}) · "
                  f"invocation {result.invocation}",
        "data": f"{config.data.source}: " + ", ".join(f"{k2}={v}" for k2, v in result.data_summary.items()),
        "split": result.split_name,
        "split counts": ", ".join(f"{k2}={v}" for k2, v in result.split_report.items()),
        "candidates": _candidates_note(result),
        "exclusions": "as serving: resources a learner completed or dismissed in training are never "
                      "candidates for them, and never count as misses",
        "baseline": result.baseline.spec.key,
    }
    notes = {run.spec.key: run.notes for run in result.runs if run.notes}
    runs = pd.DataFrame([{"model": run.spec.key, "name": run.spec.name, "run id": run.run_id,
                          "params": ", ".join(f"{a}={b}" for a, b in run.spec.params.items()) or "(defaults)"}
                         for run in result.runs]).set_index("model")
    beyond = by_k_frame(result, BEYOND_ACCURACY_METRICS)
    sig = significance_frame(result)
    beyond_by_group, exposure_by_group = beyond_accuracy_group_metrics(result)
    test_only = only_in_test_frame(result)
    body = f"""
<h1>Experiment: {html.escape(config.name)}</h1>
<p class='note'>{html.escape(config.description)}</p>
<h2>Take-aways</h2>
<ul class='takeaways'>{''.join(f'<li>{html.escape(line)}</li>' for line in takeaways(result))}</ul>
<h2>Summary at k={k}</h2>
<p class='note'>Means over test learners. Δ is the paired mean difference to the baseline with its
{int(evaluation.confidence * 100)}% bootstrap CI (* = the CI excludes 0). The group gap is best minus worst
group mean (groups of at least {evaluation.min_group_size} learners).</p>
{_table(summary_frame(result))}
{_selections_html(result)}
<h2>Accuracy by cut-off</h2>
{_img(plots_made, 'metric_by_k', 'metrics by k')}
{_table(by_k_frame(result))}
<h2>Against the baseline ({html.escape(result.baseline.spec.key)})</h2>
<p class='note'>Paired over the same test learners; p-value from the {html.escape(evaluation.test)} test.</p>
{_img(plots_made, 'significance', 'differences to the baseline')}
{_table(sig, index=False) if not sig.empty else "<p class='note'>Only one model: nothing to compare.</p>"}
<h2>Beyond accuracy</h2>
<p class='note'>Coverage: share of the catalog in anyone's list. Novelty: mean self-information of
listed resources. Diversity: mean pairwise dissimilarity within a list (by category; by
{'content vector' if evaluation.diversity_vectors == 'content' else "the model's resource vectors"}).
Popularity bias: mean share of training learners who used the listed resources.</p>
{_img(plots_made, 'coverage_vs_popularity', 'coverage versus popularity bias')}
{_table(beyond)}
<h3>Exposure at k={k}</h3>
<p class='note'>Share of all top-{k} slots by provider type and mode, next to the catalog's share.</p>
{_img(plots_made, 'exposure', 'exposure shares')}
{_table(exposure_frame(result))}
<h2>Equal access: {html.escape(metric.replace('_at_', '@'))} by learner group</h2>
{_img(plots_made, 'metric_by_group', 'metric by group')}
<h3>Best and worst group</h3>
{_table(_short_lists(gaps_frame(result, metric)), index=False)}
<h3>Every group</h3>
{_table(groups_pivot(result, metric))}
<h3>Best and worst group with {int(evaluation.confidence * 100)}% bootstrap CIs</h3>
<p class='note'>{html.escape(metric.replace('_at_', '@'))} per group with a percentile bootstrap CI over
the group's learners; relative gap = (best - worst) / best.</p>
{_table(equity_worst_frame(result), index=False)}
<h3>Relative gap within history strata (training events per learner)</h3>
<p class='note'>A gap that shrinks within strata is history length (data volume); one that stays is the
model. Each cell: relative best-worst gap (worst group); "-" where fewer than two groups have
{evaluation.min_group_size} learners in the stratum. Every group, stratum and CI:
<code>tables/equity.csv</code>, gaps: <code>tables/equity_gaps.csv</code>.</p>
{_table(equity_strata_pivot(result))}
<h3>Every metric at k={k}: gap between the best- and worst-served group</h3>
<p class='note'>Groups of at least {evaluation.min_group_size} learners. "better" says which way serves a
group better: popularity bias is better low; exposure shares have no better side, so their gap is the
spread between the groups with the largest and smallest share.</p>
{_table(gaps_pivot(result))}
<h3>Beyond accuracy by group at k={k}</h3>
<p class='note'>Novelty, diversity and popularity bias are means over the group's learners; coverage is
the share of the catalog in any of the group's lists (larger groups cover more).</p>
{_table(groups_wide(result, beyond_by_group))}
<h3>Exposure by group at k={k}</h3>
<p class='note'>Share of the group's top-{k} slots by provider type and mode.</p>
{_table(groups_wide(result, exposure_by_group))}
<p class='note'>Every metric by group is in <code>tables/groups.csv</code>; all gaps in
<code>tables/group_gaps.csv</code>.</p>
<h2>Setup</h2>
{_kv(setup)}
<h3>Only in the test period</h3>
<p class='note'>{html.escape(_only_in_test_sentence(result))} They are not dropped: such learners are scored
with the other test learners (counted above as without training history), and such resources stay
candidates unless the candidate rule leaves them out.</p>
{_table(test_only.head(20), index=False) if not test_only.empty else ""}
{_table(runs)}
{_kv({key: ', '.join(f'{a}={b}' for a, b in value.items()) for key, value in notes.items()}) if notes else ''}
<details><summary>Experiment file</summary><pre>{html.escape(result.config_path.read_text(encoding='utf-8'))}</pre></details>
"""
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(config.name)} "
            f"experiment</title><style>{CSS}</style></head><body>{body}</body></html>")


def _selections_html(result: ExperimentResult) -> str:
    """For each model that chose on validation (``auto`` and the other searches): the choice
    and its parameters, the validation split, the time budget and every candidate's score."""
    runs = [run for run in result.runs if run.selection is not None]
    if not runs:
        return ""
    parts = ["<h2>What the searches chose</h2><p class='note'>Chosen on a validation split of "
             "the training events, then refitted on all of them (what the tables above "
             "score). Every candidate: <code>tables/selection_&lt;model&gt;.csv</code>.</p>"]
    for run in runs:
        record = run.selection
        assert record is not None
        facts = {"choice": record.describe(),
                 "chosen parameters": json.dumps(record.best_params, sort_keys=True, default=str)}
        parts.append(f"<h3>{html.escape(run.spec.key)} ({html.escape(record.search)})</h3>"
                     f"{_kv(facts)}{_table(record.candidates, index=False)}")
    return "\n".join(parts)


def _selection_lines(result: ExperimentResult) -> str:
    """``results.md``'s lines on what each search chose (with its parameters)."""
    lines = [f"- {run.spec.key}: {run.selection.describe()}; parameters "
             f"`{json.dumps(run.selection.best_params, sort_keys=True, default=str)}`"
             for run in result.runs if run.selection is not None]
    return "\n" + "\n".join(lines) + "\n" if lines else ""


def _short_lists(gaps: pd.DataFrame, width: int = 60) -> pd.DataFrame:
    """Long ``too_small_groups`` lists cut to ``width`` characters (the CSV keeps them whole)."""
    gaps = gaps.copy()
    gaps["too_small_groups"] = gaps["too_small_groups"].map(
        lambda text: text if not isinstance(text, str) or len(text) <= width else text[:width].rsplit(",", 1)[0] + ", …"
    )
    return gaps


def _digest(result: ExperimentResult) -> str:
    from experiments.config import config_digest

    return config_digest(result.config_path)


def _candidates_note(result: ExperimentResult) -> str:
    split = result.config.split
    n = int(result.baseline.report.summary["n_candidates"])
    rule = {
        "all": "the whole catalog",
        "open": "resources whose availability window overlaps the test window",
        "active": f"resources with a training event in the {split.active_days:g} days before the cut",
        "cold": "only resources without any training interaction (the held-out ones)",
    }[split.candidates]
    mapped = " Resources without training interactions get vectors from their content through the "
    mapped += "cold-start mapping, as serving does for a new resource."
    return f"{rule} ({n} resources).{mapped if result.config.evaluation.cold_resources == 'content_mapping' else ''}"


def write_tables(result: ExperimentResult, directory: Path) -> None:
    """Every table as CSV, for spreadsheets and diffs."""
    directory.mkdir(parents=True, exist_ok=True)
    summary_frame(result).to_csv(directory / "summary.csv")
    by_k_frame(result).join(by_k_frame(result, BEYOND_ACCURACY_METRICS)).to_csv(directory / "metrics_by_k.csv")
    significance_frame(result).to_csv(directory / "significance.csv", index=False)
    groups_frame(result).to_csv(directory / "groups.csv", index=False)
    gaps_frame(result).to_csv(directory / "group_gaps.csv", index=False)
    equity_frame(result).to_csv(directory / "equity.csv", index=False)
    equity_gaps_frame(result).to_csv(directory / "equity_gaps.csv", index=False)
    exposure_frame(result).to_csv(directory / "exposure.csv")
    only_in_test_frame(result).to_csv(directory / "test_only.csv", index=False)
    for run in result.runs:
        if run.selection is not None:
            run.selection.candidates.to_csv(directory / f"selection_{run.spec.key}.csv",
                                            index=False)


def results_markdown(result: ExperimentResult, command: str) -> str:
    """The summary table in markdown with the command and when it ran (pasted into README)."""
    summary = result.baseline.report.summary
    only = only_in_test_counts(result)
    return (
        f"`{command}` ({datetime.now(UTC).strftime('%Y-%m-%d')}; split {result.split_name}; "
        f"{int(summary['n_test_learners'])} test learners, {int(summary['n_candidates'])} candidate resources; "
        f"{only['learners']} learners and {only['resources']} resources only in test)\n\n"
        + markdown(summary_frame(result)) + "\n" + _selection_lines(result)
    )


def write_report(result: ExperimentResult, command: str | None = None) -> Path:
    """Plots, tables, ``results.md`` and ``report.html`` into the output directory."""
    command = command or f"recommender experiment run {result.config_path}"
    out = result.out_dir
    plots_made = plots.draw_all(result, out / "plots")
    write_tables(result, out / "tables")
    (out / "results.md").write_text(results_markdown(result, command), encoding="utf-8")
    path = out / "report.html"
    path.write_text(render_html(result, plots_made, command), encoding="utf-8")
    return path
