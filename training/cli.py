"""The ``recommender`` command line: data, training, serving and the end-to-end demo.

It lives in ``training/`` because it is the composition root: it wires the library
(``recommender``) to the training pipeline, and the library never imports it back.
Every command turns a :class:`RecommenderError` into a clear message and a non-zero exit.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from recommender.errors import DataValidationError, RecommenderError
from recommender.settings import Settings

app = typer.Typer(
    help="Learning-resource recommender: data, training, serving, demo.",
    no_args_is_help=True,
    add_completion=False,
)
data_app = typer.Typer(help="Generate, import and validate the data contract's tables.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")

out = Console()
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def _fails_cleanly(command: F) -> F:
    """Print a library error as one readable message and exit 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DataValidationError as error:
            _print_problems(error)
            raise typer.Exit(1) from None
        except RecommenderError as error:
            err.print(f"[bold red]error:[/] {error}")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _print_problems(error: DataValidationError) -> None:
    table = Table(title=f"{error.total} problem(s) found", show_lines=False)
    for column in ("file", "table", "column", "row", "value", "problem"):
        table.add_column(column, overflow="fold")
    for p in error.problems:
        table.add_row(p.source or "", p.table, p.column, "" if p.row is None else str(p.row),
                      "" if p.value is None else repr(p.value), p.message)
    err.print(table)
    if error.total > len(error.problems):
        err.print(f"(showing {len(error.problems)} examples of {error.total} problems)")


# --- data -------------------------------------------------------------------------------------

@data_app.command("generate")
@_fails_cleanly
def data_generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the tables to")],
    learners: Annotated[int, typer.Option(help="Number of learners")] = 2000,
    resources: Annotated[int, typer.Option(help="Number of resources")] = 400,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same world")] = 0,
    events_per_learner: Annotated[float, typer.Option(help="Mean events per learner")] = 30.0,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
) -> None:
    """Write the built-in sample lifelong-learning world (learners, resources, events, regions)."""
    from recommender.data import write_dataset
    from recommender.data.sample_world import generate_world

    with err.status("generating the sample world"):
        world = generate_world(learners, resources, seed, events_per_learner=events_per_learner)
        write_dataset(world, out_dir, fmt)
    out.print(f"wrote {len(world.learners)} learners, {len(world.resources)} resources, "
              f"{len(world.events)} events to {out_dir}")


@data_app.command("import")
@_fails_cleanly
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


@data_app.command("validate")
@_fails_cleanly
def data_validate(
    learners: Annotated[Path, typer.Option(help="Learners table (CSV or Parquet)")],
    resources: Annotated[Path, typer.Option(help="Resources table (CSV or Parquet)")],
    events: Annotated[Path, typer.Option(help="Events table (CSV or Parquet)")],
    regions: Annotated[Path | None, typer.Option(help="Optional region adjacency table")] = None,
) -> None:
    """Check the tables against the data contract and report every problem found."""
    from recommender.data import load_files

    dataset = load_files(learners, resources, events, regions)
    summary = dataset.summary()
    out.print(f"valid: {summary['n_learners']} learners, {summary['n_resources']} resources, "
              f"{summary['n_events']} events ({summary['events_from']} .. "
              f"{summary['events_until']})")


# --- training ---------------------------------------------------------------------------------

def _load_training_data(data: Path | None, learners: int, resources: int, seed: int):
    from recommender.data import load_directory
    from recommender.data.sample_world import generate_world

    if data is not None:
        return load_directory(data)
    return generate_world(learners, resources, seed)


@app.command("train")
@_fails_cleanly
def train_command(
    data: Annotated[Path | None, typer.Option(
        help="Directory with learners/resources/events files; default: the sample world")] = None,
    out_bundle: Annotated[Path | None, typer.Option(
        "--out", help="Bundle directory to write; default: <workdir>/bundle")] = None,
    learners: Annotated[int, typer.Option(help="Sample-world learners (no --data)")] = 2000,
    resources: Annotated[int, typer.Option(help="Sample-world resources (no --data)")] = 400,
    seed: Annotated[int, typer.Option(help="Seed for the sample world and the model")] = 0,
    factors: Annotated[int, typer.Option(help="ALS latent factors")] = 64,
    iterations: Annotated[int, typer.Option(help="ALS iterations")] = 15,
    regularization: Annotated[float, typer.Option(help="ALS L2 regularisation")] = 0.05,
    alpha: Annotated[float, typer.Option(help="ALS confidence scaling")] = 2.0,
    workdir: Annotated[Path | None, typer.Option(help="Working directory (runs, bundles)")] = None,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI")] = None,
) -> None:
    """Fit an ALS model, evaluate it on a hold-out, write a bundle and log an MLflow run."""
    from training.pipeline import TrainSpec, train

    settings = Settings(**{k: v for k, v in {"workdir": workdir,
                                            "tracking_uri": tracking_uri}.items() if v})
    bundle_path = out_bundle or settings.workdir / "bundle"
    with err.status("loading data") as status:
        dataset = _load_training_data(data, learners, resources, seed)
        spec = TrainSpec(model="als", model_params=dict(
            factors=factors, iterations=iterations, regularization=regularization,
            alpha=alpha, random_state=seed))
        result = train(
            dataset, bundle_path, spec,
            tracking_uri=settings.resolved_tracking_uri(),
            experiment_name=settings.experiment_name,
            artifact_root=settings.workdir / "mlartifacts",
            on_step=lambda message: status.update(message),
        )
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in result.metrics.items() if "_at_10" in k)
    out.print(f"bundle {result.bundle.version} written to {result.bundle_path}")
    out.print(f"MLflow run {result.run_id} ({settings.resolved_tracking_uri()}): {metrics}")


# --- serving ----------------------------------------------------------------------------------

@app.command("serve")
@_fails_cleanly
def serve_command(
    bundle: Annotated[Path | None, typer.Option(help="Bundle directory to serve")] = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind")] = None,
) -> None:
    """Start the HTTP API (uvicorn) serving a bundle."""
    import uvicorn

    from recommender.serving.app import create_app

    settings = Settings(**{k: v for k, v in
                           {"bundle_path": bundle, "host": host, "port": port}.items() if v})
    api = create_app(settings.bundle_path, index_factory=settings.index_factory)
    uvicorn.run(api, host=settings.host, port=settings.port, log_level="info")


@app.command("demo")
@_fails_cleanly
def demo_command(
    workdir: Annotated[Path, typer.Option(help="Where data, runs and the bundle go")] = Path("work"),
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    seed: Annotated[int, typer.Option(help="Seed for the sample world")] = 0,
) -> None:
    """Generate the sample world, train, start the API and print a learner's delivery list."""
    import httpx
    import uvicorn

    from recommender.data import write_dataset
    from recommender.data.sample_world import DEFAULT_SIZE, generate_world
    from recommender.serving.app import create_app
    from training.pipeline import TrainSpec, train

    settings = Settings(workdir=workdir, host=host, port=port)
    with err.status("generating the sample world") as status:
        world = generate_world(seed=seed, **DEFAULT_SIZE)
        write_dataset(world, workdir / "sample_world")
        out.print(f"sample world: {len(world.learners)} learners, {len(world.resources)} "
                  f"resources, {len(world.events)} events -> {workdir / 'sample_world'}")
        result = train(
            world, workdir / "bundle", TrainSpec(model_params={"random_state": seed}),
            tracking_uri=settings.resolved_tracking_uri(),
            experiment_name=settings.experiment_name,
            artifact_root=workdir / "mlartifacts",
            on_step=lambda message: status.update(message),
        )
    out.print(f"trained {result.bundle.version}: ndcg@10={result.metrics['ndcg_at_10']:.3f}, "
              f"recall@10={result.metrics['recall_at_10']:.3f} (MLflow run {result.run_id})")

    counts = world.events["learner_id"].value_counts()
    learner_id = str(counts.index[len(counts) // 2])
    base_url = f"http://{host}:{port}"
    server = uvicorn.Server(uvicorn.Config(create_app(bundle=result.bundle), host=host,
                                           port=port, log_level="warning"))

    def show_sample_list() -> None:
        while not server.started:
            time.sleep(0.05)
        url = f"{base_url}/v1/learners/{learner_id}/recommendations?k=10"
        body = httpx.get(url, timeout=10).json()
        table = Table(title=f"GET {url}")
        for column in ("rank", "resource_id", "title", "score"):
            table.add_column(column)
        for item in body["items"]:
            table.add_row(str(item["rank"]), item["resource_id"], item["title"],
                          f"{item['score']:.3f}")
        out.print(table)
        out.print(f"API running at {base_url} (docs: {base_url}/docs); Ctrl-C stops it.")

    threading.Thread(target=show_sample_list, daemon=True).start()
    server.run()


def main() -> None:
    app()
