"""What the delivery knobs cost and buy: sweep diversity and equal service on one fitted model.

One ALS model is fitted on a temporal split; each test learner gets ``n_candidates`` resources
that pass their hard constraints (availability during the test window, place, language,
access; :mod:`recommender.features.catalog`) and are re-ranked to a top ``k`` at several
settings of each knob (:mod:`recommender.delivery.rerank`), one knob at a time, the other at 0.
Each setting is scored with the library's metrics: accuracy (ndcg@k, recall@k), intra-list
diversity (category and content-vector), the gap in ndcg@k between the best and worst learner
group (and urban/rural), and the share of slots going to community providers and to resources
that serve the learner locally. A row with no constraints at all shows what the constraints
themselves cost or buy.

Run: ``python -m experiments.tradeoffs --data sample|oulad --out DIR``; writes ``tradeoffs.md``,
``tradeoffs.csv`` and PNG plots into DIR and prints the table.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from recommender.data import Dataset  # noqa: E402
from recommender.data.loaders import load_oulad  # noqa: E402
from recommender.data.sample_world import generate_world  # noqa: E402
from recommender.delivery import (  # noqa: E402
    COMMUNITY_PROVIDER_TYPES,
    CatalogArrays,
    FilteredRetriever,
    RequestFilters,
    learner_profiles,
    rerank_many,
    served_by_community,
)
from recommender.errors import InvalidParameterError  # noqa: E402
from recommender.evaluation.beyond_accuracy import (  # noqa: E402
    category_diversity_at_k,
    exposure_share,
    vector_diversity_at_k,
)
from recommender.evaluation.groups import group_report  # noqa: E402
from recommender.evaluation.metrics import metrics_at_k  # noqa: E402
from recommender.evaluation.significance import paired_comparison  # noqa: E402
from recommender.evaluation.evaluate import TestSet, build_test_set  # noqa: E402
from recommender.evaluation.report_metrics import content_vectors  # noqa: E402
from recommender.evaluation.splits import temporal_split  # noqa: E402
from recommender.features import FeatureSet, build_feature_set  # noqa: E402
from recommender.models import ALSModel  # noqa: E402

DIVERSITY_SETTINGS: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9)
SERVICE_SETTINGS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
MAX_NDCG_LOSS = 0.025  # a default may cost at most 2.5% of ndcg@k (relative); see defaults_by_budget
Step = Callable[[str], None]


@dataclass(frozen=True)
class TradeoffResult:
    """One row per (sweep, setting) with every metric, plus what the run was."""

    table: pd.DataFrame
    defaults: dict[str, float]
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Lists:
    """Constrained candidates (best first) for the test learners and what each one serves."""

    idx: np.ndarray
    scores: np.ndarray
    served: np.ndarray
    regions: list[str | None]


def _quiet(_: str) -> None:
    return None


def run_tradeoffs(
    dataset: Dataset,
    *,
    cut: object | None = None,
    k: int = 10,
    n_candidates: int = 100,
    diversity_settings: Sequence[float] = DIVERSITY_SETTINGS,
    service_settings: Sequence[float] = SERVICE_SETTINGS,
    max_learners: int | None = None,
    factors: int = 64,
    min_group_size: int = 20,
    seed: int = 0,
    step: Step = _quiet,
) -> TradeoffResult:
    """Fit ALS on events before ``cut`` (default: the 80% time quantile) and sweep both knobs."""
    events = dataset.events
    cut_at = pd.Timestamp(cut) if cut is not None else events["timestamp"].quantile(0.8)
    if cut_at.tzinfo is None:
        cut_at = cut_at.tz_localize("UTC")
    split = temporal_split(events, cut_at)
    end_at = split.test["timestamp"].max() + pd.Timedelta(seconds=1)
    step(f"split at {cut_at:%Y-%m-%d}: {len(split.train):,} train / {len(split.test):,} test events")
    features = build_feature_set(dataset, split.train, now=cut_at)
    started = time.perf_counter()
    model = ALSModel(factors=factors, random_state=seed).fit(features)
    step(f"ALS({factors}) fitted in {time.perf_counter() - started:.1f} s")
    test = build_test_set(features, split.test)
    if len(test.learner_idx) == 0:
        raise InvalidParameterError("cut", cut_at, "a cut leaving learners with test events")
    if max_learners is not None and len(test.learner_idx) > max_learners:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(test.learner_idx), max_learners, replace=False))
        test = TestSet(test.learner_idx[keep], test.learner_ids[keep], test.relevant[keep],
                       test.n_cold_learners)
    step(f"{len(test.learner_idx):,} test learners")
    test_learners = features.learners.iloc[test.learner_idx]
    catalog = CatalogArrays.build(features.resources, dataset.regions)
    content = content_vectors(features.resources)
    step("content vectors built")
    window = RequestFilters(open_between=(cut_at, end_at))
    constrained = _candidates(model, features, test, catalog, window, n_candidates, constrained=True)
    free = _candidates(model, features, test, catalog, window, n_candidates, constrained=False)
    step("candidates retrieved (constrained and unconstrained)")

    def score(sweep: str, diversity: float, service: float, lists: _Lists) -> dict[str, Any]:
        return _score(sweep, diversity, service, lists, k, content, features, test, catalog,
                      min_group_size)

    baseline = score("constrained", 0.0, 0.0, constrained)
    rows = [score("no constraints", 0.0, 0.0, free)]
    rows += [score("diversity", value, 0.0, constrained) for value in diversity_settings]
    step(f"diversity sweep done ({len(diversity_settings)} settings)")
    rows += [score("equal_service", 0.0, value, constrained) for value in service_settings]
    step(f"equal-service sweep done ({len(service_settings)} settings)")
    defaults = recommend_defaults(pd.DataFrame(rows), k)
    rows.append(score("combined", defaults["diversity"], defaults["equal_service"], constrained))
    table = _with_differences(rows, baseline, k, seed)
    notes = {
        "split": split.name, "n_train_events": len(split.train), "n_test_events": len(split.test),
        "n_test_learners": len(test.learner_idx), "n_resources": catalog.n_resources, "k": k,
        "n_candidates": n_candidates, "model": f"ALSModel(factors={factors})",
        "min_group_size": min_group_size,
        "community_resources": float(catalog.provider_type.isin(COMMUNITY_PROVIDER_TYPES).mean()),
        "test_learners_by_group": test_learners["group"].value_counts().to_dict(),
    }
    return TradeoffResult(table=table, defaults=defaults, notes=notes)


def _candidates(
    model: ALSModel, features: FeatureSet, test: TestSet, catalog: CatalogArrays,
    window: RequestFilters, n_candidates: int, constrained: bool,
) -> _Lists:
    profiles = learner_profiles(features.learners.iloc[test.learner_idx])
    allowed = None
    if constrained:
        allowed = np.array([catalog.mask(window, profile, now=None) for profile in profiles])
    retriever = FilteredRetriever(model.resource_factors_)
    idx, scores = retriever.search_many(
        model.learner_factors_[test.learner_idx], n_candidates, allowed,
        exclude=features.exclusions[test.learner_idx],
    )
    regions = [profile.region for profile in profiles]
    served = np.array([served_by_community(catalog, row, region)
                       for row, region in zip(idx, regions)])
    return _Lists(idx, scores, served, regions)


def _score(
    sweep: str, diversity: float, service: float, lists: _Lists, k: int, content: np.ndarray,
    features: FeatureSet, test: TestSet, catalog: CatalogArrays, min_group_size: int,
) -> dict[str, Any]:
    recommended, _ = rerank_many(lists.idx, lists.scores, k, resource_vectors=content,
                                 diversity=diversity, served=lists.served, equal_service=service)
    accuracy = metrics_at_k(recommended, test.relevant, [k], names=["ndcg", "recall"])
    ndcg = accuracy[f"ndcg_at_{k}"]
    _, gaps = group_report({f"ndcg_at_{k}": ndcg}, features.learners,
                           attributes=("group", "urban_rural", "age_band"), learner_ids=test.learner_ids,
                           min_size=min_group_size)
    gap = gaps.set_index("attribute")
    provider_type = features.resources["provider_type"].to_numpy(dtype=object)
    providers = exposure_share(recommended, provider_type, k)
    served = np.array([served_by_community(catalog, row, region)
                       for row, region in zip(recommended, lists.regions)])
    filled = recommended >= 0
    worst = gap.loc["group", "worst_value"]
    return {
        "_ndcg": ndcg,
        "sweep": sweep, "diversity": diversity, "equal_service": service,
        f"ndcg@{k}": float(np.nanmean(ndcg)),
        f"recall@{k}": float(np.nanmean(accuracy[f"recall_at_{k}"])),
        "category_diversity": float(np.nanmean(category_diversity_at_k(
            recommended, features.resources["category"].to_numpy(dtype=object), k))),
        "vector_diversity": float(np.nanmean(vector_diversity_at_k(recommended, content, k))),
        "gap_group": float(gap.loc["group", "gap"]),
        "worst_group": "-" if pd.isna(worst) else f"{worst} ({gap.loc['group', 'worst_mean']:.3f})",
        "gap_urban_rural": float(gap.loc["urban_rural", "gap"]),
        "gap_age_band": float(gap.loc["age_band", "gap"]),
        "community_share": float(sum(providers.get(kind, 0.0) for kind in COMMUNITY_PROVIDER_TYPES)),
        "served_share": float(served[filled].mean()) if filled.any() else float("nan"),
        "filled_slots": float(filled.mean()),
    }


def _with_differences(
    rows: list[dict[str, Any]], baseline: dict[str, Any], k: int, seed: int
) -> pd.DataFrame:
    """The rows as a table plus each one's paired ndcg difference from the constrained lists
    with both knobs at 0, with a 95% bootstrap CI over learners (noise yardstick)."""
    deltas = []
    for row in rows:
        ndcg = row.pop("_ndcg")
        same = np.array_equal(np.nan_to_num(ndcg, nan=-1), np.nan_to_num(baseline["_ndcg"], nan=-1))
        if same:
            deltas.append("0")
            continue
        result = paired_comparison(baseline["_ndcg"], ndcg, seed=seed, n_resamples=1000)
        deltas.append(f"{result.mean_difference:+.4f} [{result.ci_low:+.4f}, {result.ci_high:+.4f}]")
    table = pd.DataFrame(rows)
    table.insert(table.columns.get_loc(f"recall@{k}"), f"ndcg@{k} diff [95% CI]", deltas)
    return table


def recommend_defaults(
    table: pd.DataFrame, k: int = 10, max_loss: float = MAX_NDCG_LOSS, max_gap_increase: float = 0.01
) -> dict[str, float]:
    """Defaults read off the sweeps: the largest setting of each knob whose ndcg@k stays within
    ``max_loss`` (relative) of its setting 0 and whose group gap is at most ``max_gap_increase``
    above the gap at 0 (a knob must not buy its metric by serving some groups worse)."""
    metric = f"ndcg@{k}"
    out: dict[str, float] = {}
    for sweep in ("diversity", "equal_service"):
        part = table[table["sweep"] == sweep]
        base = part[part[sweep] == 0.0].iloc[0]
        gap_ok = part["gap_group"] <= base["gap_group"] + max_gap_increase
        if pd.isna(base["gap_group"]):  # fewer than two groups big enough to compare
            gap_ok = pd.Series(True, index=part.index)
        ok = part[(part[metric] >= (1 - max_loss) * base[metric]) & gap_ok]
        moves = part[[metric, "category_diversity", "community_share"]].nunique().max() > 1
        out[sweep] = float(ok[sweep].max()) if len(ok) and moves else 0.0  # no effect: leave it off
    return out


def defaults_by_budget(
    table: pd.DataFrame, k: int = 10, budgets: Sequence[float] = (0.01, 0.02, 0.025, 0.03, 0.05)
) -> pd.DataFrame:
    """:func:`recommend_defaults` at several accuracy budgets, to show how the choice moves."""
    rows = [{"max_ndcg_loss": budget, **recommend_defaults(table, k, budget)} for budget in budgets]
    return pd.DataFrame(rows)


def markdown_table(frame: pd.DataFrame, digits: int = 4) -> str:
    frame = frame.copy()
    numeric = frame.select_dtypes("number").columns
    frame[numeric] = frame[numeric].round(digits)
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _markdown(result: TradeoffResult, title: str, plots: list[Path]) -> str:
    notes = "\n".join(f"- {key}: {value}" for key, value in result.notes.items())
    images = "\n".join(f"![{path.stem}]({path.name})" for path in plots)
    return (
        f"# Delivery trade-offs: {title}\n\n{notes}\n\n"
        f"## Defaults\n\nRule: the largest setting of each knob whose ndcg stays within the budget"
        f" (relative to the knob at 0) and whose group gap grows by at most 0.01. At"
        f" {MAX_NDCG_LOSS:.1%}: diversity = {result.defaults['diversity']:g},"
        f" equal_service = {result.defaults['equal_service']:g}. "
        f"The row `combined` applies both.\n\n{markdown_table(defaults_by_budget(result.table))}\n\n"
        f"## Sweeps\n\n{markdown_table(result.table)}\n\n{images}\n"
    )


PANELS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("accuracy", (("ndcg@{k}", "ndcg@{k}"), ("recall@{k}", "recall@{k}"))),
    ("intra-list diversity", (("category_diversity", "category"),
                              ("vector_diversity", "content vector"))),
    ("ndcg gap, best - worst group", (("gap_group", "group"), ("gap_urban_rural", "urban/rural"),
                                      ("gap_age_band", "age band"))),
    ("exposure share", (("community_share", "community providers"),
                        ("served_share", "community or local"))),
)


def _plot(result: TradeoffResult, out: Path, k: int) -> list[Path]:
    """One 2 x 2 figure per knob: accuracy, diversity, group gaps and exposure against it."""
    table = result.table
    paths = []
    for knob in ("diversity", "equal_service"):
        part = table[table["sweep"] == knob]
        figure, axes = plt.subplots(2, 2, figsize=(10, 6.5), sharex=True)
        for ax, (title, series) in zip(axes.ravel(), PANELS):
            for column, label in series:
                column, label = column.format(k=k), label.format(k=k)
                ax.plot(part[knob], part[column], marker="o", label=label)
            ax.set_title(title)
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
        for ax in axes[1]:
            ax.set_xlabel(knob)
        figure.suptitle(f"{knob} sweep (other knob at 0)")
        figure.tight_layout()
        path = out / f"tradeoff_{knob}.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        paths.append(path)
    return paths


def write_outputs(result: TradeoffResult, out: Path, title: str, k: int = 10) -> Path:
    """``tradeoffs.csv``, the PNG plots and ``tradeoffs.md`` under ``out``; returns the .md path."""
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "tradeoffs.csv", index=False)
    plots = _plot(result, out, k)
    path = out / "tradeoffs.md"
    path.write_text(_markdown(result, title, plots), encoding="utf-8")
    return path


def load(data: str, oulad_path: Path, n_learners: int, seed: int) -> Dataset:
    if data == "sample":
        return generate_world(n_learners=n_learners, seed=seed)
    return load_oulad(oulad_path)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Sweep the diversity and equal-service knobs.")
    parser.add_argument("--data", choices=("sample", "oulad"), default="sample")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--oulad-path", type=Path, default=Path("/work/shared/data/oulad"))
    parser.add_argument("--n-learners", type=int, default=2000, help="sample world size")
    parser.add_argument("--max-learners", type=int, default=5000, help="test learners scored")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--min-group-size", type=int, default=20,
                        help="smallest learner group compared in the gaps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def step(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", flush=True)

    dataset = load(args.data, args.oulad_path, args.n_learners, args.seed)
    step(f"loaded {args.data}: {len(dataset.learners):,} learners, {len(dataset.resources):,} "
         f"resources, {len(dataset.events):,} events")
    result = run_tradeoffs(dataset, k=args.k, max_learners=args.max_learners, seed=args.seed,
                           min_group_size=args.min_group_size, step=step)
    path = write_outputs(result, args.out, args.data, args.k)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(result.table.round(4).to_string(index=False))
    print(f"recommended defaults: {result.defaults}")
    step(f"wrote {path}")


if __name__ == "__main__":
    main()
