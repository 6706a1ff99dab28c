"""What a careless client sends: non-finite numbers, lone surrogates, huge invalid input, lax
types. Every such request is a bounded 422 naming the field, never a 500; permanent errors carry
no ``Retry-After``; ``/docs`` works without internet."""

from __future__ import annotations

import re

import pytest
from serving_world import ADMIN, KEY

EVENT = {"event_id": "h1", "learner_id": "d0", "resource_id": "r00", "event_type": "view",
         "timestamp": "2025-01-01T00:00:00Z"}
LEARNER = {"group": "retiree", "interests": "想学智能手机"}
RESOURCE = {"title": "t", "category": "digital_literacy", "mode": "online"}
ANONYMOUS = {"interests": "智能手机", "k": 3}

# Every JSON body field of every route, as (method, path, valid body, field).
FIELDS = [
    ("post", "/v1/events", EVENT, "value"),
    ("post", "/v1/events", EVENT, "event_id"),
    ("post", "/v1/events", EVENT, "timestamp"),
    ("post", "/v1/events", {"events": [EVENT]}, "events"),
    ("put", "/v1/learners/x1", LEARNER, "group"),
    ("put", "/v1/learners/x1", LEARNER, "interests"),
    ("put", "/v1/learners/x1", LEARNER, "credit_hours_required"),
    ("put", "/v1/learners/x1", LEARNER, "languages"),
    ("put", "/v1/learners/x1", LEARNER, "created_at"),
    ("put", "/v1/resources/x1", RESOURCE, "title"),
    ("put", "/v1/resources/x1", RESOURCE, "duration_minutes"),
    ("put", "/v1/resources/x1", RESOURCE, "credit_hours"),
    ("put", "/v1/resources/x1", RESOURCE, "withdrawn"),
    ("put", "/v1/resources/x1", RESOURCE, "available_from"),
    ("post", "/v1/recommendations/anonymous", ANONYMOUS, "k"),
    ("post", "/v1/recommendations/anonymous", ANONYMOUS, "interests"),
    ("post", "/v1/recommendations/anonymous", ANONYMOUS, "filters"),
]
# Raw JSON (Python's json module reads NaN, Infinity and 1e999; "\ud800" is a lone surrogate).
BAD_LITERALS = ["NaN", "Infinity", "-Infinity", "1e999", '"\\ud800"', '"a\\udfffb"']


def _with(body: dict, field: str, literal: str) -> bytes:
    """``body`` as JSON with ``field`` set to a raw JSON literal (inside the batch's first event
    for ``events``)."""
    marker = '"__MARK__"'
    if field == "events":
        text = '{"events": [' + _with(EVENT, "value", literal).decode() + "]}"
        return text.encode()
    import json
    return json.dumps({**body, field: "__MARK__"}).replace(marker, literal).encode()


@pytest.mark.parametrize("literal", BAD_LITERALS)
@pytest.mark.parametrize("method, path, body, field", FIELDS)
def test_non_finite_numbers_and_lone_surrogates_are_a_422_naming_the_field(
        client, method, path, body, field, literal):
    response = client.request(method, path, content=_with(body, field, literal),
                              headers={**KEY, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert any(field in problem["loc"] for problem in detail), detail
    assert "Retry-After" not in response.headers
    for problem in detail:
        assert set(problem) <= {"loc", "msg", "type", "input"}
        assert len(problem.get("input", "")) <= 40


def test_a_huge_invalid_batch_gets_a_small_422(make_client):
    """Every one of 1,000 events wrong in three fields, each field a 1,000-character string:
    the answer lists at most 20 problems plus a count of the rest, in a few kB."""
    bad = {**EVENT, "event_type": "x" * 1000, "value": "y" * 1000, "timestamp": "z" * 1000}
    with make_client(max_body_bytes=16 * 1024 * 1024) as client:
        response = client.post("/v1/events", json={"events": [bad] * 1000}, headers=KEY)
    assert response.status_code == 422
    assert len(response.content) < 8000
    detail = response.json()["detail"]
    assert len(detail) <= 21 and detail[-1]["type"] == "too_many_errors"
    assert detail[0]["loc"] == ["body", "batch", "events", 0, "event_type"], detail
    assert "x" * 41 not in response.text


def test_a_batch_over_the_limit_is_refused_before_its_events_are_validated(make_client):
    """1,001 events, every one invalid: the length is the problem, no event is looked at."""
    with make_client(max_body_bytes=16 * 1024 * 1024) as client:
        response = client.post("/v1/events", headers=KEY,
                               json={"events": [{**EVENT, "event_type": "x"}] * 1001})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [(p["loc"], p["type"]) for p in detail] == [(["body", "batch", "events"], "too_long")]


def test_a_lone_surrogate_in_a_key_is_echoed_escaped_and_short(client):
    response = client.put("/v1/learners/x1", headers={**KEY, "Content-Type": "application/json"},
                          content=b'{"group": "retiree", "\\ud800' + b"k" * 5000 + b'": 1}')
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["input"].startswith("'\\ud800kkk") and len(problem["input"]) <= 40


@pytest.mark.parametrize("method, path, body, field, value", [
    ("put", "/v1/learners/x1", LEARNER, "created_at", 0),
    ("put", "/v1/learners/x1", LEARNER, "created_at", "-99999999999"),
    ("put", "/v1/learners/x1", LEARNER, "created_at", "1700000000"),
    ("put", "/v1/learners/x1", LEARNER, "created_at", 1.5e9),
    ("put", "/v1/learners/x1", LEARNER, "created_at", "1899-12-31T23:59:59Z"),
    ("put", "/v1/learners/x1", LEARNER, "created_at", "2200-01-01T00:00:00Z"),
    ("post", "/v1/events", EVENT, "timestamp", 1735689600),
    ("put", "/v1/resources/x1", RESOURCE, "available_from", True),
    ("put", "/v1/resources/x1", RESOURCE, "withdrawn", 0),
    ("put", "/v1/resources/x1", RESOURCE, "withdrawn", 1),
    ("put", "/v1/resources/x1", RESOURCE, "withdrawn", "true"),
    ("put", "/v1/learners/x1", LEARNER, "credit_hours_required", False),
    ("put", "/v1/learners/x1", LEARNER, "credit_hours_required", "5"),
    ("post", "/v1/events", EVENT, "value", "1"),
    ("post", "/v1/recommendations/anonymous", ANONYMOUS, "k", "5"),
    ("post", "/v1/recommendations/anonymous", ANONYMOUS, "k", True),
    ("post", "/v1/recommendations/anonymous", ANONYMOUS, "k", 2.5),
    ("put", "/v1/learners/x1", LEARNER, "group", "\u00a0 "),  # white space only
    ("put", "/v1/learners/x1", LEARNER, "region", " " * 100 + "R1"),  # too long as sent
])
def test_strict_types_dates_are_iso_strings_and_nothing_is_coerced(
        client, method, path, body, field, value):
    response = client.request(method, path, json={**body, field: value}, headers=KEY)
    assert response.status_code == 422, (value, response.text)
    assert field in response.json()["detail"][0]["loc"]


def test_iso_date_times_in_the_range_and_json_booleans_are_taken(client):
    """What the schema allows is taken (17.0 is an integer to JSON Schema)."""
    response = client.post("/v1/recommendations/anonymous", json={**ANONYMOUS, "k": 3.0},
                           headers=KEY)
    assert response.status_code == 200 and len(response.json()["items"]) == 3
    for stamp in ("1900-01-01T00:00:00Z", "2199-12-31T23:59:59+08:00", "2025-03-01",
                  "2025-03-01T08:30:00.123456Z", "2025-03-01 08:30"):
        response = client.put("/v1/learners/x1", json={**LEARNER, "created_at": stamp},
                              headers=KEY)
        assert response.status_code == 200, (stamp, response.text)
    for withdrawn in (True, False):
        response = client.put("/v1/resources/x1", json={**RESOURCE, "withdrawn": withdrawn},
                              headers=KEY)
        assert response.status_code == 200, response.text


def test_the_schema_states_the_date_time_rule_and_the_error_bodies(client):
    schema = client.get("/openapi.json").json()
    created_at = schema["components"]["schemas"]["LearnerIn"]["properties"]["created_at"]
    moment = next(option for option in created_at["anyOf"] if option.get("type") == "string")
    assert moment["format"] == "date-time" and moment["pattern"].startswith("^(19|20|21)")
    assert re.match(moment["pattern"], "2025-03-01T08:30:00Z")
    assert not re.match(moment["pattern"], "2200-01-01T00:00:00Z")
    assert not re.match(moment["pattern"], "-99999999999")
    withdrawn = schema["components"]["schemas"]["ResourceIn"]["properties"]["withdrawn"]
    assert withdrawn["type"] == "boolean"
    for path, method in (("/v1/events", "post"), ("/v1/learners/{learner_id}", "put")):
        responses = schema["paths"][path][method]["responses"]
        assert {"400", "413", "422"} <= set(responses), responses.keys()
    assert "400" not in schema["paths"]["/v1/learners/{learner_id}/recommendations"]["get"][
        "responses"]
    unprocessable = schema["paths"]["/v1/resources/{resource_id}/similar"]["get"]["responses"][
        "422"]["content"]["application/json"]["schema"]["anyOf"]
    assert {option["$ref"].rsplit("/", 1)[1] for option in unprocessable} == {
        "ValidationErrorBody", "ErrorBody"}  # a list of problems, or one message


def test_a_body_that_is_not_utf8_is_a_documented_400(client):
    response = client.post("/v1/events", content=b'{"event_id": "\xff\xfe"}',
                           headers={**KEY, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body"}


def test_malformed_json_is_a_422_at_the_position(client):
    response = client.post("/v1/events", content=b'{"event_id": ',
                           headers={**KEY, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_permanent_errors_carry_no_retry_after_and_a_busy_database_does(client, monkeypatch):
    from recommender.store import StoreError

    refused = client.post("/v1/admin/reload", headers=ADMIN)  # reloads the same good bundle
    assert refused.status_code == 200
    for response in (client.get("/v1/learners/nobody/recommendations", headers=KEY),
                     client.put("/v1/learners/x1", json={}, headers=KEY)):
        assert response.status_code in (404, 422) and "Retry-After" not in response.headers
    runtime = client.app.state.runtime

    def busy(*args: object, **kwargs: object) -> None:
        raise StoreError("database is locked")

    monkeypatch.setattr(runtime.store, "upsert_learner", busy)
    response = client.put("/v1/learners/x1", json=LEARNER, headers=KEY)
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"


def test_no_bundle_is_a_503_without_retry_after(make_client, tmp_path):
    with make_client(source=tmp_path / "missing") as client:
        response = client.get("/v1/learners/d0/recommendations", headers=KEY)
    assert response.status_code == 503 and "Retry-After" not in response.headers


def test_docs_are_served_from_the_package(client):
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert urls and not [u for u in urls if "://" in u or u.startswith("//")], urls
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.content
    assert client.get("/redoc").status_code == 404  # ReDoc would need a CDN
