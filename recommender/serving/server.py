"""``recommender serve``: the production server, uvicorn with several worker processes.

Each worker builds its own app through the factory :func:`create_worker_app` (the settings'
app, :func:`recommender.serving.app.create_app_from_settings`) from the same settings, which this
entry point hands down through ``RECOMMENDER_*`` variables (command-line overrides included).
It also turns on prometheus-client's multiprocess mode (one shared directory), so ``/metrics``
on any worker reports them all, and switches off uvicorn's access log (it would write query
strings: filters can say what a learner needs); the app writes its own, without them.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import sys

from fastapi import FastAPI

from recommender.serving.app import create_app_from_settings, options_from_settings
from recommender.settings import Settings

FACTORY = "recommender.serving.server:create_worker_app"
SWITCH_INTERVAL_S = 0.0005  # how often a worker's busy thread must hand over the GIL


def create_worker_app() -> FastAPI:
    """One worker's app (the uvicorn factory): the settings' app, with the GIL handed over
    every 0.5 ms instead of Python's 5. The event writer gives the GIL up for each SQLite
    call and the fsync, and with the event loop busy, taking it back cost up to 5 ms each
    time, inside the group's transaction that holds the database's write lock for every
    worker (a 4 ms commit took 13-15 ms under load, the same with 0.5 ms)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    return create_app_from_settings()


def settings_environment(settings: Settings) -> dict[str, str]:
    """The settings as ``RECOMMENDER_*`` variables (what every worker's load_settings() reads)."""
    prefix = settings.model_config.get("env_prefix", "RECOMMENDER_")
    out: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, tuple):  # keys
            value = ",".join(v.get_secret_value() for v in value)
        elif hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        out[f"{prefix}{name.upper()}"] = str(value)
    return out


def serve(settings: Settings) -> None:
    """Run the API until interrupted. Refuses to start without API keys (ConfigError)."""
    import uvicorn

    options_from_settings(settings)  # fail here, before any worker starts, if misconfigured
    metrics_dir = tempfile.mkdtemp(prefix="recommender-metrics-")
    os.environ.update(settings_environment(settings))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            FACTORY, factory=True, host=settings.host, port=settings.port,
            workers=settings.workers, log_level=settings.log_level, access_log=False,
            loop="auto", http="auto", timeout_graceful_shutdown=10,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
