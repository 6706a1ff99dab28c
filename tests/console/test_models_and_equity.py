"""The models page promotes through the registry's guard (a worse version needs a typed
confirmation; operators cannot promote), and the equity page reads the served model's group
breakdown from its MLflow run and draws it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from mlflow.tracking import MlflowClient

from console_world import MODEL_NAME, OPERATOR_KEY, console_app, log_in, tracked_world


@pytest.fixture(scope="module")
def tracked(console_bundle, tmp_path_factory) -> Iterator[tuple[TestClient, MlflowClient]]:
    """One MLflow store for the module (making one takes seconds); each test leaves version 1
    in production."""
    tmp_path = tmp_path_factory.mktemp("tracked")
    uri, bundle_dir = tracked_world(tmp_path, console_bundle)
    app = console_app(bundle_dir, f"sqlite:///{tmp_path / 'serving.db'}", tracking_uri=uri)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client, MlflowClient(uri, registry_uri=uri)


def production(mlflow: MlflowClient) -> str:
    return str(mlflow.get_model_version_by_alias(MODEL_NAME, "production").version)


def test_a_worse_version_needs_a_typed_confirmation(tracked) -> None:
    client, mlflow = tracked
    client.cookies.clear()
    token = log_in(client)
    page = client.get("/console/models?lang=en").text
    assert "0.4000" in page and "0.6000" in page  # metrics side by side
    refused = client.post("/console/models/promote?lang=en",
                          data={"csrf": token, "version": "2", "alias": "production"})
    assert refused.status_code == 409 and 'id="refused"' in refused.text
    assert "worse than production version 1" in refused.text
    assert production(mlflow) == "1"
    wrong = client.post("/console/models/promote", data={
        "csrf": token, "version": "2", "alias": "production", "force": "true", "confirm": "3"})
    assert wrong.status_code == 400 and production(mlflow) == "1"
    forced = client.post("/console/models/promote", data={
        "csrf": token, "version": "2", "alias": "production", "force": "true", "confirm": "2"})
    assert forced.status_code == 200 and production(mlflow) == "2"
    better = client.post("/console/models/promote",
                         data={"csrf": token, "version": "3", "alias": "production"})
    assert better.status_code == 200 and production(mlflow) == "3"
    mlflow.set_registered_model_alias(MODEL_NAME, "production", "1")


def test_an_operator_sees_models_but_cannot_promote(tracked) -> None:
    client, mlflow = tracked
    client.cookies.clear()
    token = log_in(client, OPERATOR_KEY)
    assert 'class="promote"' not in client.get("/console/models").text
    answer = client.post("/console/models/promote",
                         data={"csrf": token, "version": "3", "alias": "production"})
    assert answer.status_code == 403 and production(mlflow) == "1"


def test_the_equity_page_shows_the_served_models_groups_and_gaps(tracked) -> None:
    client, _ = tracked
    client.cookies.clear()
    log_in(client)
    page = client.get("/console/equity?lang=en").text
    assert 'id="no-breakdown"' not in page
    gaps = page.split('id="gaps"')[1].split("</table>")[0]
    assert "0.250" in gaps  # group: retiree 0.30 - youth 0.05
    # One plot per attribute, two for the current lists' exposure (two more once the API has
    # served lists: the counters are the process's).
    assert page.count("<svg") in (4 + 2, 4 + 2 + 2)
    assert 'id="served"' in page
