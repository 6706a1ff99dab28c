"""``recommender deliver``: every learner's delivery list (or, with ``--plan``, learning plan),
with reasons, to one Parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recommender.features.catalog import to_timestamp
from recommender.errors import InvalidParameterError
from training.commands.common import (
    TRACKING_HELP,
    WORKDIR_HELP,
    err,
    fails_cleanly,
    out,
    resolve_tracking,
    settings_from,
)

if TYPE_CHECKING:
    import pandas as pd

    from recommender.bundle import Bundle
    from recommender.delivery.rerank import ListPolicy


def register(app: typer.Typer) -> None:
    app.command("deliver")(deliver_command)


def model_uri(reference: str) -> str:
    """``NAME@ALIAS`` or ``NAME/VERSION`` (or a full ``models:/`` URI) -> a models:/ URI."""
    if reference.startswith("models:/"):
        return reference
    if "@" in reference or "/" in reference:
        return f"models:/{reference}"
    raise InvalidParameterError("--model", reference, "NAME@ALIAS or NAME/VERSION")


@fails_cleanly
def deliver_command(
    out_path: Annotated[Path, typer.Option("--out", help="Parquet file to write")],
    model: Annotated[str | None, typer.Option(
        "--model", help="Registered model: NAME@ALIAS or NAME/VERSION")] = None,
    bundle: Annotated[Path | None, typer.Option(help="A bundle directory instead")] = None,
    k: Annotated[int, typer.Option(min=1, help="Resources per learner")] = 10,
    chunk_size: Annotated[int | None, typer.Option(
        min=1, help="Learners per chunk (default 10000 for lists, 2000 for plans)")] = None,
    plan: Annotated[bool, typer.Option(
        "--plan", help="Write learning plans (needs --hours-per-week and --weeks)")] = False,
    hours_per_week: Annotated[float | None, typer.Option(
        min=0.0, help="Study hours a week, for --plan")] = None,
    weeks: Annotated[int | None, typer.Option(min=1, help="Weeks a plan spans, for --plan")] = None,
    as_of: Annotated[str | None, typer.Option(
        help="ISO time at which courses must be open (default: now)")] = None,
    learners: Annotated[Path | None, typer.Option(
        "--learners", help="CSV or Parquet file with a learner_id column: export only these "
        "learners, in file order (an id the bundle does not hold is refused, naming it)")] = None,
    with_store: Annotated[bool, typer.Option(
        "--with-store", help="Also apply what the serving database holds (RECOMMENDER_"
        "DATABASE_URL): resources added, changed or withdrawn through the API and events "
        "stored since the bundle, so each list is the one the API gives now")] = False,
    engine: Annotated[str, typer.Option(
        help="'local' (this process) or 'spark': every learner's list in parallel on Spark, "
        "written as a Parquet directory (part files)")] = "local",
    spark_master: Annotated[str, typer.Option(
        help="Spark master for --engine spark (local[*], spark://host:7077, yarn)")] = "local[*]",
    workdir: Annotated[Path | None, typer.Option(help=WORKDIR_HELP)] = None,
    tracking_uri: Annotated[str | None, typer.Option(help=TRACKING_HELP)] = None,
) -> None:
    """Write learner_id, rank, resource_id, score, reason for every learner (streamed); with
    --plan, each learner's plan rows (order, start_week, minutes, credit hours, shortfall)."""
    from recommender.bundle import load_bundle
    from recommender.store import Store
    from training.deliver import export_delivery_lists, export_delivery_plans, read_learner_ids
    from training.progress import RichProgress
    from recommender.registry import load_registered_bundle
    from training.tracking import use_registry

    if (model is None) == (bundle is None):
        raise typer.BadParameter("give exactly one of --model NAME@ALIAS or --bundle PATH")
    if plan and (hours_per_week is None or weeks is None):
        raise typer.BadParameter("--plan needs --hours-per-week and --weeks")
    if not plan and (hours_per_week is not None or weeks is not None):
        raise typer.BadParameter("--hours-per-week and --weeks apply to --plan only")
    if engine not in ("local", "spark"):
        raise typer.BadParameter(f"--engine {engine!r}: choose 'local' or 'spark'")
    if engine == "spark" and (plan or with_store or learners is not None):
        raise typer.BadParameter("--engine spark writes every learner's delivery list from "
                                 "the bundle: without --plan, --with-store and --learners")
    moment = to_timestamp("--as-of", as_of)
    learner_ids = read_learner_ids(learners) if learners is not None else None
    settings = settings_from(workdir=workdir, tracking_uri=tracking_uri)
    with err.status("loading the model"):
        if bundle is not None:
            loaded = load_bundle(bundle)
        else:
            use_registry(resolve_tracking(settings).uri)
            loaded = load_registered_bundle(model_uri(model or ""))
    if engine == "spark":
        _deliver_on_spark(loaded, out_path, k, chunk_size, moment, spark_master,
                          settings.index_factory, settings.list_policy())
        return
    store = Store.from_url(settings.resolved_database_url()) if with_store else None
    if store is not None:
        store.create_schema()
    try:
        with RichProgress(err) as progress:
            if plan:
                stats = export_delivery_plans(
                    loaded, out_path, hours_per_week=hours_per_week or 0.0, weeks=weeks or 0,
                    chunk_size=chunk_size or 2_000, index_factory=settings.index_factory,
                    now=moment, progress=progress, store=store,
                    credit_required_default=settings.credit_hours_required_default,
                    learner_ids=learner_ids,
                    profile_prior_events=settings.profile_prior_events)
            else:
                stats = export_delivery_lists(
                    loaded, out_path, k=k, chunk_size=chunk_size or 10_000,
                    index_factory=settings.index_factory, now=moment, progress=progress,
                    store=store, learner_ids=learner_ids,
                    profile_prior_events=settings.profile_prior_events,
                    policy=settings.list_policy())
    finally:
        if store is not None:
            store.dispose()
    out.print(f"wrote {stats.rows} rows for {stats.learners} learners to {stats.path} "
              f"({stats.rows_per_second:,.0f} rows/s, bundle {loaded.version})")


def _deliver_on_spark(loaded: Bundle, out_path: Path, k: int, chunk_size: int | None,
                      moment: pd.Timestamp | None, master: str, index_factory: str,
                      policy: ListPolicy) -> None:
    """The lists as a Parquet directory written by Spark (same rows as the local export)."""
    from recommender.spec.engine import SparkEngine
    from training.spark_jobs import export_lists_on_spark

    with err.status(f"delivering on Spark {master}"):
        stats = export_lists_on_spark(
            loaded, out_path, SparkEngine(kind="spark", master=master), k=k, now=moment,
            index_factory=index_factory, learners_per_task=chunk_size or 10_000, policy=policy)
    out.print(f"wrote {stats.rows} rows for {stats.learners} learners to {stats.path} "
              f"({stats.tasks} Spark tasks, bundle {loaded.version})")
