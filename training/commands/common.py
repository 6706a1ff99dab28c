"""What every command shares: consoles, clean failure, settings and tracking resolution."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from recommender.errors import DataValidationError, RecommenderError
from recommender.settings import Settings, load_settings
from recommender.tracking import default_tracking_uri
from training.tracking import Tracking, is_local

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


def fails_cleanly(command: F) -> F:
    """Print a library error as one readable message and exit 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DataValidationError as error:
            print_problems(error)
            raise typer.Exit(1) from None
        except RecommenderError as error:
            err.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def print_problems(error: DataValidationError) -> None:
    table = Table(title=f"{error.total} problem(s) found", show_lines=False)
    for column in ("file", "table", "column", "row", "value", "problem"):
        table.add_column(column, overflow="fold")
    for p in error.problems:
        table.add_row(p.source or "", p.table, p.column, "" if p.row is None else str(p.row),
                      "" if p.value is None else repr(p.value), p.message)
    err.print(table)
    if error.total > len(error.problems):
        err.print(f"(showing {len(error.problems)} examples of {error.total} problems)")


def settings_from(**overrides: Any) -> Settings:
    """The one settings object: environment / .env, then the command line's explicit values."""
    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def resolve_tracking(settings: Settings, config_uri: str | None = None) -> Tracking:
    """Tracking URI by precedence: command line / environment (settings), then the config,
    then a SQLite store under the workdir. Local stores keep artifacts under the workdir."""
    uri = settings.tracking_uri or config_uri or default_tracking_uri(settings.workdir)
    root = settings.workdir / "mlartifacts" if is_local(uri) else None
    return Tracking(uri=uri, artifact_root=root)


WORKDIR_HELP = "Working directory (local MLflow store, artifacts, bundles)"
TRACKING_HELP = "MLflow tracking URI (overrides the config; default: SQLite under workdir)"
