"""``recommender train`` and ``recommender tune``: tracked runs from a config file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from training.commands.common import (
    TRACKING_HELP,
    WORKDIR_HELP,
    err,
    fails_cleanly,
    out,
    resolve_tracking,
    settings_from,
)
from training.defaults import DEFAULT_CONFIG

if TYPE_CHECKING:
    from training.config import TrainConfig
    from recommender.selection.record import SelectionRecord

ConfigOption = Annotated[Path, typer.Option(
    "--config", help="Training config (TOML; .yaml/.yml also read)")]


def load_run_config(path: Path, data: Path | None = None) -> TrainConfig:
    """The validated config; ``--data DIR`` replaces its [data] with that directory."""
    from training.config import parse_config, read_config_file

    raw = read_config_file(path)
    if data is not None:
        raw["data"] = {"source": "directory", "path": str(data.expanduser().resolve())}
    return parse_config(raw, source=str(path), base_dir=path.parent)


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("tune")(tune_command)


@fails_cleanly
def train_command(
    config_path: ConfigOption = DEFAULT_CONFIG,
    data: Annotated[Path | None, typer.Option(
        help="Directory of contract tables; replaces the config's [data]")] = None,
    out_bundle: Annotated[Path | None, typer.Option(
        "--out", help="Bundle directory to write; default: <workdir>/bundles/<run id>")] = None,
    workdir: Annotated[Path | None, typer.Option(help=WORKDIR_HELP)] = None,
    tracking_uri: Annotated[str | None, typer.Option(help=TRACKING_HELP)] = None,
) -> None:
    """Validate on a hold-out, fit, write a bundle, log an MLflow run and register the model."""
    from training.data_source import load_dataset
    from training.pipeline import train
    from training.progress import RichProgress

    config = load_run_config(config_path, data)  # fails before any work
    settings = settings_from(workdir=workdir, tracking_uri=tracking_uri)
    tracking = resolve_tracking(settings, config.tracking.uri)
    with err.status("loading data"):
        dataset = load_dataset(config)
    if config.engine.kind == "spark":
        from training.spark_jobs import DRIVER_PARTS

        err.print(f"engine: Spark on {config.engine.describe()['master']}. {DRIVER_PARTS}.")
    with RichProgress(err) as progress:
        result = train(config, dataset, tracking, bundle_root=settings.workdir / "bundles",
                       bundle_path=out_bundle, progress=progress,
                       index_factory=settings.index_factory,
                       policy=settings.list_policy())
    out.print(f"MLflow run {result.run_id} ({tracking.uri})")
    _print_time(config)
    for warning in result.warnings:
        out.print(f"[bold yellow]warning: {escape(warning)}[/]", highlight=False)
    out.print(f"bundle {result.bundle.version} written to {result.bundle_path}")
    if result.selection is not None:
        _print_selection(result.selection)
    _print_metrics(config, result.metrics)
    if result.version is not None:
        out.print(f"registered {config.tracking.registered_model} version {result.version}")
    if result.comparison is not None:
        style = "bold yellow" if result.comparison.worse else "green"
        flag = "WORSE THAN PRODUCTION: " if result.comparison.worse else ""
        out.print(f"[{style}]{flag}{result.comparison.describe()}[/]", highlight=False)
        if result.comparison.worse:
            out.print("promoting this version needs --force")


def _print_time(config: TrainConfig) -> None:
    """Say so when timestamps are read as event order only (logged as features.time too)."""
    if config.features.time == "ordinal":
        from recommender.features.ordinal import describe_time

        out.print(describe_time(config.features.time), highlight=False)


def _print_selection(selection: SelectionRecord) -> None:
    """Every candidate the search tried (on its validation split), the choice and the budget."""
    table = selection.candidates
    score = selection.metric
    view = Table(title="model selection on a validation split (fit on all events: the chosen)")
    for column in ("candidate", "family", score or "score", "fit s", "status"):
        view.add_column(column)
    for row in table.itertuples(index=False):
        values = row._asdict()
        mark = " *" if values.get("chosen") else ""
        metric = values.get(score) if score else None
        fit = values.get("fit_seconds")
        view.add_row(f"{values['candidate']}{mark}", str(values["family"]),
                     "-" if metric is None or metric != metric else f"{metric:.4f}",
                     "-" if fit is None or fit != fit else f"{fit:.2f}", str(values["status"]))
    out.print(view)
    out.print(selection.describe(), highlight=False)


def _print_metrics(config: TrainConfig, metrics: dict[str, float]) -> None:
    k = config.validation.main_k if config.validation.enabled else None
    shown = {name: value for name, value in metrics.items()
             if k is not None and name.endswith(f"_at_{k}") and "." not in name}
    if shown:
        out.print(", ".join(f"{name}={value:.4f}" for name, value in shown.items()))
    timing = {n: v for n, v in metrics.items() if n.endswith("_seconds")}
    out.print("seconds: " + ", ".join(f"{n.removesuffix('_seconds')}={v:.2f}"
                                       for n, v in timing.items()))


@fails_cleanly
def tune_command(
    config_path: ConfigOption,
    trials: Annotated[int | None, typer.Option(
        min=1, help="Number of trials; default: [tune] trials")] = None,
    out_path: Annotated[Path | None, typer.Option(
        "--out", help="Write the best trial's config (TOML) here")] = None,
    workdir: Annotated[Path | None, typer.Option(help=WORKDIR_HELP)] = None,
    tracking_uri: Annotated[str | None, typer.Option(help=TRACKING_HELP)] = None,
) -> None:
    """Random search over the config's [tune] space; each trial is a nested MLflow run."""
    from training.data_source import load_dataset
    from training.progress import RichProgress
    from training.tune import plan_trials, tune

    config = load_run_config(config_path)
    n_trials = trials or (config.tune.trials if config.tune else 1)
    plan_trials(config, n_trials, str(config_path))  # every trial config checked up front
    settings = settings_from(workdir=workdir, tracking_uri=tracking_uri)
    tracking = resolve_tracking(settings, config.tracking.uri)
    with err.status("loading data"):
        dataset = load_dataset(config)
    rule = config.features.build().consumption
    for warning in rule.resolve(dataset.events["event_type"].unique()).warnings():
        out.print(f"[bold yellow]warning: {escape(warning)}[/]", highlight=False)
    with RichProgress(err) as progress:
        result = tune(config, dataset, tracking, n_trials, source=str(config_path),
                      progress=progress)
    table = Table(title=f"{len(result.trials)} trials by {result.metric}")
    for column in ("trial", *sorted(result.best.params), result.metric, "run"):
        table.add_column(column)
    for trial in sorted(result.trials, key=lambda t: t.number):
        mark = " *" if trial.number == result.best.number else ""
        metric = "-" if trial.metric is None else f"{trial.metric:.4f}"
        table.add_row(f"{trial.number}{mark}", *(str(trial.params[k]) for k in
                      sorted(result.best.params)), metric, str(trial.run_id))
    out.print(table)
    out.print(f"best: trial {result.best.number} (parent run {result.parent_run_id})")
    _print_time(config)
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(result.best_config_toml(), encoding="utf-8")
        out.print(f"best config written to {out_path}")
