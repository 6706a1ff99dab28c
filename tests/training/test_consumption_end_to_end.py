"""A ratings-only and an enrolment-only table get no consumed resource back by default: through
``recommender train`` (hold-out and bundle), the API (bundle history and events posted since)
and ``recommender deliver``; and ``data validate`` / the training summary say what counts as
consumed when the data records no end."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from recommender.bundle import load_bundle
from recommender.data import load_directory
from recommender.serving.app import create_app
from recommender.serving.bundle_source import BundleSource
from recommender.serving.runtime import ServingOptions
from training import toml_writer
from training.cli import app
from training.config import load_config
from training.deliver import export_delivery_lists
from training.pipeline import train

LEARNERS = [f"u{i}" for i in range(8)]
RESOURCES = [f"r{i}" for i in range(10)]
# Each learner uses four resources; r0..r3 are everyone's favourites, so a popularity model
# would list them first to everyone if nothing were consumed.
USED = {learner: sorted({f"r{(i + j) % 4}" for j in range(2)} | {f"r{4 + (i + j) % 6}"
                                                                   for j in range(2)})
        for i, learner in enumerate(LEARNERS)}
API_KEY = "consumption-test-key-0123456789"


def _write_world(directory, event_type: str) -> None:
    rows = [(f"e{n}", learner, resource, event_type, f"2024-01-{day + 1:02d}T10:00:00Z")
            for n, (learner, resource, day) in enumerate(
                (learner, resource, day) for learner, used in USED.items()
                for day, resource in enumerate(used))]
    directory.mkdir()
    pd.DataFrame(rows, columns=["event_id", "learner_id", "resource_id", "event_type",
                                "timestamp"]).to_csv(directory / "events.csv", index=False)
    pd.DataFrame({"learner_id": LEARNERS, "group": "employee"}).to_csv(
        directory / "learners.csv", index=False)
    pd.DataFrame({"resource_id": RESOURCES, "title": [f"course {r}" for r in RESOURCES],
                  "category": "digital_literacy", "mode": "online", "language": "zh"}).to_csv(
        directory / "resources.csv", index=False)


@pytest.fixture(params=["rate", "enroll"])
def trained(request, tmp_path, tracking):
    event_type = request.param
    world = tmp_path / "world"
    _write_world(world, event_type)
    path = tmp_path / "config.toml"
    path.write_text(toml_writer.dumps({
        "seed": 0, "data": {"source": "directory", "path": str(world)},
        "split": {"kind": "leave_last_n", "n": 1},
        "model": {"name": "popularity"},
        "validation": {"k": [3], "metric": "ndcg_at_3", "min_group_size": 1},
        "tracking": {"experiment": "test", "registered_model": "test-model"},
    }))
    config = load_config(path)
    result = train(config, load_directory(world), tracking, bundle_root=tmp_path / "bundles")
    return event_type, result, tracking, path


def test_nothing_used_comes_back_through_train_bundle_api_and_deliver(trained, tmp_path):
    event_type, result, tracking, _ = trained
    bundle = load_bundle(result.bundle_path)
    assert event_type in bundle.consumption.consumed
    for learner, used in USED.items():
        row = bundle.exclusions[bundle.learner_map.index_of(learner)].indices
        assert sorted(bundle.resource_map.ids[row]) == used

    lists = pd.read_parquet(export_delivery_lists(bundle, tmp_path / "lists.parquet", k=10,
                                                  index_factory="Flat").path)
    for learner, used in USED.items():
        delivered = lists.loc[lists["learner_id"] == learner, "resource_id"].tolist()
        assert sorted(delivered) == sorted(set(RESOURCES) - set(used)), learner

    options = ServingOptions(database_url=f"sqlite:///{tmp_path / 'serving.db'}",
                             api_keys=(API_KEY,), poll_seconds=0.0)
    headers = {"X-API-Key": API_KEY}
    with TestClient(create_app(options=options,
                               source=BundleSource(path=result.bundle_path))) as client:
        def listed(learner: str) -> set[str]:
            answer = client.get(f"/v1/learners/{learner}/recommendations", params={"k": 10},
                                headers=headers)
            assert answer.status_code == 200, answer.text
            return {item["resource_id"] for item in answer.json()["items"]}

        assert listed("u0") == set(RESOURCES) - set(USED["u0"])
        fresh = sorted(set(RESOURCES) - set(USED["u0"]))[0]
        posted = client.post("/v1/events", headers=headers, json={
            "event_id": "new-1", "learner_id": "u0", "resource_id": fresh,
            "event_type": event_type, "timestamp": "2024-02-01T10:00:00Z"})
        assert posted.status_code in (200, 201, 202), posted.text
        assert listed("u0") == set(RESOURCES) - set(USED["u0"]) - {fresh}


def test_the_run_says_what_counts_as_consumed(trained):
    event_type, result, tracking, _ = trained
    params = MlflowClient(tracking.uri).get_run(result.run_id).data.params
    assert event_type in params["consumption.consumed"].split(",")
    if event_type == "enroll":  # no end recorded: consumed by the fallback, said loudly
        assert params["consumption.consumed_for_want_of_an_end"] == "enroll"
        (warning,) = result.warnings
        assert "records no end" in warning and "enroll" in warning
    else:  # rate is consumed as written
        assert params["consumption.consumed_for_want_of_an_end"] == "none"
        assert result.warnings == ()


def test_a_serving_setting_that_disagrees_with_the_bundle_is_refused(trained, tmp_path):
    _, result, _, _ = trained
    options = ServingOptions(database_url=f"sqlite:///{tmp_path / 'serving.db'}",
                             api_keys=(API_KEY,), poll_seconds=0.0,
                             consumed_event_types=("complete", "dismiss"))
    with TestClient(create_app(options=options,
                               source=BundleSource(path=result.bundle_path))) as client:
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert "RECOMMENDER_CONSUMED_EVENT_TYPES" in json.dumps(ready.json())


@pytest.mark.parametrize(("event_type", "warned"), [("enroll", True), ("rate", False),
                                                    ("view", True)])
def test_data_validate_warns_when_nothing_ends(tmp_path, event_type, warned):
    world = tmp_path / "world"
    _write_world(world, event_type)
    result = CliRunner().invoke(app, ["data", "validate", "--learners", str(world / "learners.csv"),
                                      "--resources", str(world / "resources.csv"),
                                      "--events", str(world / "events.csv")])
    assert result.exit_code == 0, result.output
    assert f"{event_type} 32" in result.output
    assert ("warning" in result.output) == warned
    if warned:  # the advice survives the console's markup
        assert "set [features] consumed / continuing" in " ".join(result.output.split()) \
            or "[features] consumed if" in " ".join(result.output.split())


def test_the_train_command_says_what_it_consumed_and_how_it_read_time(tmp_path, empty_store):
    """``recommender train`` on an enrolment-only log with ordinal time: the console says
    both, and the run logs them."""
    import shutil

    world = tmp_path / "world"
    _write_world(world, "enroll")
    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copy(empty_store, workdir / "mlflow.db")
    path = tmp_path / "config.toml"
    path.write_text(toml_writer.dumps({
        "seed": 0, "data": {"source": "directory", "path": str(world)},
        "split": {"kind": "leave_last_n", "n": 1}, "features": {"time": "ordinal"},
        "model": {"name": "sequence"},
        "validation": {"k": [3], "metric": "ndcg_at_3", "min_group_size": 1},
        "tracking": {"experiment": "test", "registered_model": "test-model"},
    }))
    result = CliRunner().invoke(app, ["train", "--config", str(path), "--workdir", str(workdir),
                                      "--out", str(tmp_path / "bundle")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # the console wraps long lines
    assert "time: ordinal" in text and "warning: the data records no end" in text
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    (run,) = MlflowClient(uri).search_runs(
        [MlflowClient(uri).get_experiment_by_name("test").experiment_id])
    assert run.data.params["features.time"] == "ordinal"
    assert run.data.params["consumption.consumed_for_want_of_an_end"] == "enroll"
