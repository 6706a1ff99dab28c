"""Seeded random search over the ``[tune]`` space of a config, one nested MLflow run per trial.

Every trial is validated on the same split of the same data (the space may only touch model and
feature keys), so trial metrics are comparable; the best trial's config is a plain train config.
Every trial config is built and validated before the first fit, so a bad space fails fast.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from itertools import product
from typing import Any

import mlflow
import numpy as np

from recommender.data import Dataset
from recommender.errors import ConfigError
from recommender.tracking import use_experiment
from training import toml_writer
from training.config import RangeSpec, TrainConfig, parse_config
from training.pipeline import HoldoutCache, validate
from training.progress import NO_PROGRESS, Progress
from training.tracking import Tracking, flatten


@dataclass(frozen=True)
class Trial:
    number: int
    params: dict[str, Any]
    config: TrainConfig
    metric: float | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class TuneResult:
    parent_run_id: str
    metric: str
    trials: list[Trial]
    best: Trial

    def best_config_toml(self) -> str:
        return toml_writer.dumps(self.best.config.to_dict())


def sample_space(space: dict[str, Any], n_trials: int, seed: int) -> list[dict[str, Any]]:
    """``n_trials`` distinct draws (fewer if a discrete space has fewer points), same for the
    same seed. Lists are choices; ranges are uniform (log-uniform with ``log``), integer when
    both ends are integers."""
    keys = sorted(space)
    if all(isinstance(space[k], list) for k in keys):
        size = math.prod(len(space[k]) for k in keys)
        if n_trials >= size:  # the whole grid, in a seeded order
            grid = [dict(zip(keys, values)) for values in product(*(space[k] for k in keys))]
            order = np.random.default_rng(seed).permutation(len(grid))
            return [grid[i] for i in order]
    rng = np.random.default_rng(seed)
    draws: list[dict[str, Any]] = []
    seen: set[str] = set()
    attempts = 0
    while len(draws) < n_trials and attempts < 100 * n_trials:
        attempts += 1
        draw = {key: _draw(space[key], rng) for key in keys}
        signature = repr(sorted(draw.items()))
        if signature not in seen:
            seen.add(signature)
            draws.append(draw)
    return draws


def _draw(spec: list[Any] | RangeSpec, rng: np.random.Generator) -> Any:
    if isinstance(spec, list):
        return spec[int(rng.integers(len(spec)))]
    low, high = float(spec.low), float(spec.high)
    if spec.log:
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        value = rng.uniform(low, high)
    return int(round(value)) if spec.integer else float(value)


def with_params(config: TrainConfig, params: dict[str, Any], source: str) -> TrainConfig:
    """``config`` with dotted keys (``model.factors``) set, revalidated; no ``[tune]`` left."""
    raw = copy.deepcopy(config.to_dict())
    raw.pop("tune", None)
    for dotted, value in params.items():
        *parents, leaf = dotted.split(".")
        table = raw
        for part in parents:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ConfigError(f"{source}: [tune.space] key {dotted!r}: {part!r} is not a table")
        table[leaf] = value
    return parse_config(raw, source=source)


def plan_trials(config: TrainConfig, n_trials: int, source: str) -> list[Trial]:
    """Every trial's config, validated up front."""
    if config.tune is None:
        raise ConfigError(f"{source}: no [tune] section: declare a search space to tune")
    if not config.validation.enabled:
        raise ConfigError(f"{source}: [validation] key 'enabled': tuning needs the hold-out")
    draws = sample_space(config.tune.space, n_trials, config.seed)
    return [Trial(number=i, params=draw,
                  config=with_params(config, draw, f"{source} [tune.space] trial {i}"))
            for i, draw in enumerate(draws)]


def tune(
    config: TrainConfig,
    dataset: Dataset,
    tracking: Tracking,
    n_trials: int,
    *,
    source: str = "config",
    progress: Progress = NO_PROGRESS,
) -> TuneResult:
    """Run the trials under one parent run; the best by the tune metric wins (first on ties)."""
    planned = plan_trials(config, n_trials, source)
    metric = (config.tune.metric if config.tune and config.tune.metric
              else config.validation.metric)
    higher = config.validation.higher_is_better
    use_experiment(tracking.uri, config.tracking.experiment, tracking.artifact_root)
    content_hash = dataset.content_hash()
    cache = HoldoutCache()
    done: list[Trial] = []
    with mlflow.start_run(run_name=f"tune-{config.model.name}") as parent:
        mlflow.log_params(flatten({k: v for k, v in config.to_dict().items() if k != "tune"}))
        mlflow.log_dict(config.to_dict().get("tune", {}), "tune_space.json")
        mlflow.set_tags({"kind": "tune", "tune.metric": metric, "tune.trials": len(planned)})
        with progress.task("tuning", total=len(planned)) as advance:
            for trial in planned:
                with mlflow.start_run(run_name=f"trial-{trial.number:03d}", nested=True) as run:
                    mlflow.log_params(flatten(trial.config.to_dict()))
                    mlflow.log_params({f"trial.{k}": v for k, v in trial.params.items()})
                    validated = validate(trial.config, dataset, NO_PROGRESS, content_hash, cache)
                    values = {**validated.result.metrics, **validated.seconds}
                    mlflow.log_metrics({k: v for k, v in values.items() if math.isfinite(v)})
                    mlflow.set_tag("split_fingerprint", validated.fingerprint)
                    done.append(Trial(trial.number, trial.params, trial.config,
                                      values.get(metric), run.info.run_id))
                advance(1)
        best = _best(done, higher)
        mlflow.log_params({f"best.{k}": v for k, v in best.params.items()})
        if best.metric is not None:
            mlflow.log_metric(f"best_{metric}", best.metric)
        mlflow.set_tags({"best_trial": best.number, "best_run_id": best.run_id})
        result = TuneResult(parent_run_id=parent.info.run_id, metric=metric, trials=done,
                            best=best)
        mlflow.log_text(result.best_config_toml(), "best_config.toml")
    return result


def _best(trials: list[Trial], higher_is_better: bool) -> Trial:
    scored = [t for t in trials if t.metric is not None and math.isfinite(t.metric)]
    if not scored:
        return trials[0]
    sign = 1.0 if higher_is_better else -1.0
    return max(scored, key=lambda t: (sign * t.metric, -t.number))
