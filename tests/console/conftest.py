"""The console over the API tests' small served world (tests/serving/serving_world.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from console_world import console_app
from recommender.bundle import Bundle, save_bundle
from recommender.data import Dataset, validate_dataset
from serving_world import make_bundle, world_tables


@pytest.fixture(scope="session")
def console_world() -> Dataset:
    return validate_dataset(*world_tables())


@pytest.fixture(scope="session")
def console_bundle(console_world: Dataset) -> Bundle:
    return make_bundle(console_world, "als-console-1")


@pytest.fixture(scope="session")
def console_bundle_dir(console_bundle: Bundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_bundle(console_bundle, tmp_path_factory.mktemp("console") / "bundle")


@pytest.fixture
def console_client(console_bundle_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    app = console_app(console_bundle_dir, f"sqlite:///{tmp_path / 'serving.db'}")
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client
