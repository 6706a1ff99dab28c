"""A SparkSession for an ``[engine] kind = "spark"`` section."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from recommender.errors import ConfigError
from recommender.spec.engine import SparkEngine

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL_HINT = "pip install 'lifelong-recommender[spark]' (and Java 17)"
# Set by spark-submit for the Python driver it starts (the JVM it launched is already running).
SUBMITTED = "PYSPARK_GATEWAY_PORT"


def spark_session(engine: SparkEngine) -> SparkSession:
    """The session on ``engine.master`` with the section's settings: the active one when it
    runs on the same master (a test's shared session, a ``spark-submit`` job), else a new one.

    An active session on another master is an error, never silently used instead.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            f"[engine] kind 'spark' needs PySpark, which is not installed: {INSTALL_HINT}"
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        master = active.sparkContext.master
        if master != engine.master:
            raise ConfigError(
                f"[engine] key 'master': {engine.master!r}, but this process already runs a "
                f"Spark session on {master!r}; one process has one Spark master")
        return active
    settings = engine.spark_conf()
    # PySpark starts its Python workers with PYSPARK_PYTHON (default: whatever python3 is
    # first on PATH, often without this project's packages).
    os.environ.setdefault("PYSPARK_PYTHON", settings["spark.pyspark.python"])
    if os.environ.get(SUBMITTED):
        return _submitted_session(SparkSession, engine, settings)
    builder = SparkSession.builder.master(engine.master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _submitted_session(session_class: type[SparkSession], engine: SparkEngine,
                       settings: dict[str, str]) -> SparkSession:
    """Under ``spark-submit`` the master is the one it was given (its ``--master``), not
    overridden by the config: the session is built without one and a config naming another
    master is refused, naming both."""
    builder = session_class.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    master = session.sparkContext.master
    if master != engine.master:
        session.stop()
        raise ConfigError(
            f"[engine] key 'master': {engine.master!r}, but spark-submit runs this job on "
            f"{master!r}; name the same master in both (spark-submit --master and [engine])")
    return session
