"""API keys: missing or wrong -> 401, a platform key on admin routes -> 403; keys and learner
attributes never reach the log."""

from __future__ import annotations

import pytest
from serving_world import ADMIN, ADMIN_KEY, API_KEY, KEY

ROUTES = [
    ("get", "/v1/learners/d0/recommendations", None),
    ("post", "/v1/recommendations/anonymous", {"interests": "手机"}),
    ("post", "/v1/events", {"event_id": "a", "learner_id": "d0", "resource_id": "r00",
                            "event_type": "view", "timestamp": "2025-01-01T00:00:00Z"}),
    ("get", "/v1/resources/r00/similar", None),
    ("put", "/v1/learners/zz", {"group": "retiree"}),
    ("put", "/v1/resources/zz", {"title": "t", "category": "literacy", "mode": "online"}),
    ("post", "/v1/admin/reload", None),
]


@pytest.mark.parametrize("method, path, body", ROUTES)
def test_missing_or_wrong_key_is_401(client, method, path, body):
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": API_KEY + "x"}):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert "X-API-Key" in response.json()["detail"]


def test_platform_key_is_refused_on_admin_routes_and_admin_key_works_everywhere(client):
    assert client.post("/v1/admin/reload", headers=KEY).status_code == 403
    assert client.post("/v1/admin/reload", headers=ADMIN).status_code == 200
    assert client.get("/v1/learners/d0/recommendations", headers=ADMIN).status_code == 200


def test_probes_need_no_key(client):
    for path in ("/health", "/ready", "/metrics"):
        assert client.get(path).status_code == 200


def test_keys_and_learner_attributes_never_reach_the_log(client, log_text):
    client.put("/v1/learners/sensitive", headers=KEY, json={
        "group": "disabled", "accessibility_needs": ["sign_language"],
        "interests": "secret-interest-text"})
    client.get("/v1/learners/sensitive/recommendations", headers=KEY,
               params={"accessibility": ["captions"]})
    client.post("/v1/recommendations/anonymous", headers=KEY,
                json={"group": "disabled", "accessibility_needs": ["large_print"]})
    client.get("/v1/learners/d0/recommendations", headers={"X-API-Key": "guess-key"})
    logged = log_text()
    assert "recommender.access" in logged  # the access log did write
    for secret in (API_KEY, ADMIN_KEY, "guess-key", "sign_language", "large_print", "captions",
                   "secret-interest-text", "disabled"):
        assert secret not in logged


def test_the_access_log_can_be_switched_off_and_requests_are_still_counted(make_client,
                                                                           log_text):
    with make_client(access_log=False) as client:
        assert client.get("/v1/learners/d0/recommendations", headers=KEY).status_code == 200
        metrics = client.get("/metrics").text
    assert "recommender.access" not in log_text()
    assert 'route="/v1/learners/{learner_id}/recommendations"' in metrics


def test_access_log_setting_reaches_the_app(tmp_path):
    from recommender.serving.app import options_from_settings
    from recommender.settings import Settings

    on, _ = options_from_settings(Settings(workdir=tmp_path, api_keys="a"))
    off, _ = options_from_settings(Settings(workdir=tmp_path, api_keys="a", access_log="false"))
    assert on.access_log is True and off.access_log is False
