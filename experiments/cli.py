"""``recommender experiment run|compare``: the operator's entry points (registered in training/cli.py)."""

from __future__ import annotations

import functools
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from recommender.errors import RecommenderError

experiment_app = typer.Typer(
    help="Offline experiments: compare models on one split, with reports.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _fails_cleanly(command: F) -> F:
    """A library error becomes one readable line and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RecommenderError as error:  # DataValidationError's message lists its problems
            err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _rich_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=escape(title), show_lines=False)
    for column in frame.columns:
        table.add_column(escape(str(column)), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left",
                         overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[escape(_cell(v)) for v in row])
    return table


def _wide() -> Console:
    """Piped or captured output has no width of its own: do not squeeze tables into 80."""
    return out if out.is_terminal else Console(width=250)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


@experiment_app.command("run")
@_fails_cleanly
def run_command(
    config: Annotated[Path, typer.Argument(help="Experiment file, e.g. experiments/sample_world.toml")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Output directory; default: work/experiments/<name>")] = None,
    data_root: Annotated[Path | None, typer.Option(
        help="Directory holding the real data sets' folders; default: ../shared/data")] = None,
    tracking_uri: Annotated[str | None, typer.Option(
        help="MLflow tracking URI; default: the file's [tracking] uri, else SQLite in the output dir")] = None,
) -> None:
    """Train every model in the file on one split, log one MLflow run each, write the report."""
    from experiments.rolling import RollingExperiment
    from experiments.runner import run_experiment
    from experiments.tables import summary_frame

    command = "recommender experiment run " + " ".join(shlex.quote(a) for a in sys.argv[sys.argv.index("run") + 1:]) \
        if "run" in sys.argv else f"recommender experiment run {config}"
    def on_step(message: str) -> None:
        if message.startswith(("warning:", "time:")):  # said once and kept, not a status
            err.print(f"[bold yellow]{escape(message)}[/]", highlight=False)
        status.update(f"{config.name}: {escape(message)}")

    with err.status(f"experiment {config}") as status:
        result = run_experiment(
            config, out_dir=out_dir, data_root=data_root, tracking_uri=tracking_uri,
            on_step=on_step, command=command,
        )
    k = result.config.evaluation.main_k
    if isinstance(result, RollingExperiment):
        _wide().print(_rich_table(result.table.reset_index(),
                                  f"{result.config.name} at k={k} ({result.split_name})"))
        if not result.tests.empty:
            _wide().print(_rich_table(result.tests, f"{result.config.name}: target"))
    else:
        frame = summary_frame(result).reset_index()
        _wide().print(_rich_table(frame, f"{result.config.name} at k={k} ({result.split_name})"))
    out.print(f"report: {result.report_path}")
    out.print(f"MLflow: {result.tracking_uri} (experiment {result.config.experiment_name!r}, "
              f"{len(result.run_ids) if isinstance(result, RollingExperiment) else len(result.runs)}"
              f" runs, invocation {result.invocation})")


@experiment_app.command("compare")
@_fails_cleanly
def compare_command(
    experiment: Annotated[str | None, typer.Option(help="MLflow experiment name; default: every one")] = None,
    tracking_uri: Annotated[str | None, typer.Option(
        help="MLflow tracking URI; default: the SQLite stores under --root")] = None,
    root: Annotated[Path, typer.Option(help="Where `run` wrote its default outputs")] = Path("work/experiments"),
    all_invocations: Annotated[bool, typer.Option(
        "--all", help="Every invocation, not only each experiment's latest")] = False,
) -> None:
    """Print the runs of one or every experiment side by side."""
    from experiments.compare import runs_table, stores_under

    if tracking_uri:
        uris, single = [tracking_uri], True
    elif experiment and (root / experiment / "mlflow.db").is_file():
        uris, single = [f"sqlite:///{(root / experiment / 'mlflow.db').resolve()}"], True
    else:
        uris, single = stores_under(root), False
    if not uris:
        raise typer.BadParameter(f"no MLflow store under {root}; pass --tracking-uri", param_hint="--root")
    console = _wide()
    shown = 0
    for uri in uris:
        tables = runs_table(uri, experiment if single else None, all_invocations)
        for name, frame in tables.items():
            if experiment is not None and name != experiment:
                continue
            if not all_invocations:
                frame = frame.drop(columns=["invocation"])
            console.print(_rich_table(frame, f"{name} ({uri})"))
            shown += 1
    if shown == 0:
        err.print("no experiment runs found")
        raise typer.Exit(1)
