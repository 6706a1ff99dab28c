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


GROUP_MEANS = {  # attribute -> value -> nDCG@10 of the served model's validation (made up)
    "group": {"retiree": 0.30, "rural_resident": 0.20, "youth": 0.05},
    "age_band": {"65+": 0.30, "35-44": 0.20, "16-24": 0.05},
    "urban_rural": {"urban": 0.28, "rural": 0.18},
    "accessibility_needs": {"any_need": 0.10, "no_need": 0.25},
}
MODEL_NAME = "lifelong-recommender"


def tracked_world(tmp_path: Path, bundle) -> tuple[str, Path]:
    """An MLflow store with the served model's validation run (group breakdown and gaps as
    training logs them) and three registered versions of one model on one split: version 1
    holds ``production`` (nDCG 0.50), version 2 is worse (0.40), version 3 better (0.60).
    Returns the tracking URI and a saved copy of ``bundle`` whose manifest names the run."""
    import dataclasses

    import pandas as pd
    from mlflow.tracking import MlflowClient

    from recommender.bundle import save_bundle
    from recommender.evaluation.groups import BREAKDOWN_COLUMNS, GAP_COLUMNS
    from recommender.registry import DIRECTION_TAG, METRIC_TAG, SPLIT_TAG

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    experiment = client.create_experiment(
        "lifelong-recommender", artifact_location=(tmp_path / "artifacts").as_uri())
    rows, gaps = [], []
    for attribute, means in GROUP_MEANS.items():
        for value, mean in means.items():
            rows.append([attribute, value, "ndcg_at_10", mean, 40, False])
        best, worst = max(means, key=means.get), min(means, key=means.get)
        gaps.append([attribute, "ndcg_at_10", best, worst, means[best], means[worst],
                     means[best] - means[worst], means[worst] / means[best], len(means), 0])
    client.create_registered_model(MODEL_NAME)
    served_run = None
    for version, ndcg in ((1, 0.50), (2, 0.40), (3, 0.60)):
        run = client.create_run(experiment, run_name=f"train-als-{version}", tags={
            SPLIT_TAG: "split-1", METRIC_TAG: "ndcg_at_10", DIRECTION_TAG: "true"})
        run_id = run.info.run_id
        client.log_metric(run_id, "ndcg_at_10", ndcg)
        client.log_metric(run_id, "recall_at_10", ndcg / 2)
        if version == 1:
            served_run = run_id
            client.log_text(run_id, pd.DataFrame(rows, columns=BREAKDOWN_COLUMNS)
                            .to_csv(index=False), "groups/breakdown.csv")
            client.log_text(run_id, pd.DataFrame(gaps, columns=GAP_COLUMNS)
                            .to_csv(index=False), "groups/gaps.csv")
        client.set_terminated(run_id)
        client.create_model_version(MODEL_NAME, source=f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(MODEL_NAME, "production", "1")
    manifest = {**bundle.manifest, "run_id": served_run}
    path = save_bundle(dataclasses.replace(bundle, manifest=manifest), tmp_path / "bundle")
    return uri, path
