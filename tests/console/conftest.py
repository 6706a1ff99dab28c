"""The console over the API tests' small served world (tests/serving/serving_world.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parents[1] / "serving"))

from serving_world import ADMIN_KEY, API_KEY, make_bundle, world_tables  # noqa: E402

from recommender.bundle import Bundle, save_bundle  # noqa: E402
from recommender.data import Dataset, validate_dataset  # noqa: E402
from recommender.serving.app import create_app  # noqa: E402
from recommender.serving.bundle_source import BundleSource  # noqa: E402
from recommender.serving.console import ConsoleOptions  # noqa: E402
from recommender.serving.runtime import ServingOptions  # noqa: E402

OPERATOR_KEY = "operator-key-5555555555"
SECRET = "console-test-secret"


@pytest.fixture(scope="session")
def console_world() -> Dataset:
    return validate_dataset(*world_tables())


@pytest.fixture(scope="session")
def console_bundle(console_world: Dataset) -> Bundle:
    return make_bundle(console_world, "als-console-1")


@pytest.fixture(scope="session")
def console_bundle_dir(console_bundle: Bundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_bundle(console_bundle, tmp_path_factory.mktemp("console") / "bundle")


def console_app(bundle_dir: Path, database_url: str, **console: object):
    options = ServingOptions(database_url=database_url, api_keys=(API_KEY,),
                             admin_keys=(ADMIN_KEY,), poll_seconds=0.0)
    settings = {"operator_keys": (OPERATOR_KEY,), "secret": SECRET, **console}
    return create_app(options=options, source=BundleSource(path=bundle_dir),
                      console=ConsoleOptions(**settings))  # type: ignore[arg-type]


@pytest.fixture
def console_client(console_bundle_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    app = console_app(console_bundle_dir, f"sqlite:///{tmp_path / 'serving.db'}")
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def log_in(client: TestClient, key: str = ADMIN_KEY) -> str:
    """Log in; returns the session's CSRF token (read from a page's logout form)."""
    answer = client.post("/console/login", data={"key": key})
    assert answer.status_code == 303, answer.text
    page = client.get("/console/learners")
    assert page.status_code == 200
    marker = 'name="csrf" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start: page.text.index('"', start)]
