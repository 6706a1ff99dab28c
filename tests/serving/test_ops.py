"""/health, /ready and /metrics: no key needed; readiness and metrics say what they should."""

from __future__ import annotations

from serving_world import KEY


def test_health_and_ready(client):
    assert client.get("/health").json() == {"status": "ok", "bundle_version": "als-serving-1"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True


def test_not_ready_without_a_bundle(make_client, tmp_path):
    with make_client(source=tmp_path / "missing") as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503 and "manifest.json is missing" in ready.json()["detail"]
        response = client.get("/v1/learners/d0/recommendations", headers=KEY)
        assert response.status_code == 503 and "manifest.json" in response.json()["detail"]


def test_metrics_count_requests_per_route_events_and_model_version(client):
    client.get("/v1/learners/d0/recommendations", headers=KEY)
    client.get("/v1/learners/d1/recommendations", headers=KEY)
    client.post("/v1/events", headers=KEY, json={
        "event_id": "m1", "learner_id": "d0", "resource_id": "r00", "event_type": "view",
        "timestamp": "2025-01-01T00:00:00Z"})
    text = client.get("/metrics").text
    route = 'route="/v1/learners/{learner_id}/recommendations"'
    assert f'recommender_requests_total{{method="GET",{route},status="200"}}' in text
    assert f'recommender_request_seconds_bucket{{le="0.005",method="GET",{route}}}' in text
    assert "recommender_events_ingested_total" in text
    assert 'recommender_model_info{version="als-serving-1"} 1.0' in text
    assert "d0" not in text  # ids never become labels


def test_openapi_documents_every_route_under_v1(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/learners/{learner_id}/recommendations", "/v1/events",
            "/v1/recommendations/anonymous", "/v1/resources/{resource_id}/similar",
            "/v1/learners/{learner_id}", "/v1/resources/{resource_id}", "/v1/admin/reload",
            "/health", "/ready", "/metrics"} <= set(paths)
