"""Property-based fuzz of the OpenAPI schema (schemathesis): whatever a client sends, with a
key, a wrong key or none, the API never answers 5xx.

One app instance (lifespan started once) on a temporary SQLite file; bounded examples per
operation keep the run well under a minute.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("schemathesis",
                    reason="schemathesis is a dev dependency: pip install -e '.[dev]'")

import schemathesis  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.python import asgi  # noqa: E402

from recommender.bundle import save_bundle  # noqa: E402
from recommender.data import validate_dataset  # noqa: E402
from recommender.serving.app import create_app  # noqa: E402
from recommender.serving.bundle_source import BundleSource  # noqa: E402
from recommender.serving.runtime import ServingOptions  # noqa: E402
from serving_world import ADMIN_KEY, API_KEY, make_bundle, world_tables  # noqa: E402



def _app(tmp_dir):
    bundle = make_bundle(validate_dataset(*world_tables()), "als-fuzz")
    path = save_bundle(bundle, tmp_dir / "bundle")
    options = ServingOptions(database_url=f"sqlite:///{tmp_dir / 'fuzz.db'}",
                             api_keys=(API_KEY,), admin_keys=(ADMIN_KEY,))
    return create_app(options=options, source=BundleSource(path=path))


_TMP = Path(tempfile.mkdtemp(prefix="fuzz-"))
APP = _app(_TMP)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def session():
    with asgi.get_client(APP) as client:  # one lifespan for every example
        yield client


KEYS = itertools.cycle([API_KEY, API_KEY, ADMIN_KEY, None, "wrong-key"])


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_produces_a_server_error(case, session):
    key = next(KEYS)  # mostly valid keys (to reach the handlers), sometimes none or wrong
    headers = {"X-API-Key": key} if key else {}
    response = case.call(session=session, headers=headers)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
