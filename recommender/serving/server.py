"""``recommender serve``: the production server, uvicorn with several worker processes.

Each worker builds its own app through the factory
:func:`recommender.serving.app.create_app_from_settings` from the same settings, which this
entry point hands down through ``RECOMMENDER_*`` variables (command-line overrides included).
Workers keep Python's GIL switch interval (5 ms): a shorter one (0.5 ms) once shortened the
event writer's locked transactions of several SQLite calls, but since a group is one insert it
cost more in thread switches than it saved (one-event ingestion at 32 writers: 0.29-0.33 ms of
server CPU an event at 5 ms against 0.35-0.38 at 0.5 ms, p99 12-14 ms against 14-17 ms).
It also turns on prometheus-client's multiprocess mode (one shared directory), so ``/metrics``
on any worker reports them all, and switches off uvicorn's access log (it would write query
strings: filters can say what a learner needs); the app writes its own, without them.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from recommender.serving.app import options_from_settings
from recommender.settings import Settings

FACTORY = "recommender.serving.app:create_app_from_settings"


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
