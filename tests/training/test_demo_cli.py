"""``recommender demo`` and ``recommender serve`` refuse to start rather than fail late or serve
nothing: a busy port before the training run (and again when listening), a bundle that cannot
be loaded unless told to wait; the demo's app asks for its generated key and keeps events in a
SQLite file under the work directory."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from recommender.errors import ConfigError
from recommender.settings import Settings
from recommender.store import Store
from serving.serving_world import make_bundle, world_tables
from training.cli import app
from training.commands.serve import demo_app, reserve_port, start_listening


@pytest.fixture(scope="module")
def bundle():  # noqa: ANN201 - a small trained bundle
    from recommender.data import validate_dataset

    return make_bundle(validate_dataset(*world_tables()), "als-demo-test")


@pytest.fixture
def busy_port():  # noqa: ANN201 - a port another program listens on
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    yield holder.getsockname()[1]
    holder.close()


# --------------------------------------------------------------------------- demo: the port


@pytest.mark.usefixtures("bare_environment")
def test_demo_on_a_busy_port_exits_before_training_naming_the_option(
    tmp_path: Path, busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import training.pipeline

    def no_training(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the training run started although the port is busy")

    monkeypatch.setattr(training.pipeline, "train", no_training)
    result = CliRunner().invoke(app, ["demo", "--workdir", str(tmp_path / "work"),
                                      "--port", str(busy_port)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), f"a traceback: {result.exception!r}"
    assert f"127.0.0.1:{busy_port}" in result.output and "--port" in result.output
    assert not (tmp_path / "work" / "sample_world").exists()  # stopped before generating


def test_a_port_taken_between_the_check_and_listening_is_the_same_message() -> None:
    first = reserve_port("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = reserve_port("127.0.0.1", port)  # both reserved, neither listening yet: allowed
    try:
        start_listening(first, "127.0.0.1", port)
        with pytest.raises(ConfigError, match="--port"):
            start_listening(second, "127.0.0.1", port)
    finally:
        first.close()
        second.close()


def test_a_reserved_port_refuses_connections_until_it_listens() -> None:
    """During the training run nobody can take the port, and a client is refused at once
    rather than left hanging in a backlog."""
    sock = reserve_port("127.0.0.1", 0)
    port = sock.getsockname()[1]
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        start_listening(sock, "127.0.0.1", port)
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        sock.close()


# --------------------------------------------------------------------------- demo: the app


def test_demo_app_requires_its_key_and_keeps_events_in_sqlite_under_the_workdir(
    tmp_path: Path, bundle
) -> None:
    settings = Settings(workdir=tmp_path / "work", _env_file=None)
    settings.workdir.mkdir()
    learner = str(bundle.learner_map.ids[0])
    resource = str(bundle.resource_map.ids[0])
    event = {"event_id": "demo-e1", "learner_id": learner, "resource_id": resource,
             "event_type": "view", "timestamp": "2025-01-15T10:00:00Z"}
    with TestClient(demo_app(bundle, settings, "platform-key", "admin-key")) as client:
        path = f"/v1/learners/{learner}/recommendations?k=3"
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
        assert client.post("/v1/events", json=event).status_code == 401
        answered = client.get(path, headers={"X-API-Key": "platform-key"})
        assert answered.status_code == 200 and len(answered.json()["items"]) == 3
        stored = client.post("/v1/events", json=event, headers={"X-API-Key": "platform-key"})
        assert stored.status_code == 201, stored.text
        assert client.post("/v1/admin/reload",
                           headers={"X-API-Key": "platform-key"}).status_code == 403
    # Durable: the file under the work directory holds it after the app is gone.
    store = Store.from_url(f"sqlite:///{settings.workdir / 'serving.db'}")
    try:
        assert store.get_event("demo-e1") is not None
    finally:
        store.dispose()


def test_the_demos_console_takes_the_admin_key_and_not_the_platform_key(
    tmp_path: Path, bundle
) -> None:
    settings = Settings(workdir=tmp_path / "work", _env_file=None)
    settings.workdir.mkdir()
    app = demo_app(bundle, settings, "platform-key", "admin-key",
                   tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/console").status_code == 303
        assert client.post("/console/login", data={"key": "platform-key"}).status_code == 401
        assert client.post("/console/login", data={"key": "admin-key"}).status_code == 303
        assert client.get("/console?lang=zh").status_code == 200


# --------------------------------------------------------------------------- serve: the bundle


@pytest.mark.usefixtures("bare_environment")
def test_serve_with_a_missing_bundle_exits_naming_the_path_and_the_flag(
    tmp_path: Path, uvicorn_calls
) -> None:
    os.environ["RECOMMENDER_API_KEYS"] = "key-one"
    typo = tmp_path / "bundel"
    result = CliRunner().invoke(app, ["serve", "--bundle", str(typo)])
    assert result.exit_code == 1 and uvicorn_calls == []
    assert isinstance(result.exception, SystemExit), f"a traceback: {result.exception!r}"
    flat = " ".join(result.output.split())
    assert "bundel" in flat  # the path as given (rich may wrap it, never drops it)
    assert "--bundle" in flat and "--wait-for-bundle" in flat


@pytest.mark.usefixtures("bare_environment")
def test_serve_with_an_unreadable_bundle_exits(tmp_path: Path, uvicorn_calls) -> None:
    os.environ["RECOMMENDER_API_KEYS"] = "key-one"
    broken = tmp_path / "bundle"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    result = CliRunner().invoke(app, ["serve", "--bundle", str(broken)])
    assert result.exit_code == 1 and uvicorn_calls == []
    assert "--wait-for-bundle" in " ".join(result.output.split())


@pytest.mark.usefixtures("bare_environment")
def test_serve_without_any_bundle_configured_names_the_setting(uvicorn_calls) -> None:
    os.environ["RECOMMENDER_API_KEYS"] = "key-one"
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1 and uvicorn_calls == []
    assert "RECOMMENDER_BUNDLE_PATH" in " ".join(result.output.split())


@pytest.mark.usefixtures("bare_environment")
def test_serve_waits_for_a_bundle_when_told(tmp_path: Path, uvicorn_calls) -> None:
    os.environ["RECOMMENDER_API_KEYS"] = "key-one"
    result = CliRunner().invoke(app, ["serve", "--bundle", str(tmp_path / "later"),
                                      "--wait-for-bundle"])
    assert result.exit_code == 0, result.output
    assert len(uvicorn_calls) == 1


@pytest.mark.usefixtures("bare_environment")
def test_serve_with_a_loadable_bundle_starts(tmp_path: Path, uvicorn_calls, bundle) -> None:
    from recommender.bundle import save_bundle

    os.environ["RECOMMENDER_API_KEYS"] = "key-one"
    path = save_bundle(bundle, tmp_path / "bundle")
    result = CliRunner().invoke(app, ["serve", "--bundle", str(path)])
    assert result.exit_code == 0, result.output
    assert len(uvicorn_calls) == 1


@pytest.mark.usefixtures("bare_environment")
def test_a_serve_worker_builds_the_settings_app(tmp_path: Path) -> None:
    """The factory every worker of ``recommender serve`` calls builds the app from the settings
    the entry point handed down."""
    import importlib

    from recommender.serving.server import FACTORY

    module, name = FACTORY.split(":")
    os.environ["RECOMMENDER_API_KEYS"] = "key-one"
    os.environ["RECOMMENDER_WORKDIR"] = str(tmp_path)
    application = getattr(importlib.import_module(module), name)()
    assert "/v1/events" in application.openapi()["paths"]
    assert application.state.metrics_dir is None  # not under serve: no multiprocess directory


# --------------------------------------------------------------------------- demo: what it shows


@pytest.mark.usefixtures("bare_environment")
def test_the_demos_lists_of_a_world_made_today_show_every_mode(tmp_path: Path) -> None:
    """The demo's world is dated today (the default), so its sample lists find a learner who
    gets online, offline and blended resources open now, in-person ones held near them."""
    from recommender.data.sample_world import generate_world
    from training.commands.serve import demo_lists, demo_table

    world = generate_world(n_learners=400, n_resources=200, seed=0)  # as of today, as the demo
    today_bundle = make_bundle(world, "als-demo-today")
    settings = Settings(workdir=tmp_path / "work", _env_file=None)
    settings.workdir.mkdir()
    regions = world.learners.set_index("learner_id")["region"]
    near = set(map(tuple, world.regions[["region", "neighbour"]].to_numpy().tolist()))
    headers = {"X-API-Key": "platform-key"}
    with TestClient(demo_app(today_bundle, settings, "platform-key", "admin-key")) as client:
        learner_id, lists = demo_lists(lambda url: client.get(url, headers=headers).json(),
                                       list(world.learners["learner_id"]))
    assert [url.split("mode=")[-1] for url, _ in lists[1:]] == ["online", "offline", "blended"]
    for url, body in lists[1:]:
        mode = url.split("mode=")[-1]
        assert body["items"] and all(item["mode"] == mode for item in body["items"])
        if mode != "online":  # held in the learner's region or next to it
            home = regions[learner_id]
            assert all(item["region"] == home or (home, item["region"]) in near
                       for item in body["items"])
        assert demo_table(url, body).row_count == len(body["items"])
