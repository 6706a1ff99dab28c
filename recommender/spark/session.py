"""A SparkSession for an ``[engine] kind = "spark"`` section."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from recommender.errors import ConfigError
from recommender.spec.engine import SparkEngine

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL_HINT = "pip install 'lifelong-recommender[spark]' (and Java 17)"


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
    builder = SparkSession.builder.master(engine.master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
