"""``recommender serve`` and ``recommender demo``: the HTTP API, alone or end to end.

Both refuse to start rather than serve nothing: ``serve`` checks its bundle loads before any
worker starts (``--wait-for-bundle`` starts anyway, for a bundle an admin reload brings later);
``demo`` reserves its port before the training run, so a busy port costs seconds, not a run.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from recommender.errors import BundleError, ConfigError
from training.commands.common import err, fails_cleanly, out, resolve_tracking, settings_from

if TYPE_CHECKING:
    from fastapi import FastAPI

    from recommender.bundle import Bundle
    from recommender.serving.bundle_source import BundleSource
    from recommender.settings import Settings


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("demo")(demo_command)


@fails_cleanly
def serve_command(
    bundle: Annotated[Path | None, typer.Option(help="Bundle directory to serve")] = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind")] = None,
    wait_for_bundle: Annotated[bool, typer.Option(
        "--wait-for-bundle",
        help="Start even if the bundle cannot be loaded now: /ready says why and lists get 503 "
        "until POST /v1/admin/reload loads one")] = False,
) -> None:
    """Start the production HTTP API (uvicorn, RECOMMENDER_WORKERS processes) from the settings."""
    from recommender.serving.app import options_from_settings
    from recommender.serving.server import serve

    settings = settings_from(bundle_path=bundle, host=host, port=port)
    _, source = options_from_settings(settings)  # refuses a server without keys first
    if not wait_for_bundle:
        check_bundle_source(source)
    serve(settings)


def check_bundle_source(source: BundleSource) -> None:
    """Load the configured bundle once (and drop it) so a typo'd or broken one stops the
    command here, naming what to fix, instead of starting workers that answer 503."""
    if not source.configured:
        raise ConfigError("no bundle to serve: pass --bundle or set RECOMMENDER_BUNDLE_PATH "
                          "(or RECOMMENDER_REGISTERED_MODEL), or start anyway with "
                          "--wait-for-bundle")
    setting = ("RECOMMENDER_REGISTERED_MODEL" if source.registered_model is not None
               else "--bundle / RECOMMENDER_BUNDLE_PATH")
    try:
        source.load()
    except BundleError as exc:
        raise BundleError(f"cannot serve {source.describe()} ({setting}): {exc}; fix the "
                          "setting or start anyway with --wait-for-bundle") from None


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` but not yet listening (connections are refused until
    the API starts), so a busy port is reported before the training run and nobody can take
    it meanwhile."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ConfigError(f"cannot bind {host!r}: {exc.strerror}; choose another --host") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise _port_error(host, port, exc) from None
    return sock


def start_listening(sock: socket.socket, host: str, port: int) -> None:
    """Listen on the reserved socket (the bind's second check: listening can still clash)."""
    try:
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise _port_error(host, port, exc) from None


def _port_error(host: str, port: int, exc: OSError) -> ConfigError:
    return ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}): another program "
                       "may be using it; stop it or choose another port with --port")


DEMO_MODES = ("online", "offline", "blended")


def demo_lists(
    get: Callable[[str], dict], learner_ids: Sequence[str], k: int = 10, per_mode: int = 3,
    tries: int = 25,
) -> tuple[str, list[tuple[str, dict]]]:
    """The demo's sample lists, as ``(url, body)``: a learner's delivery list, then their best
    ``per_mode`` of each mode, for the first of ``learner_ids`` (at most ``tries``) whose
    lists show every mode (else the first learner's). ``get`` answers a URL's JSON body."""
    first: tuple[str, list[tuple[str, dict]]] | None = None
    for learner_id in learner_ids[:tries]:
        base = f"/v1/learners/{learner_id}/recommendations"
        urls = [f"{base}?k={k}"] + [f"{base}?k={per_mode}&mode={mode}" for mode in DEMO_MODES]
        lists = [(url, get(url)) for url in urls]
        if all(body.get("items") for _, body in lists):
            return learner_id, lists
        first = first or (learner_id, lists)
    if first is None:
        raise ValueError("no learner to show")
    return first


def demo_table(url: str, body: dict) -> Table:
    """One sample list as a console table (an empty list prints why)."""
    table = Table(title=f"GET {url}")
    for column in ("rank", "resource_id", "title", "mode", "region", "score", "reason"):
        table.add_column(column)
    for item in body.get("items", []):
        table.add_row(str(item["rank"]), item["resource_id"], item["title"], item["mode"] or "",
                      item["region"] or "", f"{item['score']:.3f}", item["reason"])
    if not body.get("items"):
        table.caption = body.get("empty_message") or body.get("detail") or ""
    return table


def demo_app(bundle: Bundle, settings: Settings, api_key: str, admin_key: str,
             *, tracking_uri: str | None = None,
             registered_model: str = "lifelong-recommender") -> FastAPI:
    """The demo's API: the freshly trained bundle, keys required, events kept durably in the
    settings' database (by default SQLite under the work directory, as ``serve`` keeps them);
    its operator console reads the run and the registry from ``tracking_uri``."""
    from recommender.serving.app import console_options_from_settings, create_app
    from recommender.serving.bundle_source import BundleSource
    from recommender.serving.runtime import ServingOptions

    options = ServingOptions(
        index_factory=settings.index_factory, index_params=settings.index_params,
        database_url=settings.resolved_database_url(), api_keys=(api_key,),
        admin_keys=(admin_key,), max_k=settings.max_k, default_k=settings.default_k,
        access_log=settings.access_log,
    )
    console = console_options_from_settings(settings)
    console = replace(console, tracking_uri=tracking_uri or console.tracking_uri,
                      registered_model=registered_model)
    return create_app(bundle=bundle, options=options,
                      source=BundleSource(path=settings.workdir / "bundle"), console=console)


@fails_cleanly
def demo_command(
    workdir: Annotated[Path, typer.Option(help="Where data, runs and the bundle go")] = Path("work"),
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    seed: Annotated[int, typer.Option(help="Seed for the sample world and the model")] = 0,
    as_of: Annotated[str | None, typer.Option(
        help="The sample world's last day (ISO 8601); default: today (UTC), so its courses, "
        "in-person ones included, are open now")] = None,
) -> None:
    """Generate the sample world, train (configs/sample.toml), serve with a generated API key,
    print a delivery list and the key."""
    import httpx
    import uvicorn

    from recommender.data import write_dataset
    from training.config import parse_config, read_config_file
    from training.data_source import load_dataset
    from training.defaults import DEFAULT_CONFIG
    from training.pipeline import train
    from training.progress import RichProgress

    settings = settings_from(workdir=workdir, host=host, port=port)
    sock = reserve_port(host, port)  # before the long run: a busy port fails in a second
    try:
        raw = read_config_file(DEFAULT_CONFIG)
        raw["seed"] = seed
        if as_of is not None:
            raw.setdefault("data", {})["as_of"] = as_of
        config = parse_config(raw, source=str(DEFAULT_CONFIG), base_dir=DEFAULT_CONFIG.parent)
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

        # Keys live only in this process and on the console: never in a file or a log line.
        api_key, admin_key = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        counts = world.events["learner_id"].value_counts()
        middle = len(counts) // 2  # learners of typical activity first
        candidates = [str(i) for i in [*counts.index[middle:], *counts.index[:middle]]]
        base_url = f"http://{host}:{port}"
        list_url = f"{base_url}/v1/learners/{candidates[0]}/recommendations?k=10"
        app = demo_app(result.bundle, settings, api_key, admin_key, tracking_uri=tracking.uri,
                       registered_model=config.tracking.registered_model)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))

        def show_sample_list() -> None:
            nonlocal list_url
            while not server.started:
                if server.should_exit:
                    return
                time.sleep(0.05)
            try:
                with httpx.Client(base_url=base_url, headers={"X-API-Key": api_key},
                                  timeout=10) as client:
                    _, lists = demo_lists(lambda url: client.get(url).json(), candidates)
                list_url = f"{base_url}{lists[0][0]}"
                for url, body in lists:  # the list, then the best of each mode
                    out.print(demo_table(url, body))
            finally:
                out.print(f"API running at {base_url} (docs: {base_url}/docs); every /v1 request "
                          "needs the header X-API-Key. Ctrl-C stops it.", highlight=False)
                out.print(f"API key:   {escape(api_key)}\nadmin key: {escape(admin_key)} "
                          "(for /v1/admin)", highlight=False)
                out.print(f"try: curl -H 'X-API-Key: {escape(api_key)}' '{escape(list_url)}'",
                          highlight=False)
                out.print(f"operator console: {base_url}/console (中文: {base_url}/console?lang=zh); "
                          "log in with the admin key above", highlight=False)
                where = (settings.workdir / "serving.db" if settings.database_url is None
                         else "the database RECOMMENDER_DATABASE_URL names")
                out.print(f"events are stored durably in {where}", highlight=False)

        start_listening(sock, host, port)
        threading.Thread(target=show_sample_list, daemon=True).start()
        server.run(sockets=[sock])
    finally:
        sock.close()
