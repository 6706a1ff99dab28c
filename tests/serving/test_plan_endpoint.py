"""GET /v1/learners/{id}/plan: budgets hold, credits are covered or the gap is reported, the
learner's constraints and latest events apply, and bad requests are 4xx naming the cause.

The serving world (serving_world.py): durations 20 + 10 * i minutes, one credit hour each;
d0 lives in R1 (next to R2) and reads zh; r30/r31 are blended in R3, r32 closed, r33 opens in
2101, r34/r35 are in English.
"""

from __future__ import annotations

import pytest
from serving_world import KEY

URL = "/v1/learners/{}/plan"


def plan(client, learner_id="d0", **params):
    params = {"hours_per_week": 3, "weeks": 4, **params}
    return client.get(URL.format(learner_id), params=params, headers=KEY)


def plan_ids(response) -> list[str]:
    return [item["resource_id"] for item in response.json()["items"]]


@pytest.mark.parametrize("hours, weeks", [(0.75, 2), (1, 2), (3, 4), (2.5, 3)])
def test_budget_is_never_exceeded_and_accounting_adds_up(client, world, hours, weeks):
    response = plan(client, hours_per_week=hours, weeks=weeks)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["budget_minutes"] == pytest.approx(hours * 60 * weeks)
    assert body["total_minutes"] <= body["budget_minutes"]
    durations = dict(zip(world.resources["resource_id"], world.resources["duration_minutes"]))
    items = body["items"]
    assert items and [item["order"] for item in items] == list(range(1, len(items) + 1))
    assert sum(durations[item["resource_id"]] for item in items) == pytest.approx(
        body["total_minutes"])
    assert all(item["duration_minutes"] == durations[item["resource_id"]] for item in items)
    assert body["model_version"] == "als-serving-1" and body["cold_start"] is False
    assert all(item["reason"] and item["title"] for item in items)
    # start weeks follow the study order at hours_per_week
    elapsed = 0.0
    for item in items:
        assert item["start_week"] == int(elapsed // (hours * 60)) + 1
        elapsed += item["duration_minutes"]


def test_plan_uses_the_time_better_than_the_top_of_the_list(client):
    """A small budget is filled with what fits, not cut off after the first long course."""
    body = plan(client, hours_per_week=2, weeks=1).json()
    assert body["total_minutes"] > 0.5 * body["budget_minutes"]


def test_credit_requirement_from_the_profile_is_covered(client):
    stored = client.put("/v1/learners/d0", headers=KEY, json={
        "group": "retiree", "region": "R1", "languages": ["zh"], "credit_hours_required": 6})
    assert stored.status_code in (200, 201), stored.text
    body = plan(client, hours_per_week=10, weeks=4).json()
    assert body["credit_required"] == 6
    assert body["credit_hours"] >= 6 and body["shortfall_hours"] == 0
    assert body["shortfall_reason"] is None
    assert sum(item["credit_hours"] for item in body["items"]) == body["credit_hours"]
    assert body["total_minutes"] <= body["budget_minutes"]
    # completed hours count towards it; an override replaces the profile's requirement
    assert plan(client, hours_per_week=10, weeks=4,
                credit_completed=4).json()["credit_required"] == 2
    assert plan(client, hours_per_week=10, weeks=4,
                credit_required=3).json()["credit_required"] == 3


def test_shortfall_when_the_time_is_too_short(client):
    body = plan(client, hours_per_week=1, weeks=1, credit_required=5).json()
    assert body["total_minutes"] <= 60
    assert 0 < body["credit_hours"] < 5
    assert body["shortfall_hours"] == pytest.approx(5 - body["credit_hours"])
    assert body["shortfall_reason"] == "time_budget"


def test_shortfall_when_the_catalog_has_too_little_credit(client, world):
    body = plan(client, hours_per_week=100, weeks=52, credit_required=100).json()
    # every resource d0 may take fits this budget, so all their credit is planned, and no more
    assert body["credit_hours"] == pytest.approx(len(body["items"]))
    assert body["credit_hours"] < len(world.resources)
    assert body["shortfall_hours"] == pytest.approx(100 - body["credit_hours"])
    assert body["shortfall_reason"] == "catalog"


def test_closed_out_of_region_and_foreign_language_resources_never_appear(client, world):
    modes = dict(zip(world.resources["resource_id"], world.resources["mode"]))
    # a credit plan larger than the catalog takes everything the learner may take
    roomy = plan(client, "d0", hours_per_week=100, weeks=52, credit_required=100)
    planned = set(plan_ids(roomy))
    assert not planned & {"r30", "r31", "r32", "r33", "r34", "r35"}
    assert any(modes[r] == "offline" for r in planned)  # R1 and R2 are near d0
    quiet = set(plan_ids(plan(client, "quiet", hours_per_week=100, weeks=52,
                              credit_required=100)))
    assert quiet and not quiet & {"r24", "r25", "r26", "r27", "r28", "r29", "r32", "r33"}
    assert {"r30", "r31", "r34", "r35"} <= quiet  # quiet lives in R3 and reads English


def test_filters_apply_to_plans(client, world):
    levels = dict(zip(world.resources["resource_id"], world.resources["level"]))
    body = plan(client, hours_per_week=100, weeks=52, level=["beginner"], mode=["online"])
    assert body.status_code == 200
    assert plan_ids(body) and all(levels[r] == "beginner" for r in plan_ids(body))
    excluded = plan_ids(body)[:2]
    again = plan_ids(plan(client, hours_per_week=100, weeks=52, level=["beginner"],
                          exclude=excluded))
    assert not set(excluded) & set(again)


def test_plan_reflects_a_just_posted_event_on_another_worker(make_client):
    with make_client() as worker_a, make_client() as worker_b:
        before = plan_ids(plan(worker_a, hours_per_week=100, weeks=52))
        target = before[0]
        posted = worker_a.post("/v1/events", headers=KEY, json={
            "event_id": "plan-1", "learner_id": "d0", "resource_id": target,
            "event_type": "complete", "timestamp": "2025-03-01T08:30:00Z"})
        assert posted.status_code == 201, posted.text
        after = plan(worker_b, hours_per_week=100, weeks=52).json()
        assert target not in plan_ids_of(after)
        assert after["cold_start_path"] == "fold_in"


def plan_ids_of(body: dict) -> list[str]:
    return [item["resource_id"] for item in body["items"]]


def test_learner_known_only_by_profile_gets_a_cold_start_plan(client):
    client.put("/v1/learners/newbie", headers=KEY, json={
        "group": "retiree", "region": "R2", "languages": ["zh"], "interests": "想学智能手机"})
    body = plan(client, "newbie").json()
    assert body["cold_start"] is True and body["cold_start_path"] == "profile"
    assert body["items"] and body["total_minutes"] <= body["budget_minutes"]


@pytest.mark.parametrize("params, field", [
    ({"hours_per_week": 0}, "hours_per_week"), ({"hours_per_week": -2}, "hours_per_week"),
    ({"hours_per_week": "many"}, "hours_per_week"), ({"hours_per_week": 169}, "hours_per_week"),
    ({"weeks": 0}, "weeks"), ({"weeks": 1000}, "weeks"), ({"weeks": 1.5}, "weeks"),
    ({"credit_required": -1}, "credit_required"), ({"credit_completed": -1}, "credit_completed"),
    ({"mode": ["teleport"]}, "mode"), ({"k": 5}, "k"),
])
def test_bad_parameters_are_422_naming_the_parameter(client, params, field):
    response = plan(client, **params)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])


def test_missing_budget_is_422(client):
    response = client.get(URL.format("d0"), params={"weeks": 4}, headers=KEY)
    assert response.status_code == 422 and "hours_per_week" in str(response.json()["detail"])


def test_unknown_learner_is_404_and_no_key_is_401(client):
    missing = plan(client, "nobody")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "unknown learner id 'nobody'"}
    anonymous = client.get(URL.format("d0"), params={"hours_per_week": 3, "weeks": 4})
    assert anonymous.status_code == 401
    wrong = client.get(URL.format("d0"), params={"hours_per_week": 3, "weeks": 4},
                       headers={"X-API-Key": "not-a-key"})
    assert wrong.status_code == 401
