"""Which interaction -> confidence settings should be the defaults? Measured, not guessed.

Issue 3 asks for per-event-type weights, a negative dismissal, aggregated repeats, an optional
recency half-life and log-scaled counts, "all configurable, with defaults chosen on data". This
module evaluates a small grid of ``[features]`` settings (one factor at a time from the
experiment file's section, plus the combination of every clearly winning factor) with the
models that consume the confidence matrix (ALS, EASE; optionally the content model's own
``half_life_days`` x ``profile_strength``) on a shipped experiment's data and split.

The choice is made on **validation**, carved from the training part exactly as
:class:`~recommender.selection.HybridWeightSearch` carves its own (the last 20% of each learner's
training events, :func:`recommender.selection.hybrid.validation_split`); the test side (the
experiment's own split, candidates and cold-resource mapping, as ``recommender experiment run``
judges it) is reported beside it and never read by the choice. A setting replaces the defaults
only if it has the best validation ndcg@10 and its paired 95% CI against the defaults (per
learner, :func:`~recommender.evaluation.significance.paired_comparison`) excludes 0.
``--validation mirror`` instead replays the experiment's own split inside the training part:
the per-learner hold-out rewards short half-lives that lose on a temporal test (see
``experiments/results/interaction_weights.md``), and the mirror shows whether a choice survives.

Run: ``python -m experiments.interaction_weights --data sample|oulad|mars|canvas --out DIR``
(``--config FILE`` for another experiment file, e.g. ``experiments/oulad.toml``); writes
``interaction_weights_<name>.md`` and ``.csv`` into DIR and prints the table.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from experiments.config import ExperimentConfig, load_config
from experiments.tables import markdown
from recommender.errors import InvalidParameterError
from recommender.evaluation.evaluate import TestSet, build_test_set, recommend_for_test
from recommender.evaluation.metrics import metrics_at_k
from recommender.evaluation.report_metrics import candidate_exclusions
from recommender.evaluation.significance import paired_comparison
from recommender.evaluation.splits import Split
from recommender.features import FeatureSet, InteractionWeights, build_feature_set
from recommender.models.base import EmbeddingModel
from recommender.selection import build_model, map_served_cold_resources
from recommender.selection.hybrid import validation_split
from recommender.spec import FeaturesSection, RollingSplit

EXPERIMENTS_DIR = Path(__file__).resolve().parent
EXPERIMENT_FILES: dict[str, str] = {
    "sample": "sample_world.toml",
    "oulad": "oulad_per_learner.toml",
    "mars": "mars.toml",
    "canvas": "canvas.toml",
}
MODEL_NAMES: tuple[str, ...] = ("als", "ease")
STEEP_FUNNEL: dict[str, float] = {"view": 1.0, "enroll": 4.0, "progress": 4.0, "complete": 8.0}
HALF_LIVES: tuple[float, ...] = (30.0, 90.0, 365.0)
CONTENT_HALF_LIVES: tuple[float | None, ...] = (None, 7.0, 30.0, 90.0)
CONTENT_STRENGTHS: tuple[float, ...] = (0.5, 1.0, 2.0)
CONTENT_DEFAULT: tuple[float | None, float] = (30.0, 1.0)  # ContentModel's shipped defaults
VALIDATION_FRACTION = 0.2  # HybridModel's default
K = 10
METRIC = f"ndcg_at_{K}"
SIDES: tuple[str, ...] = ("validation", "test")
Step = Callable[[str], None]


@dataclass(frozen=True)
class Setting:
    """One ``[features]`` setting: ``overrides`` over the experiment file's section."""

    name: str
    factor: str  # "defaults", the one factor it changes, or "combined"
    overrides: dict[str, Any] = field(default_factory=dict)

    def section(self, base: FeaturesSection) -> FeaturesSection:
        """The experiment file's section with these overrides (event weights merged by type)."""
        merged = base.model_dump()
        for key, value in self.overrides.items():
            merged[key] = {**merged[key], **value} if key == "event_weights" else value
        return FeaturesSection.model_validate(merged)

    def describe(self) -> str:
        """The overrides as ``[features]`` TOML keys (what to paste into a config)."""
        if not self.overrides:
            return "(experiment file's [features])"
        parts = []
        for key, value in self.overrides.items():
            if isinstance(value, dict):
                value = "{ " + ", ".join(f"{k} = {v:g}" for k, v in value.items()) + " }"
            elif isinstance(value, (list, tuple)):
                value = "[" + ", ".join(f'"{v}"' for v in value) + "]"
            elif isinstance(value, bool):
                value = str(value).lower()
            parts.append(f"{key} = {value}")
        return "; ".join(parts)


def one_factor_settings(base: FeaturesSection, half_lives: Sequence[float] = HALF_LIVES) -> list[Setting]:
    """The defaults, then each factor moved alone: event scheme, dismissal, log scaling, value
    scaling of views, recency half-life."""
    weights = base.event_weights.model_dump()
    flat = {t: 1.0 for t, w in weights.items() if w > 0}
    settings = [
        Setting("defaults", "defaults"),
        Setting("events=flat", "event_weights", {"event_weights": flat}),
        Setting("events=steep", "event_weights", {"event_weights": dict(STEEP_FUNNEL)}),
        Setting("dismiss=0", "dismiss", {"event_weights": {"dismiss": 0.0}}),
        Setting(f"log_scale={'off' if base.log_scale else 'on'}", "log_scale",
                {"log_scale": not base.log_scale}),
    ]
    if "view" in base.use_value_for:
        settings.append(Setting("view value=off", "use_value_for",
                                {"use_value_for": [t for t in base.use_value_for if t != "view"]}))
    else:
        settings.append(Setting("view value=on", "use_value_for",
                                {"use_value_for": [*base.use_value_for, "view"]}))
    settings += [Setting(f"half_life={h:g}d", "half_life_days", {"half_life_days": float(h)})
                 for h in half_lives if h != base.half_life_days]
    return settings


def combine(settings: Sequence[Setting]) -> Setting:
    """One setting applying several one-factor settings (later ones win on the same key)."""
    overrides: dict[str, Any] = {}
    for setting in settings:
        for key, value in setting.overrides.items():
            overrides[key] = {**overrides.get(key, {}), **value} if key == "event_weights" else value
    return Setting(" + ".join(s.name for s in settings), "combined", overrides)


# --- one side (validation or test) of one setting ------------------------------------------------

@dataclass(frozen=True)
class _Side:
    train: FeatureSet
    test: TestSet
    exclude_resources: np.ndarray | None
    map_cold: bool  # give resources without training interactions their content-mapped vectors
    weights: InteractionWeights


@dataclass
class _Study:
    """The data and split of one experiment file, and each setting's two sides (cached)."""

    config: ExperimentConfig
    dataset: Any
    split: Split
    validation: str  # "hybrid" or "mirror" (see run_study)
    sides: dict[str, dict[str, _Side]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # setting name -> matrices' digest
    fixed: dict[str, Any] = field(default_factory=dict)  # test sets and candidates, set once

    def prepare(self, setting: Setting, base: FeaturesSection) -> dict[str, _Side]:
        if setting.name in self.sides:
            return self.sides[setting.name]
        weights = setting.section(base).build()
        train = build_feature_set(self.dataset, self.split.train, weights)
        if self.validation == "hybrid":
            val_train, val_events = validation_split(train, VALIDATION_FRACTION, weights)
        else:
            inner_config, inner = self.fixed.get("inner") or self._inner()
            self.fixed["inner"] = (inner_config, inner)
            val_train = build_feature_set(self.dataset, inner.train, weights)
            val_events = inner.test
        if "test" not in self.fixed:  # relevance and candidates come from the first (defaults)
            # setting, so every setting is judged on the same learners and resources
            self.fixed["test"] = build_test_set(train, self.split.test)
            self.fixed["validation"] = build_test_set(val_train, val_events)
            self.fixed["exclude"] = self._candidates(self.config.split, self.split, train)
            self.fixed["val_exclude"] = None
            if self.validation == "mirror":
                self.fixed["val_exclude"] = self._candidates(*self.fixed["inner"], val_train)
            for side in SIDES:
                if len(self.fixed[side].learner_idx) == 0:
                    raise InvalidParameterError("split", self.split.name,
                                                f"a split leaving {side} learners to score")
        map_cold = self.config.evaluation.cold_resources == "content_mapping"
        sides = {
            "validation": _Side(val_train, self.fixed["validation"], self.fixed["val_exclude"],
                                map_cold and self.validation == "mirror", weights),
            "test": _Side(train, self.fixed["test"], self.fixed["exclude"], map_cold, weights),
        }
        self.sides[setting.name] = sides
        self.keys[setting.name] = _digest(val_train.interactions, train.interactions)
        return sides

    def _inner(self) -> tuple[Any, Split]:
        """The experiment's own split replayed inside its training part, as the default model
        search validates (:meth:`HoldoutSplit.validation_within`: a temporal cut leaving the
        same share of the training events after it, any other kind as configured)."""
        split_config = self.config.split.validation_within(self.split, self.split.train)
        return split_config, split_config.build(self.split.train)

    @staticmethod
    def _candidates(split_config: Any, split: Split, train: FeatureSet) -> np.ndarray | None:
        return candidate_exclusions(train, split_config.candidates,
                                    window=split_config.test_window(split),
                                    active_days=split_config.active_days)


def _digest(*matrices: sp.spmatrix) -> str:
    """Settings giving identical confidence matrices give identical models: fit them once."""
    digest = hashlib.sha256()
    for matrix in matrices:
        csr = sp.csr_matrix(matrix)
        for array in (csr.indptr, csr.indices, csr.data):
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _score(model: EmbeddingModel, side: _Side) -> dict[str, np.ndarray]:
    """Per-learner ndcg@K and recall@K on one side, through the library's evaluation path."""
    if side.map_cold:
        model, _ = map_served_cold_resources(model, side.train, side.weights)
    recommended = recommend_for_test(model, side.train, side.test, K, side.exclude_resources)
    values = metrics_at_k(recommended, side.test.relevant, [K])
    return {name: np.asarray(values[f"{name}_at_{K}"]) for name in ("ndcg", "recall")}


def _model(config: ExperimentConfig, name: str, **overrides: Any) -> EmbeddingModel:
    """A model with the experiment file's parameters for it (if listed) and ``overrides``,
    seeded with the file's seed."""
    spec = next((s for s in config.models if s.name == name), None)
    params = spec.params if spec is not None else {}
    return build_model(name, {**params, **overrides}, random_state=config.seed)


# --- the run ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StudyResult:
    """Long table: one row per (model, setting, side) with the mean metrics, the paired
    difference in ndcg@K to that model's defaults, and whether the row's setting was chosen."""

    table: pd.DataFrame
    chosen: dict[str, str]
    notes: dict[str, Any]


def run_study(
    config_path: str | Path,
    *,
    data_root: str | Path | None = None,
    models: Sequence[str] = MODEL_NAMES,
    half_lives: Sequence[float] = HALF_LIVES,
    content: bool = False,
    content_half_lives: Sequence[float | None] = CONTENT_HALF_LIVES,
    content_strengths: Sequence[float] = CONTENT_STRENGTHS,
    max_learners: int | None = None,
    validation: str = "hybrid",
    n_resamples: int = 2000,
    seed: int = 0,
    step: Step = lambda _message: None,
) -> StudyResult:
    """Evaluate the grid on the experiment file's data and split (see the module docstring).

    ``validation``: ``"hybrid"`` carves it as HybridModel does (each learner's last 20% of
    training events, every resource a candidate); ``"mirror"`` replays the experiment's own
    split inside the training part (:meth:`_Study._inner`), with its candidate rule and
    cold-resource mapping, a check that the choice does not hinge on the validation protocol.
    """
    if validation not in ("hybrid", "mirror"):
        raise InvalidParameterError("validation", validation, "'hybrid' or 'mirror'")
    config, _ = load_config(config_path, data_root)
    if isinstance(config.split, RollingSplit):
        raise InvalidParameterError("split", "rolling", "a single split (not the rolling protocol)")
    dataset = config.data.build(config.seed)
    split = config.split.build(dataset.events)
    notes: dict[str, Any] = {"config": str(config_path), "split": split.name,
                             "validation": validation,
                             "n_learners_in_data": len(dataset.learners)}
    if max_learners is not None and dataset.learners.shape[0] > max_learners:
        split = _subsample(split, dataset.learners["learner_id"], max_learners, seed)
        notes["subsampled_learners"] = max_learners
    step(f"{config.name}: {split.name}, {len(split.train):,} train / {len(split.test):,} test events")
    study = _Study(config, dataset, split, validation)
    base = config.features
    scores: dict[tuple[str, str], dict[str, dict[str, np.ndarray]]] = {}
    meta: dict[tuple[str, str], dict[str, Any]] = {}
    fitted: dict[tuple[str, str], tuple[str, str]] = {}  # (model, digest) -> first setting

    def evaluate(label: str, setting: Setting, features: Setting | None = None,
                 params: dict[str, Any] | None = None) -> None:
        """Fit ``label``'s model (``params`` over the file's) on both sides of ``features``
        (default: ``setting`` itself) and keep its per-learner scores under ``setting``."""
        sides = study.prepare(features or setting, base)
        key = (label, study.keys[(features or setting).name] + repr(sorted((params or {}).items())))
        same = fitted.get(key)
        meta[(label, setting.name)] = {"factor": setting.factor, "features": setting.describe(),
                                       "same_as": same[1] if same else ""}
        if same is not None:
            scores[(label, setting.name)] = scores[same]
            return
        started = time.perf_counter()
        result = {side: _score(_model(config, label, **(params or {})).fit(sides[side].train),
                               sides[side]) for side in SIDES}
        scores[(label, setting.name)] = result
        fitted[key] = (label, setting.name)
        step(f"  {label:>7} | {setting.name:<40} val {result['validation']['ndcg'].mean():.4f}"
             f"  test {result['test']['ndcg'].mean():.4f}  ({time.perf_counter() - started:.1f} s)")

    settings = one_factor_settings(base, half_lives)
    for model_name in models:
        step(f"{model_name}: one factor at a time")
        for setting in settings:
            evaluate(model_name, setting)
        winners = _clear_winners(scores, model_name, settings, n_resamples, seed)
        if len(winners) >= 2:
            combined = combine(winners)
            step(f"{model_name}: combining {combined.name}")
            evaluate(model_name, combined)
    if content:
        step("content: half_life_days x profile_strength at the default [features]")
        for half_life in content_half_lives:
            for strength in content_strengths:
                grid_point = Setting(_content_name(half_life, strength), "content")
                evaluate("content", grid_point, settings[0],
                         {"half_life_days": half_life, "profile_strength": float(strength)})

    table = _table(scores, meta, n_resamples, seed)
    chosen = {label: choose(table, label) for label in table["model"].unique()}
    table["chosen"] = [chosen[m] == s for m, s in zip(table["model"], table["setting"])]
    notes.update({f"n_{side}_learners": len(study.fixed[side].learner_idx) for side in SIDES})
    if validation == "mirror":
        notes["validation_split"] = study.fixed["inner"][1].name
    notes["n_test_candidates"] = len(dataset.resources) - (
        0 if study.fixed["exclude"] is None else len(np.unique(study.fixed["exclude"])))
    return StudyResult(table, chosen, notes)


def _content_name(half_life: float | None, strength: float) -> str:
    shown = "none" if half_life is None else f"{half_life:g}d"
    return f"half_life={shown}, profile_strength={strength:g}"


def _baseline_name(label: str, names: Sequence[str]) -> str:
    """The setting each row is compared with: the defaults (content: its shipped defaults)."""
    if "defaults" in names:
        return "defaults"
    wanted = _content_name(*CONTENT_DEFAULT)
    return wanted if wanted in names else names[0]


def _clear_winners(
    scores: dict, model_name: str, settings: Sequence[Setting], n_resamples: int, seed: int
) -> list[Setting]:
    """Per factor, its best level on validation if that beats the defaults with a CI excluding 0."""
    base = scores[(model_name, "defaults")]["validation"]["ndcg"]
    best: dict[str, tuple[float, Setting]] = {}
    for setting in settings[1:]:
        values = scores[(model_name, setting.name)]["validation"]["ndcg"]
        result = paired_comparison(base, values, n_resamples=n_resamples, seed=seed)
        if result.ci_low > 0 and result.mean_difference > best.get(setting.factor, (0.0, None))[0]:
            best[setting.factor] = (result.mean_difference, setting)
    return [setting for _, setting in best.values()]


def _table(scores: dict, meta: dict, n_resamples: int, seed: int) -> pd.DataFrame:
    rows = []
    labels = list(dict.fromkeys(label for label, _ in scores))
    for label in labels:
        names = [name for lab, name in scores if lab == label]
        baseline = _baseline_name(label, names)
        for name in names:
            for side in SIDES:
                values = scores[(label, name)][side]
                compared = paired_comparison(scores[(label, baseline)][side]["ndcg"], values["ndcg"],
                                             n_resamples=n_resamples, seed=seed)
                rows.append({
                    "model": label, "setting": name, **meta[(label, name)], "side": side,
                    "n_learners": compared.n_learners,
                    METRIC: float(np.nanmean(values["ndcg"])),
                    f"recall_at_{K}": float(np.nanmean(values["recall"])),
                    "baseline": baseline, "delta": compared.mean_difference,
                    "ci_low": compared.ci_low, "ci_high": compared.ci_high,
                    "p_value": compared.p_value, "significant": compared.significant,
                })
    return pd.DataFrame(rows)


def choose(table: pd.DataFrame, model: str) -> str:
    """The setting for ``model``, read from its **validation rows only**: the best ndcg@K if its
    paired CI against the baseline excludes 0 and the difference is positive, else the baseline
    (the shipped default stays unless the data clearly says otherwise)."""
    rows = table[(table["model"] == model) & (table["side"] == "validation")]
    if rows.empty:
        raise InvalidParameterError("model", model, "a model with validation rows in the table")
    best = rows.iloc[int(np.argmax(rows[METRIC].to_numpy()))]
    if best["significant"] and best["delta"] > 0:
        return str(best["setting"])
    return str(rows["baseline"].iloc[0])


def _subsample(split: Split, learner_ids: pd.Series, n: int, seed: int) -> Split:
    """Keep a seeded sample of ``n`` learners' events on both sides (the id maps stay whole)."""
    keep = set(np.random.default_rng(seed).choice(learner_ids.astype(str).to_numpy(), n, replace=False))
    train = split.train[split.train["learner_id"].astype(str).isin(keep)]
    test = split.test[split.test["learner_id"].astype(str).isin(keep)]
    return Split(train=train, test=test, name=f"{split.name}, {n} learners sampled", report=split.report)


# --- output ----------------------------------------------------------------------------------------

def wide(table: pd.DataFrame, model: str) -> pd.DataFrame:
    """One row per setting of one model: validation and test ndcg@K side by side."""
    out = []
    for setting, rows in table[table["model"] == model].groupby("setting", sort=False):
        by_side = {row["side"]: row for _, row in rows.iterrows()}
        val, test = by_side["validation"], by_side["test"]
        first = rows.iloc[0]
        out.append({
            "setting": ("**" + str(setting) + "**") if first["chosen"] else str(setting),
            "[features]": first["features"],
            f"val ndcg@{K}": val[METRIC],
            "val Δ [95% CI]": _delta(val),
            f"test ndcg@{K}": test[METRIC],
            "test Δ [95% CI]": _delta(test),
            f"test recall@{K}": test[f"recall_at_{K}"],
            "note": f"same matrix as {first['same_as']}" if first["same_as"] else "",
        })
    return pd.DataFrame(out).set_index("setting")


def _delta(row: pd.Series) -> str:
    if row["setting"] == row["baseline"]:
        return "baseline"
    star = " *" if row["significant"] else ""
    return f"{row['delta']:+.4f} [{row['ci_low']:+.4f}, {row['ci_high']:+.4f}]{star}"


def to_markdown(result: StudyResult, title: str, command: str) -> str:
    notes = result.notes
    lines = [f"## {title}", "", f"`{command}`", "",
             f"Split: {notes['split']}; validation: {_validation_text(notes)} "
             f"({notes['n_validation_learners']} learners); test: "
             f"{notes['n_test_learners']} learners, {notes['n_test_candidates']} candidates."]
    if "subsampled_learners" in notes:
        lines.append(f"Subsampled: {notes['subsampled_learners']} of "
                     f"{notes['n_learners_in_data']} learners (seeded).")
    for model in result.table["model"].unique():
        lines += ["", f"### {model}: chosen on validation = `{result.chosen[model]}`", "",
                  markdown(wide(result.table, model))]
    return "\n".join(lines) + "\n"


def _validation_text(notes: dict[str, Any]) -> str:
    if notes["validation"] == "hybrid":
        return (f"as HybridModel's, the last {VALIDATION_FRACTION:.0%} of each learner's training "
                "events, every resource a candidate")
    return f"the test protocol replayed inside the training part, {notes['validation_split']}"


def write_outputs(result: StudyResult, out: Path, name: str, command: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out / f"interaction_weights_{name}.csv", index=False)
    path = out / f"interaction_weights_{name}.md"
    path.write_text(to_markdown(result, name, command), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Choose interaction -> confidence defaults on validation.")
    parser.add_argument("--data", choices=sorted(EXPERIMENT_FILES), default="sample")
    parser.add_argument("--config", type=Path, help="another experiment file (overrides --data)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--models", nargs="*", default=list(MODEL_NAMES), choices=MODEL_NAMES,
                        help="collaborative models to sweep (none: only the content grid)")
    parser.add_argument("--content", action=argparse.BooleanOptionalAction, default=None,
                        help="also the content model's half-life x profile strength (default: sample only)")
    parser.add_argument("--max-learners", type=int, default=None, help="seeded learner subsample")
    parser.add_argument("--validation", choices=("hybrid", "mirror"), default="hybrid",
                        help="hybrid: HybridModel's per-learner hold-out; mirror: the test split "
                             "replayed inside the training part")
    parser.add_argument("--n-resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    config = args.config or EXPERIMENTS_DIR / EXPERIMENT_FILES[args.data]
    name = config.stem + ("" if args.validation == "hybrid" else "_mirror") + (
        "" if args.models else "_content")
    content = args.data == "sample" and args.config is None if args.content is None else args.content
    started = time.perf_counter()

    def step(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", flush=True)

    result = run_study(config, data_root=args.data_root, models=args.models, content=content,
                       max_learners=args.max_learners, validation=args.validation,
                       n_resamples=args.n_resamples,
                       seed=args.seed, step=step)
    command = "python -m experiments.interaction_weights " + " ".join(
        argv if argv is not None else __import__("sys").argv[1:])
    path = write_outputs(result, args.out, name, command)
    print(to_markdown(result, name, command))
    step(f"wrote {path}")


if __name__ == "__main__":
    main()
