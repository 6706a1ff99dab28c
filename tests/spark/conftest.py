"""Fixtures for the Spark tests: one local Spark session for the whole run (a JVM start costs
seconds), a tiny sample world, and one Spark-trained run shared by the bundle and delivery
tests. Every test module here is marked ``spark``; ``pytest -m 'not spark'`` skips them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.data import Dataset
from recommender.data.sample_world import generate_world
from recommender.spark import spark_session
from recommender.spec import SparkEngine
from spark_world import TINY, spark_config
from training.pipeline import TrainResult, train
from training.tracking import Tracking


@pytest.fixture(scope="session")
def spark_engine() -> SparkEngine:
    engine = spark_config().engine
    assert isinstance(engine, SparkEngine)
    return engine


@pytest.fixture(scope="session")
def spark(spark_engine: SparkEngine) -> Iterator[object]:
    session = spark_session(spark_engine)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def tiny_world() -> Dataset:
    return generate_world(TINY["n_learners"], TINY["n_resources"], 0,
                          events_per_learner=TINY["events_per_learner"], as_of=TINY["as_of"])


@pytest.fixture(scope="session")
def spark_run(spark, tiny_world: Dataset, empty_store: Path,
              tmp_path_factory: pytest.TempPathFactory) -> tuple[Tracking, TrainResult]:
    """One tracked, registered Spark training run of the tiny world (no hold-out)."""
    root = tmp_path_factory.mktemp("spark-run")
    shutil.copy(empty_store, root / "mlflow.db")
    tracking = Tracking(uri=f"sqlite:///{root / 'mlflow.db'}", artifact_root=root / "artifacts")
    result = train(spark_config(), tiny_world, tracking, bundle_root=root / "bundles")
    return tracking, result


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite file with its tables created (copied per run)."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path
