"""What the delivery knobs cost and buy, on the lists the API would serve.

One experiment file (``experiments/sample_world.toml`` or ``oulad.toml``: its data, split,
features and candidate rule, :func:`experiments.runner.prepare`) and a model (by default ALS,
the served model when issue 20 was filed) give a delivery core (:func:`recommender.delivery.batch.core_for_fit`);
every test learner's list is then asked of the core at each setting of its re-rank knobs
(:class:`~recommender.delivery.core.ListRequest`: ``equal_service``, ``calibration``,
``diversity``), exactly as the API would ask. Each setting is scored with the library: ndcg@k
and its paired difference to today's lists (all knobs 0) with a bootstrap CI
(:func:`~recommender.evaluation.significance.paired_comparison`), the relative best-worst
group gap per attribute (:mod:`recommender.evaluation.equity`), intra-list category diversity,
and the share of slots going to local (in-person, nearby) resources beside their share of what each
learner can reach (:meth:`DeliveryCore.reach`). The largest gap comes with its bootstrap CI, the
value shuffled group labels give it (the noise floor: with small groups the largest of many
pairwise gaps is well above 0 by chance) and the paired CI of its cut against today's
(:func:`~recommender.evaluation.equity.largest_gap`).

Several models can be compared in one run (:func:`run_comparison`; ``--model`` repeated, each a
label of the experiment file or a spec such as ``auto`` or ``'auto_w05=auto{worst_weight =
0.5}'``): the first model with every knob 0 is the baseline every row is paired against, so the
shipped default model with the shipped knobs (``--grid shipped``) is measured against the
issue-time defaults (ALS, knobs 0) on the same learners.

Defaults are read off the grid by :func:`choose_row`'s stated rule. Run:
``python -m experiments.tradeoffs --config experiments/sample_world.toml --out DIR``; writes
``tradeoffs.md``, ``tradeoffs.csv``, ``strata.csv`` and PNG plots into DIR and prints the table.
"""

from __future__ import annotations

import argparse
import itertools
import re
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pydantic import ValidationError  # noqa: E402

from experiments.config import ExperimentConfig, ModelSpec, load_config  # noqa: E402
from experiments.runner import Prepared, candidate_mask, prepare  # noqa: E402
from recommender.delivery.batch import core_for_fit, delivered_matrix  # noqa: E402
from recommender.delivery.core import DeliveryCore, ListRequest  # noqa: E402
from recommender.delivery.rerank import ListPolicy  # noqa: E402
from recommender.errors import InvalidParameterError  # noqa: E402
from recommender.evaluation.beyond_accuracy import (  # noqa: E402
    attribute_by_index,
    category_diversity_at_k,
)
from recommender.evaluation.equity import (  # noqa: E402
    LargestGap,
    equity_gaps,
    group_accuracy,
    history_lengths,
    history_strata,
    largest_gap,
)
from recommender.evaluation.metrics import metrics_at_k  # noqa: E402
from recommender.evaluation.significance import paired_comparison  # noqa: E402

SERVICE_SETTINGS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
CALIBRATION_SETTINGS: tuple[float, ...] = (0.0, 0.25, 0.5)
DIVERSITY_SETTINGS: tuple[float, ...] = (0.1,)
MAX_COST = 0.02  # a default may cost at most 2% of ndcg@k, at the paired CI's far end
Step = Callable[[str], None]


@dataclass(frozen=True)
class TradeoffResult:
    """One row per setting with every metric; the strata table of today's lists and the
    chosen default's; the defaults and what the run was."""

    table: pd.DataFrame
    strata: pd.DataFrame
    defaults: dict[str, float]
    notes: dict[str, Any] = field(default_factory=dict)
    chosen: int = 0  # the table row the rule chose
    chosen_model: str = ""
    searches: dict[str, pd.DataFrame] = field(default_factory=dict)  # label -> cv_results_


def _quiet(_: str) -> None:
    return None


def settings_grid(
    service: Sequence[float] = SERVICE_SETTINGS,
    calibration: Sequence[float] = CALIBRATION_SETTINGS,
    diversity: Sequence[float] = DIVERSITY_SETTINGS,
) -> list[dict[str, float]]:
    """Equal service x calibration, plus each diversity setting alone; today's (all 0) first."""
    grid = [{"equal_service": s, "calibration": c, "diversity": 0.0}
            for s, c in itertools.product(service, calibration)]
    grid += [{"equal_service": 0.0, "calibration": 0.0, "diversity": d} for d in diversity]
    return sorted(grid, key=lambda g: (g["equal_service"] + g["calibration"] + g["diversity"] > 0,))


def run_comparison(
    prepared: Prepared,
    models: Sequence[tuple[str, Any]],
    attributes: Sequence[str],
    *,
    k: int = 10,
    grid: Sequence[dict[str, float]] | None = None,
    min_group_size: int = 20,
    n_resamples: int = 1000,
    seed: int = 0,
    step: Step = _quiet,
) -> TradeoffResult:
    """Fit each ``(label, model)`` on the prepared split and score its core's lists at every
    setting of ``grid``; the first model with every knob 0 is the baseline ("today") every
    row's paired difference is taken against. A model that chose itself on validation (a
    search) says what it chose in ``notes``."""
    test, train = prepared.test, prepared.train
    attributes = [a for a in attributes if a in train.learners.columns]
    if not attributes:
        raise InvalidParameterError("attributes", attributes, "learner columns of the data")
    if not models:
        raise InvalidParameterError("models", models, "at least one (label, model)")
    grid = list(grid or settings_grid())
    if any(grid[0].values()):
        raise InvalidParameterError("grid", grid[0], "today's setting (every knob 0) first")
    learner_ids = list(test.learner_ids)
    history = history_lengths(train.events, learner_ids)
    categories = attribute_by_index(train.resources, train.resource_map, "category")
    # every resource judged as itself (no title de-duplication), as the experiments judge them
    base = ListRequest(k=k, now=None, candidates=candidate_mask(prepared), one_per_title=False)
    rows, per_setting = [], []
    notes: dict[str, Any] = {"split": prepared.split.name}
    searches: dict[str, pd.DataFrame] = {}
    for model_position, (label, model) in enumerate(models):
        started = time.perf_counter()
        model.fit(prepared.train)
        seconds = time.perf_counter() - started
        chosen = getattr(model, "best_params_", None)
        notes[f"model {label}"] = (f"{type(model).__name__}, fitted in {seconds:.1f} s"
                                   + (f"; chose {chosen}" if chosen is not None else ""))
        tried = getattr(model, "cv_results_", None)
        if isinstance(tried, pd.DataFrame):
            searches[label] = tried
            if "status" in tried:
                skipped = tried.loc[tried["status"].astype(str).str.startswith("skipped"),
                                    "candidate"].tolist()
                notes[f"model {label}"] += f"; skipped {skipped}" if skipped else ""
        step(f"{label}: {notes[f'model {label}']}")
        core = core_for_fit(model, prepared.train, regions=prepared.dataset.regions,
                            weights=prepared.weights)
        in_person = core.served.catalog.in_person
        reach = _reach(core, learner_ids, base)
        for setting in grid:
            request = ListRequest(k=k, now=None, candidates=base.candidates, one_per_title=False,
                                  **setting)
            recommended, _ = delivered_matrix(core, learner_ids, request)
            ndcg = metrics_at_k(recommended, test.relevant, [k], names=["ndcg"])[f"ndcg_at_{k}"]
            equity = group_accuracy(ndcg, train.learners, attributes, learner_ids=learner_ids,
                                    history=history, min_size=min_group_size, per_need=False,
                                    n_resamples=n_resamples, seed=seed)
            gaps = equity_gaps(equity)
            overall = gaps[gaps["stratum"] == "all"].set_index("attribute")
            local = _local_share(core, learner_ids, recommended)
            row: dict[str, Any] = {
                **setting, f"ndcg@{k}": float(np.nanmean(ndcg)),
                "largest_relative_gap": float(overall["relative_gap"].max()),
                "largest_gap_attribute": str(overall["relative_gap"].idxmax())
                if overall["relative_gap"].notna().any() else "-",
                **{f"rel_gap.{a}": float(overall.loc[a, "relative_gap"]) for a in overall.index},
                "category_diversity": float(np.nanmean(
                    category_diversity_at_k(recommended, categories, k))),
                "local_share": float(np.nanmean(local)),
                "reachable_local_share": float(np.nanmean(reach)),
                "in_person_share": float(in_person[recommended[recommended >= 0]].mean()),
            }
            row["local_vs_reachable"] = (row["local_share"] / row["reachable_local_share"]
                                         if row["reachable_local_share"] > 0 else float("nan"))
            row.update(model=label, model_position=model_position)
            rows.append(row)
            per_setting.append((ndcg, gaps))
            step(f"[{len(rows)}/{len(grid) * len(models)}] {label} {setting}: ndcg "
                 f"{row[f'ndcg@{k}']:.4f}, largest relative gap "
                 f"{row['largest_relative_gap']:.3f}, local {row['local_share']:.3f} of "
                 f"reachable {row['reachable_local_share']:.3f}")
    table = _with_differences(pd.DataFrame(rows), [n for n, _ in per_setting], k, n_resamples, seed)
    table = _with_gap_noise(table, largest_gap(
        np.vstack([n for n, _ in per_setting]), train.learners, attributes,
        learner_ids=learner_ids, min_size=min_group_size, n_resamples=n_resamples, seed=seed))
    table = table[["model", *[c for c in table.columns if c != "model"]]]
    chosen_row = choose_row(table)
    defaults = _knobs(table.loc[chosen_row])
    if len(models) == 1:
        shown = {0: "today", chosen_row: "default"}
    else:  # every model's rows: how much of each one's gap is history length
        shown = {i: f"{row['model']} es {row['equal_service']:g} cal {row['calibration']:g}"
                    f" div {row['diversity']:g}" for i, row in table.iterrows()}
    strata = pd.concat([per_setting[i][1].assign(setting=label) for i, label in shown.items()],
                       ignore_index=True)
    notes.update({
        "baseline (today)": f"{models[0][0]}, every knob 0",
        "n_test_learners": len(learner_ids), "k": k, "min_group_size": min_group_size,
        "attributes": ", ".join(attributes),
        "test learners by history stratum": pd.Series(history_strata(history))
        .value_counts().to_dict(),
    })
    if len(models) == 1:
        notes["model"] = type(models[0][1]).__name__
    return TradeoffResult(table=table, strata=strata, defaults=defaults, notes=notes,
                          chosen=chosen_row, chosen_model=str(table.loc[chosen_row, "model"]),
                          searches=searches)


def _reach(core: DeliveryCore, learner_ids: Sequence[str], request: ListRequest) -> np.ndarray:
    """Per learner: the local share of what they may be listed."""
    out = np.full(len(learner_ids), np.nan)
    for row, learner_id in enumerate(learner_ids):
        idx, local = core.reach(core.learner(str(learner_id)), request)
        if len(idx):
            out[row] = local.mean()
    return out


def _local_share(core: DeliveryCore, learner_ids: Sequence[str], recommended: np.ndarray) -> np.ndarray:
    """Per learner: the local share of the listed slots."""
    out = np.full(len(learner_ids), np.nan)
    for row, learner_id in enumerate(learner_ids):
        listed = recommended[row][recommended[row] >= 0]
        if len(listed):
            out[row] = core.serves_locally(core.learner(str(learner_id)), listed).mean()
    return out


def _with_differences(
    table: pd.DataFrame, ndcg: list[np.ndarray], k: int, n_resamples: int, seed: int
) -> pd.DataFrame:
    """Each setting's paired ndcg difference to today's lists with a bootstrap CI, absolute
    and relative to today's mean, and its relative gap's change against today's."""
    base = ndcg[0]
    mean = float(np.nanmean(base))
    diff, low, high = [], [], []
    for values in ndcg:
        if np.array_equal(np.nan_to_num(values, nan=-1), np.nan_to_num(base, nan=-1)):
            found = (0.0, 0.0, 0.0)
        else:
            result = paired_comparison(base, values, n_resamples=n_resamples, seed=seed)
            found = (result.mean_difference, result.ci_low, result.ci_high)
        for column, value in zip((diff, low, high), found):
            column.append(value)
    table = table.copy()
    table.insert(4, "ndcg_diff", diff)
    table.insert(5, "ndcg_diff_ci_low", low)
    table.insert(6, "ndcg_diff_ci_high", high)
    table.insert(7, "cost_pct_worst", [-100 * lo / mean for lo in low])
    gap0 = table["largest_relative_gap"].iloc[0]
    table["gap_cut_pct"] = 100 * (1 - table["largest_relative_gap"] / gap0) if gap0 else np.nan
    return table


def _with_gap_noise(table: pd.DataFrame, gap: LargestGap) -> pd.DataFrame:
    """Each row's largest relative gap with its bootstrap CI (learners resampled within
    groups), the gap shuffled group labels give (mean and 95th percentile: what noise alone
    reads), and the paired CI of its cut against today's, in percent."""
    table = table.copy()
    interval, noise, cut = gap.interval(), gap.noise(), gap.cut_interval(base=0)
    table["gap_ci_low"], table["gap_ci_high"] = interval[:, 0], interval[:, 1]
    table["gap_noise"], table["gap_noise_p95"] = noise[:, 0], noise[:, 1]
    table["gap_cut_ci_low"], table["gap_cut_ci_high"] = 100 * cut[:, 0], 100 * cut[:, 1]
    return table


KNOBS = ("equal_service", "calibration", "diversity")


def _knobs(row: pd.Series) -> dict[str, float]:
    return {knob: float(row[knob]) for knob in KNOBS}


def choose_row(table: pd.DataFrame, max_cost: float = MAX_COST) -> int:
    """The stated rule: among rows whose ndcg@k costs less than ``max_cost`` of today's at
    the paired CI's far end (``cost_pct_worst``), the smallest largest-relative-gap; ties (within
    0.005) go to local exposure nearest its reachable share, then to the lighter touch (the
    smaller sum of knobs, then the earlier model, listed lightest first). Returns the index."""
    ok = table[table["cost_pct_worst"] < 100 * max_cost].copy()
    if ok.empty:
        ok = table.iloc[:1].copy()
    best_gap = ok["largest_relative_gap"].min()
    near = ok[ok["largest_relative_gap"] <= best_gap + 0.005].copy()
    near["exposure_miss"] = (near["local_vs_reachable"] - 1).abs().fillna(0)
    near["touch"] = near[list(KNOBS)].sum(axis=1)
    near["model_order"] = near["model_position"] if "model_position" in near else 0
    return int(near.sort_values(["exposure_miss", "touch", "model_order"], kind="stable").index[0])


def choose_defaults(table: pd.DataFrame, k: int = 10, max_cost: float = MAX_COST) -> dict[str, float]:
    """The knobs of :func:`choose_row`'s row."""
    return _knobs(table.loc[choose_row(table, max_cost)])


def markdown_table(frame: pd.DataFrame, digits: int = 4) -> str:
    frame = frame.copy()
    numeric = frame.select_dtypes("number").columns
    frame[numeric] = frame[numeric].round(digits)
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def strata_pivot(strata: pd.DataFrame) -> pd.DataFrame:
    """Relative gap (worst group) per attribute x history stratum, today's beside the default."""
    cell = strata.apply(lambda r: "-" if pd.isna(r["gap"]) else
                        f"{r['relative_gap']:.0%} ({r['worst_value']})", axis=1)
    wide = strata.assign(cell=cell).pivot_table(index=["attribute", "setting"], columns="stratum",
                                                values="cell", aggfunc="first", sort=False)
    return wide[[c for c in ("all", "0", "1-4", "5-19", "20+") if c in wide.columns]].reset_index()


def _markdown(result: TradeoffResult, title: str, plots: list[Path], k: int) -> str:
    notes = "\n".join(f"- {key}: {value}" for key, value in result.notes.items())
    images = "\n".join(f"![{path.stem}]({path.name})" for path in plots)
    shown = [c for c in result.table.columns
             if not c.startswith("rel_gap.") and c != "model_position"]
    per_attribute = ["model", *KNOBS, *[c for c in result.table.columns if c.startswith("rel_gap.")]]
    return (
        f"# Delivery trade-offs: {title}\n\n{notes}\n\n## Defaults\n\nRule: among settings whose"
        f" ndcg@{k} costs under {MAX_COST:.0%} of today's at the far end of the paired 95% CI,"
        f" the smallest largest relative best-worst group gap; near-ties (0.005) go to local"
        f" exposure nearest its reachable share, then the lighter touch (fewer knobs, then the"
        f" model listed first). Chosen: {result.chosen_model} with {result.defaults}.\n\n"
        f"## Grid\n\n{markdown_table(result.table[shown])}\n\n"
        f"## Relative gap per attribute\n\n{markdown_table(result.table[per_attribute])}\n\n"
        f"## Within history strata\n\n{markdown_table(strata_pivot(result.strata))}"
        f"\n\n{images}\n"
    )


def _plot(result: TradeoffResult, out: Path, k: int) -> list[Path]:
    """Accuracy cost against the group gap (one line per equal-service level) and local
    exposure against equal service: the trade-off curves the defaults are read from."""
    table = result.table
    if table["model"].nunique() > 1:
        return _plot_models(result, out, k)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    grid = table[table["diversity"] == 0]
    for service, part in grid.groupby("equal_service"):
        left.plot(part["cost_pct_worst"], part["largest_relative_gap"], marker="o",
                  label=f"equal_service {service:g} (points: calibration)")
    other = table[table["diversity"] > 0]
    left.scatter(other["cost_pct_worst"], other["largest_relative_gap"], marker="x", color="k",
                 label="diversity only")
    _cost_gap_frame(left, table.loc[[result.chosen]], k, "default",
                    "far end of the 95% CI")
    base = table[(table["calibration"] == 0) & (table["diversity"] == 0)]
    right.plot(base["equal_service"], base["local_share"], marker="o", label="local (in-person, near) share of top-k")
    right.plot(base["equal_service"], base["reachable_local_share"], linestyle="--",
               label="their share of what learners can reach")
    right.set_xlabel("equal_service")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    figure.tight_layout()
    path = out / "tradeoffs.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return [path]


def _cost_gap_frame(axes: Any, chosen: pd.DataFrame, k: int, label: str, note: str) -> None:
    """The cost-against-gap panel's chosen row (circled), the cost bound, labels and grid."""
    axes.scatter(chosen["cost_pct_worst"], chosen["largest_relative_gap"], s=160,
                 facecolors="none", edgecolors="r", label=label)
    axes.axvline(100 * MAX_COST, color="grey", linestyle="--")
    axes.set_xlabel(f"ndcg@{k} cost, % of today's ({note})")
    axes.set_ylabel("largest relative best-worst gap")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)


def _plot_models(result: TradeoffResult, out: Path, k: int) -> list[Path]:
    """Several models: cost against the group gap per model (points: its knob settings) and
    each row's local exposure beside what learners can reach."""
    table = result.table
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    labels = list(dict.fromkeys(table["model"]))
    for label in labels:
        part = table[table["model"] == label]
        left.plot(part["cost_pct_worst"], part["largest_relative_gap"], marker="o", label=label)
        for _, row in part.iterrows():
            left.annotate(f"es {row['equal_service']:g}", (row["cost_pct_worst"],
                          row["largest_relative_gap"]), fontsize=6, alpha=0.7)
    _cost_gap_frame(left, table.loc[[result.chosen]], k, "chosen by the rule",
                    "far end of the 95% CI; < 0: better")
    names = [f"{r['model']}\nes {r['equal_service']:g} cal {r['calibration']:g}"
             for _, r in table.iterrows()]
    positions = np.arange(len(table))
    right.bar(positions, table["local_share"], label="local share of top-k")
    right.scatter(positions, table["reachable_local_share"], color="k", marker="_", s=300,
                  label="their share of what learners can reach")
    right.set_xticks(positions, names, rotation=60, ha="right", fontsize=6)
    right.legend(fontsize=7)
    right.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    path = out / "tradeoffs.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return [path]


def write_outputs(result: TradeoffResult, out: Path, title: str, k: int = 10) -> Path:
    """``tradeoffs.csv``, ``strata.csv``, each search's ``search_<label>.csv``, the plot and
    ``tradeoffs.md``; returns the .md path."""
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / "tradeoffs.csv", index=False)
    result.strata.to_csv(out / "strata.csv", index=False)
    for label, tried in result.searches.items():  # what each search tried, and its scores
        tried.to_csv(out / f"search_{label}.csv", index=False)
    plots = _plot(result, out, k)
    path = out / "tradeoffs.md"
    path.write_text(_markdown(result, title, plots, k), encoding="utf-8")
    return path


ATTRIBUTES = {
    "sample": ("group", "age_band", "urban_rural", "accessibility_needs"),
    "oulad": ("disability", "imd_band", "age_band"),
}


SPEC = re.compile(r"^(?:(?P<label>[A-Za-z0-9_.-]+)=)?(?P<name>[A-Za-z0-9_]+)(?P<params>\{.*\})?$",
                  re.DOTALL)


def model_spec(text: str, config: ExperimentConfig) -> ModelSpec:
    """``--model``: a label of the experiment file, or ``[label=]name[{key = value, ...}]`` (a
    model name, ``auto`` included, with a TOML inline table of its parameters), e.g.
    ``auto_w05=auto{worst_weight = 0.5}``; checked as a ``[[models]]`` entry would be."""
    labels = {spec.key: spec for spec in config.models}
    if text in labels:
        return labels[text]
    found = SPEC.match(text.strip())
    if found is None:
        raise InvalidParameterError("--model", text, "a model label of the experiment file or "
                                    "[label=]name[{key = value, ...}]")
    try:
        params = tomllib.loads(f"params = {found['params'] or '{}'}")["params"]
    except tomllib.TOMLDecodeError as error:
        raise InvalidParameterError("--model", text, f"a TOML inline table ({error})") from None
    try:
        return ModelSpec(name=found["name"], label=found["label"], **params)
    except ValidationError as error:
        problems = "; ".join(problem["msg"] for problem in error.errors())
        raise InvalidParameterError("--model", text, f"a valid model entry ({problems})") from None


def shipped_grid() -> list[dict[str, float]]:
    """Every knob 0 and the shipped defaults (the serving settings' list policy)."""
    shipped = ListPolicy()
    return [dict.fromkeys(KNOBS, 0.0),
            {"equal_service": shipped.equal_service, "calibration": shipped.calibration,
             "diversity": 0.0}]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Sweep the delivery knobs on an experiment's split.")
    parser.add_argument("--config", type=Path, default=Path("experiments/sample_world.toml"))
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--model", action="append", default=None,
                        help="a model label of the experiment file, or [label=]name[{key = "
                             "value, ...}] (e.g. auto, 'auto_w05=auto{worst_weight = 0.5}'); "
                             "repeat to compare models, the first with every knob 0 is today's "
                             "(default: als)")
    parser.add_argument("--grid", choices=("full", "shipped"), default="full",
                        help="the knob settings: the full grid, or every knob 0 and the "
                             "shipped defaults")
    parser.add_argument("--attributes", default=None,
                        help="comma-separated learner columns (default: by data source)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--min-group-size", type=int, default=20)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def step(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", flush=True)

    config, _ = load_config(args.config, args.data_root)
    specs = [model_spec(text, config) for text in (args.model or ["als"])]
    keys = [spec.key for spec in specs]
    if len(set(keys)) < len(keys):
        raise InvalidParameterError("--model", keys, "a distinct label per model")
    prepared = prepare(config, step)
    models = [(spec.key, spec.build(random_state=config.seed, interaction_weights=prepared.weights,
                                    section=f"--model {spec.key}",
                                    validation=prepared.validation)) for spec in specs]
    attributes = (args.attributes.split(",") if args.attributes
                  else ATTRIBUTES.get(config.data.source, ATTRIBUTES["sample"]))
    grid = shipped_grid() if args.grid == "shipped" else None
    result = run_comparison(prepared, models, attributes, k=args.k, grid=grid,
                            min_group_size=args.min_group_size, seed=config.seed, step=step)
    path = write_outputs(result, args.out, f"{config.name} ({', '.join(keys)})", args.k)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(result.table.drop(columns="model_position").round(4).to_string(index=False))
    print(f"chosen by the rule: {result.chosen_model} with {result.defaults}")
    step(f"wrote {path}")


if __name__ == "__main__":
    main()
