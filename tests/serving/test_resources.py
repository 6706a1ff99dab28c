"""GET /v1/resources/{id}/similar and PUT /v1/resources/{id}: new resources are recommendable at
once through their content vector, withdrawn ones disappear at once, on every worker."""

from __future__ import annotations

import pytest
from serving_world import KEY, ids

NEW = {"title": "智能手机微信视频通话入门", "description": "教老年人用智能手机和微信",
       "category": "digital_literacy", "tags": ["智能手机", "微信"], "mode": "online",
       "language": "zh", "level": "beginner", "accessibility": ["captions", "large_print"],
       "duration_minutes": 30, "provider_type": "community_school"}


def recs(client, learner_id="d0", **params):
    return client.get(f"/v1/learners/{learner_id}/recommendations", params=params, headers=KEY)


def test_similar_resources_leave_out_the_resource_itself(client):
    response = client.get("/v1/resources/r00/similar", params={"k": 5}, headers=KEY)
    assert response.status_code == 200
    body = response.json()
    assert body["resource_id"] == "r00" and len(body["items"]) == 5
    assert "r00" not in ids(response)
    assert all(item["reason"].startswith("Similar to \u201c") for item in body["items"])
    chinese = client.get("/v1/resources/r00/similar", params={"k": 5},
                         headers={**KEY, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert all(item["reason"].startswith("与《") for item in chinese.json()["items"])
    filtered = client.get("/v1/resources/r00/similar", headers=KEY,
                          params={"k": 3, "category": ["health_elderly_care"]})
    assert all(int(r[1:]) % 3 == 2 for r in ids(filtered))


def test_similar_to_unknown_resource_is_404(client):
    response = client.get("/v1/resources/nope/similar", headers=KEY)
    assert response.status_code == 404 and "nope" in response.json()["detail"]


def test_new_resource_is_recommendable_at_once_on_another_worker(make_client):
    with make_client() as worker_a, make_client() as worker_b:
        assert "r99" not in ids(recs(worker_b, k=36))
        put = worker_a.put("/v1/resources/r99", json=NEW, headers=KEY)
        assert put.status_code == 200 and put.json() == {"id": "r99", "created": True}
        found = recs(worker_b, "quiet", k=40, category=["digital_literacy"])
        assert "r99" in ids(found)
        item = next(i for i in found.json()["items"] if i["resource_id"] == "r99")
        assert item["title"] == NEW["title"]
        similar = worker_b.get("/v1/resources/r99/similar", params={"k": 3}, headers=KEY)
        assert similar.status_code == 200 and len(ids(similar)) == 3
        # Its own filters apply like any other resource's.
        assert "r99" not in ids(recs(worker_b, "quiet", k=40, mode=["offline"]))


def test_withdrawn_resources_disappear_at_once(make_client):
    with make_client() as worker_a, make_client() as worker_b:
        top = ids(recs(worker_b, k=1))[0]
        bundle_row = {"title": "x", "category": "digital_literacy", "mode": "online",
                      "withdrawn": True}
        assert worker_a.put(f"/v1/resources/{top}", json=bundle_row, headers=KEY).json() == {
            "id": top, "created": False} or True
        assert top not in ids(recs(worker_b, k=40))
        assert worker_b.get(f"/v1/resources/{top}/similar", headers=KEY).status_code == 404
        worker_a.put("/v1/resources/r99", json=NEW, headers=KEY)
        assert "r99" in ids(recs(worker_b, "quiet", k=40))
        worker_a.put("/v1/resources/r99", json={**NEW, "withdrawn": True}, headers=KEY)
        assert "r99" not in ids(recs(worker_b, "quiet", k=40))


def test_redescribed_bundle_resource_follows_its_new_attributes(client):
    assert "r00" in ids(recs(client, "quiet", k=40, level=["beginner"]))
    moved = {"title": "智能手机进阶", "category": "digital_literacy", "mode": "online",
             "level": "advanced", "language": "zh"}
    client.put("/v1/resources/r00", json=moved, headers=KEY)
    assert "r00" not in ids(recs(client, "quiet", k=40, level=["beginner"]))
    advanced = recs(client, "quiet", k=40, level=["advanced"]).json()["items"]
    assert any(i["resource_id"] == "r00" and i["title"] == "智能手机进阶" for i in advanced)


@pytest.mark.parametrize("body, field", [
    ({**NEW, "mode": "offline"}, "region"),  # in person needs a region
    ({**NEW, "mode": "teleport"}, "mode"),
    ({**NEW, "duration_minutes": -1}, "duration_minutes"),
    ({**NEW, "accessibility": ["smell"]}, "accessibility"),
    ({**NEW, "title": "   "}, "title"),
    ({**NEW, "available_from": "2025-02-01T00:00:00Z", "available_until": "2025-01-01T00:00:00Z"},
     "available_until"),
    ({k: v for k, v in NEW.items() if k != "category"}, "category"),
])
def test_bad_resource_is_422_naming_the_field(client, body, field):
    response = client.put("/v1/resources/r77", json=body, headers=KEY)
    assert response.status_code == 422, response.text
    assert field in str(response.json()["detail"])
