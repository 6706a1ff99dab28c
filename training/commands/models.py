"""``recommender models list|promote``: the registry from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from training.commands.common import (
    TRACKING_HELP,
    WORKDIR_HELP,
    fails_cleanly,
    out,
    resolve_tracking,
    settings_from,
)

app = typer.Typer(help="Registered model versions: list them, promote one to an alias.",
                  no_args_is_help=True)

def _client(workdir: Path | None, tracking_uri: str | None):
    from mlflow.tracking import MlflowClient

    from training.tracking import use_registry

    settings = settings_from(workdir=workdir, tracking_uri=tracking_uri)
    tracking = resolve_tracking(settings)
    use_registry(tracking.uri)
    return MlflowClient(tracking.uri, registry_uri=tracking.uri)


@app.command("list")
@fails_cleanly
def list_command(
    name: Annotated[str | None, typer.Option(help="Only this registered model")] = None,
    workdir: Annotated[Path | None, typer.Option(help=WORKDIR_HELP)] = None,
    tracking_uri: Annotated[str | None, typer.Option(help=TRACKING_HELP)] = None,
) -> None:
    """Every registered version with its aliases, validation metric and split."""
    from recommender.registry import list_versions

    rows = list_versions(_client(workdir, tracking_uri), name)
    if not rows:
        out.print("no registered models")
    for model_name in dict.fromkeys(row.name for row in rows):
        table = Table(title=f"{model_name}: registered versions")
        for column in ("version", "aliases", "validation metric", "split", "worse", "run"):
            table.add_column(column, no_wrap=column in ("aliases", "version"))
        for row in (r for r in rows if r.name == model_name):
            metric = "" if row.value is None else f"{row.metric}={row.value:.4f}"
            status = "" if row.run_status in (None, "FINISHED") else f" ({row.run_status})"
            table.add_row(row.version, ", ".join(row.aliases), metric, (row.split or "")[:8],
                          row.worse_than_production or "", (row.run_id or "")[:8] + status)
        out.print(table)


@app.command("promote")
@fails_cleanly
def promote_command(
    name: Annotated[str, typer.Argument(help="Registered model name")],
    version: Annotated[str, typer.Argument(help="Version to promote")],
    alias: Annotated[str, typer.Option(help="Alias to point at the version")] = "production",
    force: Annotated[bool, typer.Option(
        "--force", help="Promote even if worse than the alias holder on the same split")] = False,
    workdir: Annotated[Path | None, typer.Option(help=WORKDIR_HELP)] = None,
    tracking_uri: Annotated[str | None, typer.Option(help=TRACKING_HELP)] = None,
) -> None:
    """Point ALIAS (default: production) at VERSION of NAME."""
    from recommender.registry import promote

    done = promote(_client(workdir, tracking_uri), name, version, alias, force=force)
    if done.comparison is not None:
        style = "bold yellow" if done.comparison.worse else "green"
        out.print(f"[{style}]{done.comparison.describe()}[/]", highlight=False)
    was = f" (was version {done.previous})" if done.previous else ""
    forced = " (forced)" if done.forced and done.comparison and done.comparison.worse else ""
    out.print(f"{done.name}@{done.alias} -> version {done.version}{was}{forced}",
              highlight=False)
