"""One delivery core behind every front end: the HTTP API, ``recommender deliver``, the MLflow
pyfunc model and experiment evaluation give identical lists for the same bundle, and the API
and the nightly export stay identical after events, resource upserts, withdrawals and
dismissals (including the PUT-then-dismiss case that once brought completed resources back)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from recommender.bundle import build_bundle, load_bundle, save_bundle
from recommender.data.sample_world import generate_world
from recommender.delivery.batch import core_for_fit, delivered_matrix
from recommender.delivery.core import ListRequest
from recommender.delivery.rerank import ListPolicy
from recommender.features.catalog import RequestFilters
from recommender.features import build_feature_set
from recommender.models import ALSModel
from recommender.serving.app import create_app
from recommender.serving.bundle_source import BundleSource
from recommender.serving.runtime import ServingOptions
from recommender.store import Store
from recommender.tracking import use_experiment
from training.cli import app as cli
from training.deliver import delivery_core
from training.pyfunc_model import log_pyfunc

KEY = "front-ends-key-0123456789"
K = 10
# Not the shipped defaults, so a front end that ignored the settings would give another list
POLICY = ListPolicy(equal_service=1.0, calibration=0.3)
POLICY_ENV = {"RECOMMENDER_EQUAL_SERVICE": "1.0", "RECOMMENDER_CALIBRATION": "0.3"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory, empty_store):
    """A world of 300 learners, an ALS fit, its bundle on disk, a serving database file, the
    pyfunc model logged to a local MLflow store, and the moment every front end judges at."""
    root = tmp_path_factory.mktemp("front_ends")
    now = pd.Timestamp(datetime.now(UTC)).floor("s")
    # A year of events ending ten days ago, so today falls inside the catalog's schedules
    start = (now - pd.Timedelta(days=300)).strftime("%Y-%m-%d")
    world = generate_world(n_learners=300, n_resources=120, seed=3, start=start, days=290)
    features = build_feature_set(world)
    model = ALSModel(factors=16, iterations=8, random_state=0).fit(features)
    bundle_dir = save_bundle(build_bundle(model, None, features, {"version": "front-ends"},
                                          regions=world.regions), root / "bundle")
    shutil.copy(empty_store, root / "mlflow.db")
    use_experiment(f"sqlite:///{root / 'mlflow.db'}", "front-ends", root / "artifacts")
    with mlflow.start_run():
        info = log_pyfunc(bundle_dir, policy=POLICY)
    pyfunc = mlflow.pyfunc.load_model(info.model_uri)
    database = f"sqlite:///{root / 'serving.db'}"
    options = ServingOptions(database_url=database, api_keys=(KEY,), poll_seconds=0.0,
                             list_policy=POLICY)
    api = TestClient(create_app(options=options, source=BundleSource(path=bundle_dir)),
                     raise_server_exceptions=True)
    return {"root": root, "world": world, "features": features, "model": model,
            "bundle_dir": bundle_dir, "pyfunc": pyfunc, "database": database, "api": api,
            "now": now}


def api_lists(client: TestClient, learner_ids, **params) -> dict[str, list[str]]:
    out = {}
    for learner_id in learner_ids:
        response = client.get(f"/v1/learners/{learner_id}/recommendations",
                              params={"k": K, **params}, headers={"X-API-Key": KEY})
        assert response.status_code == 200, response.text
        out[learner_id] = [item["resource_id"] for item in response.json()["items"]]
    return out


def export_lists(setup, name: str, with_store: bool) -> dict[str, list[str]]:
    out = setup["root"] / f"{name}.parquet"
    args = ["deliver", "--bundle", str(setup["bundle_dir"]), "--out", str(out), "--k", str(K),
            "--as-of", setup["now"].isoformat()]
    result = CliRunner().invoke(cli, args + (["--with-store"] if with_store else []),
                                env={"RECOMMENDER_DATABASE_URL": setup["database"], **POLICY_ENV})
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    frame = frame[frame["rank"].notna()]  # an empty list's one row says why, and lists nothing
    return {learner_id: rows.sort_values("rank")["resource_id"].tolist()
            for learner_id, rows in frame.groupby("learner_id", sort=False)}


def test_four_front_ends_give_identical_lists(setup) -> None:
    """With the same re-rank settings (here not the shipped ones), the API, the export, the
    pyfunc model and evaluation serve the same lists."""
    learner_ids = [str(i) for i in setup["world"].learners["learner_id"]]
    with setup["api"] as client:
        served = api_lists(client, learner_ids)
    exported = export_lists(setup, "plain", with_store=False)
    predicted = setup["pyfunc"].predict(pd.DataFrame({"learner_id": learner_ids}),
                                        params={"as_of": setup["now"].isoformat()})
    predicted = {learner_id: rows.sort_values("rank")["resource_id"].tolist()
                 for learner_id, rows in predicted.groupby("learner_id", sort=False)}
    core = core_for_fit(setup["model"], setup["features"], regions=setup["world"].regions)
    evaluated, _ = delivered_matrix(core, learner_ids,
                                    ListRequest.served(POLICY, k=K, now=setup["now"]))
    ids = setup["features"].resource_map.ids
    evaluated = {learner_id: ids[row[row >= 0]].tolist()
                 for learner_id, row in zip(learner_ids, evaluated)}
    empty = [learner_id for learner_id in learner_ids if not served[learner_id]]
    assert len(empty) < len(learner_ids) // 10  # the lists are real, not empty everywhere
    for learner_id in learner_ids:
        expected = served[learner_id]
        assert exported.get(learner_id, []) == expected, learner_id
        assert predicted.get(learner_id, []) == expected, learner_id
        assert evaluated[learner_id] == expected, learner_id


def test_api_and_nightly_export_agree_after_events_upserts_and_withdrawals(setup) -> None:
    """Events (dismissals, completions, views), bundle resources re-described and withdrawn
    through the API, new resources, then a dismissal of a re-described resource: the API and
    ``recommender deliver --with-store`` give the same lists, and nobody gets back what they
    completed or dismissed."""
    world = setup["world"]
    learner_ids = [str(i) for i in world.learners["learner_id"]]
    headers = {"X-API-Key": KEY}
    with setup["api"] as client:
        before = api_lists(client, learner_ids)
        top = pd.Series([ids[0] for ids in before.values() if ids]).value_counts()
        redescribed, withdrawn = list(top.index[:4]), list(top.index[4:7])
        resources = world.resources.set_index("resource_id")
        for resource_id in redescribed:
            row = resources.loc[resource_id]
            body = {"title": f"{row['title']} (新版)", "category": row["category"],
                    "mode": "online", "language": row["language"], "tags": ["新版"],
                    "duration_minutes": 45, "credit_hours": 1.0}
            assert client.put(f"/v1/resources/{resource_id}", json=body,
                              headers=headers).status_code == 200
        for resource_id in withdrawn:
            row = resources.loc[resource_id]
            body = {"title": row["title"], "category": row["category"], "mode": "online",
                    "withdrawn": True}
            assert client.put(f"/v1/resources/{resource_id}", json=body,
                              headers=headers).status_code == 200
        for number in range(3):
            body = {"title": f"智能手机入门 新课 {number}", "category": "digital_literacy",
                    "mode": "online", "language": "zh", "tags": ["智能手机"]}
            assert client.put(f"/v1/resources/NEW{number}", json=body,
                              headers=headers).json()["created"] is True
        events, done = [], {}
        stamp = (setup["now"] - pd.Timedelta(minutes=5)).isoformat()
        for number, learner_id in enumerate(learner_ids[:120]):
            listed = before[learner_id]
            kinds = ["dismiss", "complete", "view"]
            for kind, resource_id in zip(kinds, listed[:3]):
                events.append({"event_id": f"fe-{number}-{kind}", "learner_id": learner_id,
                               "resource_id": resource_id, "event_type": kind,
                               "timestamp": stamp})
                if kind != "view":
                    done.setdefault(learner_id, set()).add(resource_id)
        # PUT-then-dismiss: learners dismiss a re-described resource they were shown
        for number, learner_id in enumerate(learner_ids[120:200]):
            events.append({"event_id": f"fe-redo-{number}", "learner_id": learner_id,
                           "resource_id": redescribed[number % len(redescribed)],
                           "event_type": "dismiss", "timestamp": stamp})
            done.setdefault(learner_id, set()).add(redescribed[number % len(redescribed)])
        for lo in range(0, len(events), 500):
            response = client.post("/v1/events", json={"events": events[lo: lo + 500]},
                                   headers=headers)
            assert response.status_code == 201, response.text
        after = api_lists(client, learner_ids)
        filters = {"category": ["digital_literacy"], "mode": ["online"]}
        filtered = api_lists(client, learner_ids[:60], **filters)
    exported = export_lists(setup, "with_store", with_store=True)
    shown = set()
    for learner_id in learner_ids:
        assert exported.get(learner_id, []) == after[learner_id], learner_id
        assert not done.get(learner_id, set()) & set(after[learner_id]), learner_id
        assert not set(withdrawn) & set(after[learner_id])
        shown.update(after[learner_id])
    assert set(redescribed) & shown and {"NEW0", "NEW1", "NEW2"} & shown  # side copies served
    store = Store.from_url(setup["database"])
    try:
        core = delivery_core(load_bundle(setup["bundle_dir"]), store=store)
        request = ListRequest.served(POLICY, k=K, now=setup["now"], filters=RequestFilters(
            category=("digital_literacy",), mode=("online",)))
        for learner_id in learner_ids[:60]:
            found = core.deliver(core.learner(learner_id, store.learner_snapshot(learner_id)),
                                 request)
            assert [p.resource_id for p in found.items] == filtered[learner_id], learner_id
    finally:
        store.dispose()
    assert np.mean([after[i] != before[i] for i in learner_ids[:200]]) > 0.5
