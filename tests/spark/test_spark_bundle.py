"""A Spark-trained run is an ordinary run: tracked and registered in MLflow, its bundle loads and
verifies, names the engine, folds a learner's history back into the vector Spark trained, and is
served unchanged by the API and the pyfunc model."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow.tracking import MlflowClient

from recommender.bundle import load_bundle
from recommender.models import ALSModel
from recommender.models.base import LearnerHistory
from recommender.serving.app import create_app
from recommender.serving.bundle_source import BundleSource
from recommender.serving.runtime import ServingOptions
from training.deliver import export_delivery_lists
from training.tracking import use_registry

pytestmark = pytest.mark.spark

API_KEY, ADMIN_KEY = "spark-test-key", "spark-test-admin"


def test_the_run_is_tracked_and_registered_naming_the_engine(spark_run) -> None:
    tracking, result = spark_run
    client = MlflowClient(tracking.uri, registry_uri=tracking.uri)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["engine"] == "spark"
    assert "cold start" in run.data.tags["engine.driver_parts"]
    assert run.data.params["engine.master"] == "local[2]"
    assert result.version is not None
    assert client.get_model_version("spark-model", result.version).run_id == result.run_id
    manifest = load_bundle(result.bundle_path).manifest
    assert manifest["engine"] == {"kind": "spark", "master": "local[2]"}
    assert manifest["model"]["params"]["solver_form"] == "spark"


def test_fold_in_reproduces_the_vectors_spark_trained(spark_run) -> None:
    _, result = spark_run
    bundle = load_bundle(result.bundle_path)
    assert isinstance(bundle.model, ALSModel) and bundle.can_cold_start
    interactions = bundle.interactions.tocsr()
    checked = 0
    for learner_idx in range(0, interactions.shape[0], 7):
        row = interactions[learner_idx]
        if row.nnz == 0:
            continue
        folded = bundle.model.fold_in(LearnerHistory(row.indices, row.data))
        np.testing.assert_allclose(folded, bundle.learner_factors[learner_idx], atol=2e-4)
        checked += 1
    assert checked > 20


def test_the_api_serves_the_spark_bundle(spark_run, tmp_path) -> None:
    _, result = spark_run
    options = ServingOptions(database_url=f"sqlite:///{tmp_path / 'serving.db'}",
                             api_keys=(API_KEY,), admin_keys=(ADMIN_KEY,), poll_seconds=0.0)
    app = create_app(options=options, source=BundleSource(path=result.bundle_path))
    learner_id = str(result.bundle.learner_map.ids[3])
    with TestClient(app) as client:
        assert client.get("/ready").status_code == 200
        answer = client.get(f"/v1/learners/{learner_id}/recommendations",
                            params={"k": 5}, headers={"X-API-Key": API_KEY})
    assert answer.status_code == 200
    body = answer.json()
    assert body["model_version"] == result.bundle.version
    exported = pd.read_parquet(export_delivery_lists(
        result.bundle, tmp_path / "lists.parquet", k=5).path)
    expected = exported[exported["learner_id"] == learner_id]["resource_id"].tolist()
    assert [item["resource_id"] for item in body["items"]] == expected


def test_the_pyfunc_model_predicts_the_export(spark_run, tmp_path) -> None:
    tracking, result = spark_run
    use_registry(tracking.uri)
    model = mlflow.pyfunc.load_model(f"models:/spark-model/{result.version}")
    as_of = "2024-09-01T00:00:00Z"
    learner_ids = [str(i) for i in result.bundle.learner_map.ids[:10]]
    lists = model.predict(pd.DataFrame({"learner_id": learner_ids, "k": [6] * 10}),
                          params={"as_of": as_of})
    exported = pd.read_parquet(export_delivery_lists(
        result.bundle, tmp_path / "lists.parquet", k=6, now=as_of).path)
    exported = exported[exported["learner_id"].isin(learner_ids)]
    assert lists["resource_id"].tolist() == exported["resource_id"].tolist()
