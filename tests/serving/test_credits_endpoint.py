"""The credit ledger (GET/POST /v1/learners/{id}/credits): completions count at once on any
worker, each resource once; a recognised record counts once however often it is sent; years
split at midnight UTC on 1 January; hours by category and provider; plans read it.

The serving world (serving_world.py): every resource carries 1 credit hour; d0 completed r00
and r03 (digital literacy) in May 2024, f0 completed r01 and r04 (agricultural technology).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from serving_world import KEY

URL = "/v1/learners/{}/credits"
THIS_YEAR = datetime.now(UTC).year


def ledger(client, learner_id="d0", **params):
    response = client.get(URL.format(learner_id), params=params, headers=KEY)
    assert response.status_code == 200, response.text
    return response.json()


def record(credit_id="c1", **fields):
    return {"credit_id": credit_id, "hours": 8, "source": "市职工继续教育中心",
            "earned_on": f"{THIS_YEAR}-03-01", "evidence": "CERT-42", **fields}


def complete(event_id, resource_id, timestamp, learner_id="d0"):
    return {"event_id": event_id, "learner_id": learner_id, "resource_id": resource_id,
            "event_type": "complete", "timestamp": timestamp}


def test_the_bundle_history_counts_in_the_year_it_was_completed(client):
    body = ledger(client, year=2024)
    assert body["bundle_history"] is True
    assert body["platform_hours"] == 2 and body["earned_hours"] == 2
    assert sorted(e["id"] for e in body["entries"]) == ["r00", "r03"]
    assert {e["earned_on"][:7] for e in body["entries"]} == {"2024-05"}
    assert body["by_category"] == [{"name": "digital_literacy", "hours": 2}]
    assert body["required_hours"] is None and body["shortfall_hours"] == 0
    assert ledger(client, year=2023)["earned_hours"] == 0
    assert ledger(client)["year"] == THIS_YEAR


def test_a_completion_counts_at_once_on_another_worker_and_only_once(make_client):
    now = datetime.now(UTC).isoformat()
    with make_client() as worker_a, make_client() as worker_b:
        profile = {"group": "retiree", "region": "R1", "languages": ["zh"],
                   "credit_hours_required": 6}
        assert worker_a.put("/v1/learners/d0", json=profile, headers=KEY).status_code == 200
        before = ledger(worker_b)
        assert before["required_hours"] == 6 and before["shortfall_hours"] == 6
        events = {"events": [complete("n1", "r06", now), complete("n2", "r09", now),
                             complete("n3", "r00", now)]}  # r00: done in 2024 already
        assert worker_a.post("/v1/events", json=events, headers=KEY).status_code == 201
        after = ledger(worker_b)
        assert after["platform_hours"] == 2 and after["shortfall_hours"] == 4
        assert sorted(e["id"] for e in after["entries"]) == ["r06", "r09"]
        again = {"events": [complete("n4", "r06", now)]}  # the same resource, a new event
        assert worker_a.post("/v1/events", json=again, headers=KEY).status_code == 201
        assert ledger(worker_b)["platform_hours"] == 2
        assert ledger(worker_b, year=2024)["platform_hours"] == 2  # r00 stays in 2024


def test_an_outside_record_counts_once_however_often_it_is_sent(make_client):
    with make_client() as worker_a, make_client() as worker_b:
        first = worker_a.post(URL.format("d0"), json=record(), headers=KEY)
        assert first.status_code == 201, first.text
        answers = [worker.post(URL.format("d0"), json=record(), headers=KEY)
                   for worker in (worker_a, worker_b, worker_b)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert all(a.json() == first.json() for a in answers)
        assert first.json()["year"] == THIS_YEAR and first.json()["learner_id"] == "d0"
        body = ledger(worker_b)
        assert body["recognised_hours"] == 8 and body["earned_hours"] == 8
        assert [e["evidence"] for e in body["entries"]] == ["CERT-42"]

        clash = worker_b.post(URL.format("d0"), json=record(hours=9), headers=KEY)
        assert clash.status_code == 409
        assert "'c1'" in clash.json()["detail"] and "different record" in clash.json()["detail"]
        other_learner = worker_b.post(URL.format("d1"), json=record(), headers=KEY)
        assert other_learner.status_code == 409  # the id is the platform's, for one learner
        assert ledger(worker_a)["recognised_hours"] == 8
        assert ledger(worker_a, learner_id="d1")["recognised_hours"] == 0


def test_years_split_at_midnight_utc(client):
    events = {"events": [complete("y1", "r06", "2025-12-31T23:59:59Z"),
                         complete("y2", "r09", "2026-01-01T00:00:00Z"),
                         complete("y3", "r12", "2026-01-01T07:00:00+08:00")]}  # 2025 in UTC
    assert client.post("/v1/events", json=events, headers=KEY).status_code == 201
    for credit_id, day in (("late", "2025-12-31"), ("early", "2026-01-01")):
        sent = client.post(URL.format("d0"), headers=KEY,
                           json=record(credit_id, hours=2, earned_on=day))
        assert sent.status_code == 201, sent.text
    y2025, y2026 = ledger(client, year=2025), ledger(client, year=2026)
    assert sorted(e["id"] for e in y2025["entries"]) == ["late", "r06", "r12"]
    assert sorted(e["id"] for e in y2026["entries"]) == ["early", "r09"]
    assert (y2025["platform_hours"], y2025["recognised_hours"]) == (2, 2)
    assert (y2026["platform_hours"], y2026["recognised_hours"]) == (1, 2)


def test_hours_by_category_and_provider(client):
    now = datetime.now(UTC).isoformat()
    events = {"events": [complete("k1", "r06", now), complete("k2", "r07", now)]}
    assert client.post("/v1/events", json=events, headers=KEY).status_code == 201
    resource = {"title": "电商直播入门", "category": "vocational_skills", "mode": "online",
                "provider": "县职业学校", "credit_hours": 3.5}
    assert client.put("/v1/resources/new1", json=resource, headers=KEY).status_code in (200, 201)
    assert client.post("/v1/events", json={"events": [complete("k3", "new1", now)]},
                       headers=KEY).status_code == 201
    for credit_id, hours, category, source in (("o1", 4, "health_elderly_care", "社区大学"),
                                               ("o2", 2, None, "社区大学")):
        fields = {"category": category} if category else {}
        assert client.post(URL.format("d0"), headers=KEY, json=record(
            credit_id, hours=hours, source=source, **fields)).status_code == 201
    body = ledger(client)
    assert body["platform_hours"] == 5.5 and body["recognised_hours"] == 6
    assert body["by_category"] == [
        {"name": "health_elderly_care", "hours": 4}, {"name": "vocational_skills", "hours": 3.5},
        {"name": None, "hours": 2},  # most hours first; ties by name
        {"name": "agricultural_technology", "hours": 1}, {"name": "digital_literacy", "hours": 1}]
    assert body["by_provider"] == [{"name": "社区大学", "hours": 6},
                                   {"name": "县职业学校", "hours": 3.5},
                                   {"name": None, "hours": 2}]
    assert sum(b["hours"] for b in body["by_category"]) == body["earned_hours"]


def test_the_plan_reads_the_ledger(client):
    profile = {"group": "retiree", "region": "R1", "languages": ["zh"],
               "credit_hours_required": 6}
    assert client.put("/v1/learners/d0", json=profile, headers=KEY).status_code == 200
    params = {"hours_per_week": 10, "weeks": 4}
    before = client.get("/v1/learners/d0/plan", params=params, headers=KEY).json()
    assert before["credit_required"] == 6 and before["credit_completed"] == 0
    assert before["ledger_year"] == THIS_YEAR
    assert client.post(URL.format("d0"), json=record(hours=4), headers=KEY).status_code == 201
    after = client.get("/v1/learners/d0/plan", params=params, headers=KEY).json()
    assert after["credit_required"] == 2 and after["credit_completed"] == 4
    what_if = client.get("/v1/learners/d0/plan", headers=KEY,
                         params={**params, "credit_completed": 0}).json()
    assert what_if["credit_required"] == 6 and what_if["credit_completed"] == 0


@pytest.mark.parametrize("body, field", [
    (record(hours=0), "hours"), (record(hours=-2), "hours"), (record(hours="8"), "hours"),
    (record(earned_on="2026-13-01"), "earned_on"), (record(earned_on=20260301), "earned_on"),
    (record(earned_on="1800-01-01"), "earned_on"), (record(source=""), "source"),
    (record(credit_id=" "), "credit_id"), ({**record(), "extra": 1}, "extra"),
])
def test_a_bad_record_is_refused_naming_the_field_and_nothing_is_stored(client, body, field):
    response = client.post(URL.format("d0"), json=body, headers=KEY)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])
    assert ledger(client)["recognised_hours"] == 0


def test_unknown_learner_bad_year_and_missing_key(client):
    assert client.get(URL.format("nobody"), headers=KEY).status_code == 404
    assert client.get(URL.format("d0"), params={"year": 1800}, headers=KEY).status_code == 422
    assert client.get(URL.format("d0")).status_code == 401
    assert client.post(URL.format("d0"), json=record()).status_code == 401
    # a learner known only by a recognised record has a ledger
    assert client.post(URL.format("newcomer"), json=record("c9"), headers=KEY).status_code == 201
    assert ledger(client, "newcomer")["recognised_hours"] == 8


def test_openapi_describes_the_ledger(client):
    spec = client.get("/openapi.json").json()
    operations = spec["paths"]["/v1/learners/{learner_id}/credits"]
    assert {"get", "post"} <= set(operations)
    assert "409" in operations["post"]["responses"]
    schema = spec["components"]["schemas"]["CreditLedgerOut"]
    assert {"required_hours", "shortfall_hours", "by_category", "by_provider"} <= set(
        schema["properties"])


def test_a_wrong_method_lists_both_methods_of_the_path(client):
    response = client.delete(URL.format("d0"), headers=KEY)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert client.get("/v1/nothing-here", headers=KEY).status_code == 404
