"""``recommender data generate|import|validate``: the data contract's tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from training.commands.common import err, fails_cleanly, out

app = typer.Typer(help="Generate, import and validate the data contract's tables.",
                  no_args_is_help=True)


@app.command("generate")
@fails_cleanly
def data_generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the tables to")],
    learners: Annotated[int, typer.Option(help="Number of learners")] = 2000,
    resources: Annotated[int, typer.Option(help="Number of resources")] = 400,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same world")] = 0,
    events_per_learner: Annotated[float, typer.Option(help="Mean events per learner")] = 30.0,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    as_of: Annotated[str | None, typer.Option(
        help="The world's last day (ISO 8601): a year of events up to it, courses open at it "
        "and sessions to come; default: today (UTC)")] = None,
) -> None:
    """Write the built-in sample lifelong-learning world (learners, resources, events, regions),
    dated relative to ``--as-of`` (same seed and as-of, same world)."""
    from recommender.data import write_dataset
    from recommender.data.sample_world import generate_world

    with err.status("generating the sample world"):
        world = generate_world(learners, resources, seed, events_per_learner=events_per_learner,
                               as_of=as_of)
        write_dataset(world, out_dir, fmt)
    out.print(f"wrote {len(world.learners)} learners, {len(world.resources)} resources, "
              f"{len(world.events)} events to {out_dir}")


@app.command("import")
@fails_cleanly
def data_import(
    source: Annotated[str, typer.Argument(help="oulad, mars or canvas")],
    path: Annotated[Path, typer.Option(help="Directory holding the original files")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the tables to")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "parquet",
) -> None:
    """Convert a real data set (its original files) into the three contract tables."""
    from recommender.data import write_dataset
    from recommender.data.loaders import LOADERS

    if source not in LOADERS:
        raise typer.BadParameter(f"unknown source {source!r}; choose from {sorted(LOADERS)}")
    with err.status(f"loading {source} from {path}"):
        dataset = LOADERS[source](path)
        write_dataset(dataset, out_dir, fmt)
    out.print(f"wrote {len(dataset.learners)} learners, {len(dataset.resources)} resources, "
              f"{len(dataset.events)} events to {out_dir}")


@app.command("validate")
@fails_cleanly
def data_validate(
    learners: Annotated[Path, typer.Option(help="Learners table (CSV or Parquet)")],
    resources: Annotated[Path, typer.Option(help="Resources table (CSV or Parquet)")],
    events: Annotated[Path, typer.Option(help="Events table (CSV or Parquet)")],
    regions: Annotated[Path | None, typer.Option(help="Optional region adjacency table")] = None,
) -> None:
    """Check the tables against the data contract and report every problem found; warn when
    no event type means "done with it" under the default consumption rule."""
    from recommender.data import load_files
    from recommender.features import ConsumptionRule

    dataset = load_files(learners, resources, events, regions)
    summary = dataset.summary()
    out.print(f"valid: {summary['n_learners']} learners, {summary['n_resources']} resources, "
              f"{summary['n_events']} events ({summary['events_from']} .. "
              f"{summary['events_until']})")
    types = dataset.events["event_type"].value_counts()
    out.print("event types: " + ", ".join(f"{name} {count}" for name, count in types.items()))
    for warning in ConsumptionRule().resolve(types.index).warnings():
        out.print(f"[bold yellow]warning (default consumption rule): {escape(warning)}[/]",
                  highlight=False)
