"""Which bundle a (re)started or following worker serves: the last accepted one, recorded in the
store with its checksum; a refused bundle, or one that merely appeared at the source, never
becomes active later (issue 16: a restarted worker used to load whatever the path held)."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from fastapi.testclient import TestClient

from recommender.bundle import load_bundle, save_bundle
from recommender.serving.app import create_app
from recommender.serving.bundle_source import BundleSource
from recommender.serving.runtime import BUNDLE_STATE_KEY, ServingOptions
from recommender.store import Store
from serving_world import ADMIN, ADMIN_KEY, API_KEY, KEY, make_bundle


def _version(client) -> str | None:
    return client.get("/health").json()["bundle_version"]


def _record(database_url: str) -> dict:
    store = Store.from_url(database_url)
    try:
        state = store.get_state(BUNDLE_STATE_KEY)
    finally:
        store.dispose()
    assert state is not None
    return state[0]


def test_a_restarted_worker_serves_the_accepted_bundle_never_a_refused_one(
        make_client, world, tmp_path, bundle_dir, database_url):
    source = tmp_path / "live"
    shutil.copytree(bundle_dir, source)
    with make_client(source=source) as worker_a:
        assert _version(worker_a) == "als-serving-1"  # a fresh store: accepted at start
        first = _record(database_url)
        assert first["version"] == "als-serving-1" and first["origin"] == str(source)
        assert first["checksum"] == load_bundle(source).checksum

        save_bundle(make_bundle(world, "als-serving-2", seed=1), source)
        assert worker_a.post("/v1/admin/reload", headers=ADMIN).status_code == 200
        accepted = _record(database_url)
        assert accepted["version"] == "als-serving-2" and accepted["checksum"] != first["checksum"]
        kept = shutil.copytree(source, tmp_path / "kept")  # the accepted bundle, set aside

        # A bad day: the directory is replaced by a tampered bundle (the version edited in
        # its manifest); the reload is refused and worker A keeps serving.
        manifest = json.loads((source / "manifest.json").read_text())
        manifest["version"] = "als-evil"
        (source / "manifest.json").write_text(json.dumps(manifest))
        refused = worker_a.post("/v1/admin/reload", headers=ADMIN)
        assert refused.status_code == 503 and "manifest.json does not match" in refused.json()[
            "detail"]
        assert _version(worker_a) == "als-serving-2"
        assert _record(database_url) == accepted  # a refusal is not recorded

        # Worker B (re)starts: the accepted bundle cannot be had from the path any more, so
        # it is not ready and says why; it never serves the refused bundle.
        with make_client(source=source) as worker_b:
            ready = worker_b.get("/ready")
            assert ready.status_code == 503
            detail = ready.json()["detail"]
            assert "the accepted bundle 'als-serving-2' cannot be loaded" in detail
            assert "manifest.json does not match" in detail
            listed = worker_b.get("/v1/learners/d0/recommendations", headers=KEY)
            assert listed.status_code == 503 and _version(worker_b) is None

        # The path now holds a valid bundle nobody accepted: still not served after a restart.
        save_bundle(make_bundle(world, "als-serving-3", seed=2), source)
        with make_client(source=source) as worker_c:
            detail = worker_c.get("/ready").json()["detail"]
            assert "holds bundle 'als-serving-3'" in detail
            assert "not the accepted bundle 'als-serving-2'" in detail
            assert "POST /v1/admin/reload" in detail and _version(worker_c) is None

        # The accepted bundle is back at the path: a restarted worker serves exactly it.
        shutil.rmtree(source)
        shutil.copytree(kept, source)
        with make_client(source=source) as worker_d:
            assert worker_d.get("/ready").json()["ready"] is True
            listing = worker_d.get("/v1/learners/d0/recommendations", headers=KEY).json()
            assert listing["model_version"] == "als-serving-2"
        assert _version(worker_a) == "als-serving-2"


def test_a_not_ready_worker_follows_once_a_bundle_is_accepted(make_client, world, tmp_path,
                                                              bundle_dir):
    source = tmp_path / "live"
    shutil.copytree(bundle_dir, source)
    with make_client(source=source) as worker_a:
        save_bundle(make_bundle(world, "als-serving-2", seed=1), source)  # not accepted yet
        with make_client(source=source) as worker_b:
            assert worker_b.get("/ready").status_code == 503
            assert worker_a.post("/v1/admin/reload", headers=ADMIN).status_code == 200
            deadline = time.monotonic() + 10
            while worker_b.get("/ready").status_code != 200:  # /ready polls the store too
                assert time.monotonic() < deadline, "worker b never followed the reload"
                time.sleep(0.05)
            assert _version(worker_b) == "als-serving-2"


def test_a_follower_serves_only_the_accepted_checksum(make_client, world, tmp_path, bundle_dir):
    """Worker A accepts bundle 2; before worker B follows, the path changes again: B keeps
    what it serves rather than take the unaccepted content."""
    source = tmp_path / "live"
    shutil.copytree(bundle_dir, source)
    with make_client(source=source) as worker_a, make_client(source=source) as worker_b:
        save_bundle(make_bundle(world, "als-serving-2", seed=1), source)
        assert worker_a.post("/v1/admin/reload", headers=ADMIN).status_code == 200
        save_bundle(make_bundle(world, "als-serving-3", seed=2), source)
        runtime = worker_b.app.state.runtime  # /health does not poll: B has not followed yet
        runtime._poll()
        runtime._background.join(timeout=30)
        assert _version(worker_b) == "als-serving-1"
        assert runtime._generation == 2  # the record was seen, not retried on every request


def test_a_registered_alias_is_pinned_to_the_accepted_version(bundle_dir, world, tmp_path,
                                                              database_url):
    """An alias can move on to a broken (or any unaccepted) version; a restarted worker loads
    the version the alias pointed at when it was accepted."""
    mlflow = pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("serving", artifact_location=str(tmp_path / "art"))
    client = MlflowClient(uri, registry_uri=uri)
    client.create_registered_model("recs")

    def register(directory) -> str:
        with mlflow.start_run(experiment_id=experiment) as run:
            mlflow.log_artifacts(str(directory), artifact_path="bundle")
        return client.create_model_version(
            "recs", source=f"{run.info.artifact_uri}/bundle", run_id=run.info.run_id).version

    first = register(bundle_dir)
    broken = shutil.copytree(bundle_dir, tmp_path / "broken")
    (broken / "vectors.npz").write_bytes(b"garbage")
    bad = register(broken)
    other = register(save_bundle(make_bundle(world, "als-serving-3", seed=2),
                                 tmp_path / "other"))
    client.set_registered_model_alias("recs", "production", first)
    source = BundleSource(registered_model="recs", alias="production", tracking_uri=uri)
    options = ServingOptions(database_url=database_url, api_keys=(API_KEY,),
                             admin_keys=(ADMIN_KEY,), poll_seconds=0.0)

    def worker() -> TestClient:
        return TestClient(create_app(options=options, source=source),
                          raise_server_exceptions=False)

    with worker() as worker_a:
        assert worker_a.post("/v1/admin/reload", headers=ADMIN).status_code == 200
        assert _record(database_url)["origin"] == f"models:/recs/{first}"
        client.set_registered_model_alias("recs", "production", bad)
        refused = worker_a.post("/v1/admin/reload", headers=ADMIN)
        assert refused.status_code == 503 and f"models:/recs/{bad}" in refused.json()["detail"]
    for moved_to in (bad, other):  # a refused version, then one never offered
        client.set_registered_model_alias("recs", "production", moved_to)
        with worker() as restarted:
            assert restarted.get("/ready").json()["ready"] is True
            assert _version(restarted) == "als-serving-1"
