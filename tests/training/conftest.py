"""Fixtures for training tests: a small sample world, configs, throwaway MLflow stores.

Creating an MLflow SQLite store runs its migrations (seconds), so one empty store is made per
session and copied for each test that needs its own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from recommender.data import Dataset
from recommender.data.sample_world import generate_world
from recommender.settings import Settings
from training import toml_writer
from training.config import TrainConfig, load_config
from training.tracking import Tracking

SMALL = {"source": "sample", "n_learners": 200, "n_resources": 60, "events_per_learner": 20.0,
         "as_of": "2024-12-31"}  # fixed dates: the tests judge availability at 2024 moments


def small_config_tree(**sections: dict[str, Any]) -> dict[str, Any]:
    """A fast config: the small sample world, a few ALS factors, small groups allowed."""
    tree: dict[str, Any] = {
        "seed": 0,
        "data": dict(SMALL),
        "model": {"name": "als", "factors": 8, "iterations": 5},
        "validation": {"k": [3, 10], "metric": "ndcg_at_10", "min_group_size": 3},
        "tracking": {"experiment": "test", "registered_model": "test-model"},
    }
    for name, values in sections.items():
        tree[name] = {**tree.get(name, {}), **values}
    return tree


@pytest.fixture
def config_tree() -> Callable[..., dict[str, Any]]:
    """:func:`small_config_tree`, for tests that edit the tree before writing it."""
    return small_config_tree


@pytest.fixture(scope="session")
def small_world() -> Dataset:
    return generate_world(SMALL["n_learners"], SMALL["n_resources"], 0,
                          events_per_learner=SMALL["events_per_learner"], as_of=SMALL["as_of"])


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite file with its tables created, never written to after that."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def tracking(empty_store: Path, tmp_path: Path) -> Tracking:
    """A fresh MLflow store (tracking and registry) for one test."""
    store = tmp_path / "work" / "mlflow.db"
    store.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(empty_store, store)
    return Tracking(uri=f"sqlite:///{store}", artifact_root=tmp_path / "work" / "mlartifacts")


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a small config (sections override the defaults) and return its path."""

    def write(name: str = "config.toml", tree: dict[str, Any] | None = None,
              **sections: dict[str, Any]) -> Path:
        path = tmp_path / name
        path.write_text(toml_writer.dumps(tree or small_config_tree(**sections)))
        return path

    return write


@pytest.fixture
def small_config(write_config: Callable[..., Path]) -> TrainConfig:
    return load_config(write_config())


@pytest.fixture
def bare_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """No RECOMMENDER_* variables and no .env; whatever a command exports is undone after."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("RECOMMENDER_") or name == "PROMETHEUS_MULTIPROC_DIR":
            del os.environ[name]
    monkeypatch.chdir(tmp_path)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """uvicorn.run replaced: records its arguments and what a worker would see, binds nothing."""
    import uvicorn

    calls: list[dict] = []

    def fake_run(app_path: str, **kwargs) -> None:
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        calls.append({"app": app_path, **kwargs, "worker_settings": Settings(),
                      "metrics_dir": metrics_dir,
                      "metrics_dir_exists": bool(metrics_dir) and Path(metrics_dir).is_dir()})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls
