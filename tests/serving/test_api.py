"""The HTTP API on a tiny bundle: status codes, exclusions, health."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from recommender.bundle import save_bundle
from recommender.serving.app import create_app


@pytest.fixture
def client(tiny_bundle):
    with TestClient(create_app(bundle=tiny_bundle)) as test_client:
        yield test_client


def test_recommendations_exclude_completed(client, tiny_world):
    response = client.get("/v1/learners/a2/recommendations", params={"k": 6})
    assert response.status_code == 200
    body = response.json()
    returned = [item["resource_id"] for item in body["items"]]
    completed = set(tiny_world.events.query("learner_id == 'a2' and event_type == 'complete'")
                    ["resource_id"])
    assert completed == {"r1", "r2"}
    assert not completed & set(returned)
    assert len(returned) == 4 and returned[0] == "r3"  # same taste group first
    assert body["items"][0]["title"] == "移动支付"
    assert body["model_version"] == "als-test" and body["cold_start"] is False
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)


def test_unversioned_alias(client):
    assert client.get("/learners/a2/recommendations").json()["items"][0]["resource_id"] == "r3"


def test_unknown_learner_is_404_with_message(client):
    response = client.get("/v1/learners/nobody/recommendations")
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown learner id 'nobody'"}


@pytest.mark.parametrize("k", ["0", "-3", "abc", "100000"])
def test_bad_k_is_422(client, k):
    response = client.get("/v1/learners/a2/recommendations", params={"k": k})
    assert response.status_code == 422
    assert "k" in str(response.json()["detail"])


def test_no_bundle_is_503(tmp_path):
    with TestClient(create_app(tmp_path / "missing")) as no_model:
        response = no_model.get("/v1/learners/a2/recommendations")
        assert response.status_code == 503
        assert "manifest.json is missing" in response.json()["detail"]
        assert no_model.get("/health").json() == {"status": "ok", "bundle_version": None}


def test_health_reports_bundle_version_loaded_from_disk(tiny_bundle, tmp_path):
    path = save_bundle(tiny_bundle, tmp_path / "bundle")
    with TestClient(create_app(path)) as from_disk:
        assert from_disk.get("/health").json() == {"status": "ok", "bundle_version": "als-test"}
        assert from_disk.get("/v1/learners/b2/recommendations?k=1").json()["items"][0][
            "resource_id"] == "r6"
