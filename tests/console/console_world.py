"""Shared pieces of the console tests (a module, not the conftest: test modules import it)."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parents[1] / "serving"))

from serving_world import ADMIN_KEY, API_KEY  # noqa: E402

from recommender.serving.app import create_app  # noqa: E402
from recommender.serving.bundle_source import BundleSource  # noqa: E402
from recommender.serving.console import ConsoleOptions  # noqa: E402
from recommender.serving.runtime import ServingOptions  # noqa: E402

OPERATOR_KEY = "operator-key-5555555555"
SECRET = "console-test-secret"


def console_app(bundle_dir: Path, database_url: str, **console: object):
    options = ServingOptions(database_url=database_url, api_keys=(API_KEY,),
                             admin_keys=(ADMIN_KEY,), poll_seconds=0.0)
    settings = {"operator_keys": (OPERATOR_KEY,), "secret": SECRET, **console}
    return create_app(options=options, source=BundleSource(path=bundle_dir),
                      console=ConsoleOptions(**settings))  # type: ignore[arg-type]


def log_in(client: TestClient, key: str = ADMIN_KEY) -> str:
    """Log in; returns the session's CSRF token (read from a page's logout form)."""
    answer = client.post("/console/login", data={"key": key})
    assert answer.status_code == 303, answer.text
    page = client.get("/console/learners")
    assert page.status_code == 200
    marker = 'name="csrf" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start: page.text.index('"', start)]
