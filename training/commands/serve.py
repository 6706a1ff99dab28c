"""``recommender serve`` and ``recommender demo``: the HTTP API, alone or end to end."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from training.commands.common import err, fails_cleanly, out, resolve_tracking, settings_from


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("demo")(demo_command)


@fails_cleanly
def serve_command(
    bundle: Annotated[Path | None, typer.Option(help="Bundle directory to serve")] = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind")] = None,
) -> None:
    """Start the production HTTP API (uvicorn, RECOMMENDER_WORKERS processes) from the settings."""
    from recommender.serving.server import serve

    serve(settings_from(bundle_path=bundle, host=host, port=port))


@fails_cleanly
def demo_command(
    workdir: Annotated[Path, typer.Option(help="Where data, runs and the bundle go")] = Path("work"),
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    seed: Annotated[int, typer.Option(help="Seed for the sample world and the model")] = 0,
) -> None:
    """Generate the sample world, train (configs/sample.toml), serve, print a delivery list."""
    import httpx
    import uvicorn

    from recommender.data import write_dataset
    from recommender.serving.app import create_app
    from training.defaults import DEFAULT_CONFIG
    from training.config import parse_config, read_config_file
    from training.data_source import load_dataset
    from training.pipeline import train
    from training.progress import RichProgress

    raw = read_config_file(DEFAULT_CONFIG)
    raw["seed"] = seed
    config = parse_config(raw, source=str(DEFAULT_CONFIG), base_dir=DEFAULT_CONFIG.parent)
    settings = settings_from(workdir=workdir, host=host, port=port)
    tracking = resolve_tracking(settings, config.tracking.uri)
    with err.status("generating the sample world"):
        world = load_dataset(config)
        write_dataset(world, workdir / "sample_world")
    out.print(f"sample world: {len(world.learners)} learners, {len(world.resources)} "
              f"resources, {len(world.events)} events -> {workdir / 'sample_world'}")
    with RichProgress(err) as progress:
        result = train(config, world, tracking, bundle_root=workdir / "bundles",
                       bundle_path=workdir / "bundle", progress=progress)
    out.print(f"trained {result.bundle.version}: ndcg@10={result.metrics['ndcg_at_10']:.3f}, "
              f"recall@10={result.metrics['recall_at_10']:.3f} (MLflow run {result.run_id}, "
              f"registered version {result.version})")

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
        for column in ("rank", "resource_id", "title", "score", "reason"):
            table.add_column(column)
        for item in body["items"]:
            table.add_row(str(item["rank"]), item["resource_id"], item["title"],
                          f"{item['score']:.3f}", item["reason"])
        out.print(table)
        out.print(f"API running at {base_url} (docs: {base_url}/docs); Ctrl-C stops it.")

    threading.Thread(target=show_sample_list, daemon=True).start()
    server.run()
