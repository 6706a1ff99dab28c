"""A small served world for the API tests: a catalog with every attribute a filter can use,
learners in two taste groups, an ALS bundle in format 2 (model state and cold start), and app
factories that share one SQLite file the way several workers do.

Catalog (36 resources, r00..r35): three topics by ``i % 3`` (digital literacy, farming, health);
r00..r23 online, r24..r29 offline (r24..r26 in R1, r27..r29 in R2), r30..r31 blended in R3;
r32 closed since 2020, r33 opens only in 2100, r34..r35 online in English. Languages zh except
r34/r35; captions on even i, large_print on i % 3 == 0; duration 20 + 10 * i minutes; level by
``i % 3`` (beginner, intermediate, advanced); provider type community_school on even i, else
open_university. Regions R1-R2 are adjacent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recommender.bundle import Bundle, save_bundle
from recommender.data import Dataset, validate_dataset
from recommender.serving.app import create_app
from recommender.serving.bundle_source import BundleSource
from recommender.serving.runtime import ServingOptions
from serving_world import ADMIN_KEY, API_KEY, make_bundle, world_tables


@pytest.fixture(scope="session")
def world() -> Dataset:
    return validate_dataset(*world_tables())


@pytest.fixture(scope="session")
def served_bundle(world: Dataset) -> Bundle:
    return make_bundle(world, "als-serving-1")


@pytest.fixture(scope="session")
def bundle_dir(served_bundle: Bundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_bundle(served_bundle, tmp_path_factory.mktemp("served") / "bundle")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'serving.db'}"


@pytest.fixture
def make_client(database_url: str, bundle_dir: Path) -> Callable[..., Iterator[TestClient]]:
    """``with make_client() as client:`` an app on the shared database (a new 'worker' per
    call); keyword ``source=`` a bundle directory, ``url=`` another database."""

    @contextmanager
    def factory(source: Path | None = None, url: str | None = None,
                **option_overrides: object) -> Iterator[TestClient]:
        options = ServingOptions(database_url=url or database_url, api_keys=(API_KEY,),
                                 admin_keys=(ADMIN_KEY,), poll_seconds=0.0,
                                 **option_overrides)  # type: ignore[arg-type]
        app = create_app(options=options, source=BundleSource(path=source or bundle_dir))
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client

    return factory


@pytest.fixture
def client(make_client) -> Iterator[TestClient]:
    with make_client() as test_client:
        yield test_client


@pytest.fixture
def log_text(caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    """Everything logged at DEBUG and above during the test, as one string."""
    caplog.set_level(logging.DEBUG)
    return lambda: "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records
                              if not r.name.startswith("httpx"))  # the test client's own log
