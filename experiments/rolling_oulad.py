"""Rolling evaluation on OULAD: what does a learner open for the first time next week?

For each complete presentation (AAA 2013J, AAA 2014J, BBB 2013B), cuts on course days 60, 90,
..., 210; at each cut every model is fitted on all events before it and judged on the next 7
days (first accesses only, or ``--mode repeat``), with the library's rolling protocol
(:mod:`recommender.evaluation.rolling`). Reports nDCG@10 of every model beside 7-day recent
popularity, the paired bootstrap CI of the default time-aware model against it, a diagnostic
ceiling (next week's cohort popularity, which no model can know), a markdown table and plots.

    python -m experiments.rolling_oulad --data ../shared/data/oulad --out work/rolling_oulad
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.data import Dataset
from recommender.data.loaders.oulad import COMPLETE_PRESENTATIONS, START_MONTH, load_oulad
from recommender.evaluation.metrics import ndcg_at_k
from recommender.evaluation.rolling import (
    RollingResult,
    rolling_cuts,
    rolling_evaluate,
    rolling_window,
)
from recommender.features import FeatureSet, build_feature_set
from recommender.models import (
    ALSModel,
    CoAccessModel,
    EmbeddingModel,
    PopularityModel,
    RecentPopularityModel,
    SequenceModel,
    TimeAwareModel,
)

BASELINE = "recent_popularity_7d"
DEFAULT = "time_aware"
TARGET_GAIN = 0.10
K = 10
METRIC = f"ndcg_at_{K}"


def models() -> dict[str, EmbeddingModel]:
    """Every model of the table, unfitted; the baseline is global 7-day first-access popularity."""
    return {
        "popularity": PopularityModel(),
        BASELINE: RecentPopularityModel(window_days=7.0, group_column=None),
        "recent_popularity": RecentPopularityModel(window_days=None, group_column=None),
        "sequence": SequenceModel(),
        "sequence_fresh": SequenceModel(fresh_days=3.0),
        "co_occurrence": CoAccessModel(),
        DEFAULT: TimeAwareModel(),
        "als": ALSModel(),
    }


def presentation_start(presentation: str) -> pd.Timestamp:
    """Day 0 of a presentation as the loader maps it (1 Feb for B, 1 Oct for J)."""
    code = presentation.split("-")[1]
    return pd.Timestamp(year=int(code[:4]), month=START_MONTH[code[4]], day=1, tz="UTC")


def presentation_features(dataset: Dataset, presentation: str) -> FeatureSet:
    """Features of one presentation: its VLE sites, their events, its registered learners."""
    module, code = presentation.split("-")
    resources = dataset.resources[
        (dataset.resources["code_module"] == module)
        & (dataset.resources["code_presentation"] == code)
    ]
    events = dataset.events[dataset.events["resource_id"].isin(set(resources["resource_id"]))]
    registered = dataset.learners["presentations"].astype(str).str.split("|").map(
        lambda names: presentation in names
    )
    learners = dataset.learners[registered | dataset.learners["learner_id"].isin(
        set(events["learner_id"])
    )]
    subset = dataclasses.replace(
        dataset, learners=learners.reset_index(drop=True),
        resources=resources.reset_index(drop=True), events=events.reset_index(drop=True),
    )
    return build_feature_set(subset)


def markdown(frame: pd.DataFrame, index: bool = True) -> str:
    """A GitHub-flavoured markdown table of already formatted cells."""
    frame = frame.reset_index() if index else frame
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(frame.columns))) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def oracle_ndcg(features: FeatureSet, cuts: Sequence[pd.Timestamp], horizon: float,
                mode: str) -> np.ndarray:
    """Per (cut, learner) nDCG of ranking by next week's cohort first accesses: a ceiling for
    any ranking shared by the whole cohort (it knows the future; not a model)."""
    values = []
    for cut in cuts:
        window = rolling_window(features, cut, horizon, mode)
        if len(window.learner_idx) == 0:
            continue
        future = np.asarray(window.relevant.sum(axis=0)).ravel()
        scores = np.tile(future, (len(window.learner_idx), 1)).astype(np.float64)
        excluded = window.exclude[window.learner_idx].tocoo()
        scores[excluded.row, excluded.col] = -np.inf
        scores[:, window.closed] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :K]
        top = np.where(np.isfinite(np.take_along_axis(scores, top, axis=1)), top, -1)
        values.append(ndcg_at_k(top, window.relevant, K))
    return np.concatenate(values) if values else np.empty(0)


def run_presentation(
    dataset: Dataset, presentation: str, days: Sequence[float], horizon: float, mode: str
) -> tuple[RollingResult, float]:
    features = presentation_features(dataset, presentation)
    cuts = rolling_cuts(presentation_start(presentation), days)
    started = time.perf_counter()

    def progress(stage: str, cut: pd.Timestamp, model: str) -> None:
        day = (cut - presentation_start(presentation)).days
        print(f"  {presentation} day {day:>3}: {stage} {model:<22} "
              f"[{time.perf_counter() - started:6.1f}s]", file=sys.stderr, flush=True)

    result = rolling_evaluate(features, models(), cuts, horizon_days=horizon, mode=mode,
                              on_progress=progress)
    oracle = oracle_ndcg(features, cuts, horizon, mode)
    return result, float(np.nanmean(oracle)) if oracle.size else float("nan")


def _plot(results: dict[str, RollingResult], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(next(iter(results.values())).models)
    fig, axes = plt.subplots(1, len(results) + 1, figsize=(5.2 * (len(results) + 1), 4.4))
    for ax, (presentation, result) in zip(axes, results.items()):
        start = presentation_start(presentation)
        summary = result.summary(METRIC)
        days = [(pd.Timestamp(c) - start).days for c in summary.columns[2:]]
        for name in names:
            style = {"linewidth": 2.6} if name in (DEFAULT, BASELINE) else {"alpha": 0.7}
            ax.plot(days, summary.loc[name].iloc[2:].to_numpy(float), marker="o", label=name,
                    **style)
        ax.set_title(f"{presentation}: nDCG@{K} per cut")
        ax.set_xlabel("course day of the cut (7-day horizon)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"nDCG@{K}, first accesses")
    axes[0].legend(fontsize=7, loc="lower left")
    ax = axes[-1]
    width = 0.8 / len(results)
    for i, (presentation, result) in enumerate(results.items()):
        means = result.summary(METRIC)["mean"].to_numpy(float)
        ax.barh(np.arange(len(names)) + i * width, means, height=width, label=presentation)
    ax.set_yticks(np.arange(len(names)) + 0.4 - width / 2, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"nDCG@{K}, all cuts")
    ax.set_title("overall")
    ax.legend(fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = out / "rolling_oulad.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _tables(results: dict[str, RollingResult], oracles: dict[str, float], n_resamples: int
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = list(next(iter(results.values())).models)
    overall = pd.DataFrame(index=pd.Index(names, name="model"))
    rows = []
    for presentation, result in results.items():
        summary = result.summary(METRIC)
        base = float(summary.loc[BASELINE, "mean"])
        overall[presentation] = [
            f"{summary.loc[n, 'mean']:.3f} ({(summary.loc[n, 'mean'] / base - 1) * 100:+.1f}%)"
            for n in names
        ]
        test = result.compare(BASELINE, DEFAULT, METRIC, n_resamples=n_resamples)
        windows = result.windows
        rows.append({
            "presentation": presentation,
            "(cut, learner) pairs": test.n_learners,
            "7-day popularity": f"{test.mean_baseline:.3f}",
            "time_aware": f"{test.mean_candidate:.3f}",
            "gain": f"{test.mean_difference / test.mean_baseline * 100:+.1f}%",
            "difference [95% CI]": f"{test.mean_difference:+.3f} "
                                   f"[{test.ci_low:+.3f}, {test.ci_high:+.3f}]",
            "p (Wilcoxon)": f"{test.p_value:.1e}",
            "target (+10%, CI > 0)": "met" if (
                test.mean_difference >= TARGET_GAIN * test.mean_baseline and test.ci_low > 0
            ) else "NOT met",
            "ceiling: next week's popularity": f"{oracles[presentation]:.3f}",
            "relevant new to cohort": _share(windows["n_relevant_new_to_cohort"].sum(),
                                             windows["n_relevant"].sum()),
        })
    return overall, pd.DataFrame(rows)


def _share(part: float, whole: float) -> str:
    return f"{part / max(whole, 1) * 100:.1f}%"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/oulad"))
    parser.add_argument("--out", type=Path, default=Path("work/rolling_oulad"))
    parser.add_argument("--presentations", nargs="+", default=list(COMPLETE_PRESENTATIONS))
    parser.add_argument("--days", default="60:210:30", help="first:last:step course days")
    parser.add_argument("--horizon", type=float, default=7.0, help="days after each cut")
    parser.add_argument("--mode", choices=("first_access", "repeat"), default="first_access")
    parser.add_argument("--n-resamples", type=int, default=2000)
    args = parser.parse_args(argv)
    first, last, step = (int(x) for x in args.days.split(":"))
    days = list(range(first, last + 1, step))
    args.out.mkdir(parents=True, exist_ok=True)

    dataset = load_oulad(args.data, args.presentations)
    results: dict[str, RollingResult] = {}
    oracles: dict[str, float] = {}
    for presentation in args.presentations:
        results[presentation], oracles[presentation] = run_presentation(
            dataset, presentation, days, args.horizon, args.mode
        )
        slug = presentation.lower()
        results[presentation].scores.to_csv(args.out / f"scores_{slug}.csv", index=False)
        results[presentation].summary(METRIC).to_csv(args.out / f"summary_{slug}.csv")
        results[presentation].windows.to_csv(args.out / f"windows_{slug}.csv", index=False)
    overall, tests = _tables(results, oracles, args.n_resamples)
    plot = _plot(results, args.out)
    command = "python -m experiments.rolling_oulad " + " ".join(argv or sys.argv[1:])
    text = "\n".join([
        f"# Rolling evaluation on OULAD ({args.mode.replace('_', ' ')}, "
        f"cuts on days {first}..{last} every {step}, {args.horizon:g}-day horizon)",
        "",
        f"`{command}`",
        "",
        f"nDCG@{K} over every (cut, learner), relative to {BASELINE} "
        "(global 7-day first-access popularity):",
        "",
        markdown(overall),
        "",
        f"Default `{DEFAULT}` against {BASELINE}: paired bootstrap over (cut, learner) pairs:",
        "",
        markdown(tests, index=False),
        "",
        f"![per cut]({plot.name})",
        "",
    ])
    (args.out / "results.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
