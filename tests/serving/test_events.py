"""POST /v1/events: validation, durability, idempotency, and read-your-write on another worker."""

from __future__ import annotations

import pytest

from recommender.serving.schemas import EventIn
from recommender.store import EventRecord, Store
from serving_world import KEY, ids


def event(event_id="n1", learner_id="d0", resource_id="r01", event_type="complete", **extra):
    return {"event_id": event_id, "learner_id": learner_id, "resource_id": resource_id,
            "event_type": event_type, "timestamp": "2025-03-01T08:30:00Z", **extra}


def test_one_event_and_a_batch_are_stored_before_the_acknowledgement(client, database_url):
    one = client.post("/v1/events", json=event(), headers=KEY)
    assert one.status_code == 201
    assert one.json() == {"stored": 1, "duplicates": 0,
                          "results": [{"event_id": "n1", "status": "stored"}]}
    batch = client.post("/v1/events", headers=KEY, json={"events": [
        event("n2", event_type="view"), event("n3", event_type="rate", value=4.5)]})
    assert batch.status_code == 201 and batch.json()["stored"] == 2
    fresh = Store.from_url(database_url)  # another connection: it is committed
    assert fresh.count_events() == 3
    assert fresh.get_event("n3").value == 4.5
    fresh.dispose()


def test_same_event_again_is_a_harmless_duplicate(client):
    assert client.post("/v1/events", json=event(), headers=KEY).status_code == 201
    again = client.post("/v1/events", json=event(), headers=KEY)
    assert again.status_code == 200
    assert again.json() == {"stored": 0, "duplicates": 1,
                            "results": [{"event_id": "n1", "status": "duplicate"}]}
    mixed = client.post("/v1/events", headers=KEY,
                        json={"events": [event(), event("n2", event_type="view")]})
    assert mixed.status_code == 201
    assert [r["status"] for r in mixed.json()["results"]] == ["duplicate", "stored"]


def test_same_id_with_another_payload_is_409_and_stores_nothing(client, database_url):
    client.post("/v1/events", json=event(), headers=KEY)
    clash = client.post("/v1/events", headers=KEY, json={"events": [
        event("n9", event_type="view"), event(event_type="dismiss")]})
    assert clash.status_code == 409 and "n1" in clash.json()["detail"]
    inside = client.post("/v1/events", headers=KEY, json={"events": [
        event("n7", event_type="view"), event("n7", event_type="rate")]})
    assert inside.status_code == 409
    store = Store.from_url(database_url)
    assert store.get_event("n9") is None and store.get_event("n7") is None
    store.dispose()


def test_invalid_events_are_422_naming_the_item_and_field(client):
    cases = [
        ({"events": [event(), event("n2", event_type="watch")]}, "event_type"),
        (event(timestamp="yesterday"), "timestamp"),
        (event(timestamp="1066-10-14T00:00:00Z"), "timestamp"),
        (event(value="NaN"), "value"),
        ({k: v for k, v in event().items() if k != "learner_id"}, "learner_id"),
        (event(learner_id=""), "learner_id"),
        (event(extra_field=1), "extra_field"),
        ({"events": []}, "events"),
    ]
    for body, field in cases:
        response = client.post("/v1/events", json=body, headers=KEY)
        assert response.status_code == 422, (body, response.text)
        assert field in str(response.json()["detail"])


def test_unknown_learner_or_resource_is_422(client):
    response = client.post("/v1/events", headers=KEY, json={"events": [
        event("n1"), event("n2", learner_id="ghost"), event("n3", resource_id="nothing")]})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "events[1].learner_id" in detail and "events[2].resource_id" in detail


def test_next_list_on_another_worker_reflects_the_event(make_client):
    """Two app instances sharing one SQLite file, as two uvicorn workers do."""
    with make_client() as worker_a, make_client() as worker_b:
        before = worker_b.get("/v1/learners/d0/recommendations", params={"k": 36},
                              headers=KEY).json()
        assert before["cold_start_path"] is None
        top = before["items"][0]["resource_id"]
        farming = [f"r{i:02d}" for i in range(1, 24, 3)]
        events = [event(f"m{i}", resource_id=r, event_type="complete")
                  for i, r in enumerate([top, *farming[:4]])]
        assert worker_a.post("/v1/events", json={"events": events},
                             headers=KEY).status_code == 201
        after = worker_b.get("/v1/learners/d0/recommendations", params={"k": 36},
                             headers=KEY).json()
        assert after["cold_start_path"] == "fold_in" and after["vector_path"] == "history"
        assert after["cold_start"] is False  # their history is used: not a cold start
        returned = [item["resource_id"] for item in after["items"]]
        assert top not in returned and not set(farming[:4]) & set(returned)
        assert [i["score"] for i in after["items"]] != [i["score"] for i in before["items"]]
        # the new history explains, in d0's language (zh)
        completed = [i["reason"] for i in after["items"] if i["reason"].startswith("因为你学完了")]
        assert any("果树" in reason for reason in completed)


def test_a_dismissal_removes_the_resource_at_once(client):
    first = client.get("/v1/learners/f0/recommendations", params={"k": 1},
                       headers=KEY).json()["items"][0]["resource_id"]
    client.post("/v1/events", json=event("x", "f0", first, "dismiss"), headers=KEY)
    assert first not in ids(client.get("/v1/learners/f0/recommendations", params={"k": 36},
                                       headers=KEY))


def test_events_are_taken_even_with_no_model_loaded(make_client, tmp_path):
    with make_client(source=tmp_path / "missing") as client:
        assert client.get("/v1/learners/d0/recommendations", headers=KEY).status_code == 503
        assert client.post("/v1/events", json=event(), headers=KEY).status_code == 201


@pytest.mark.parametrize("row", [
    {"event_id": " e1 ", "learner_id": "d0", "resource_id": "r01", "event_type": "view",
     "value": None, "timestamp": "2025-03-01T08:30:00+08:00"},
    {"event_id": "e2", "learner_id": "d0", "resource_id": "r01", "event_type": "rate",
     "value": 3.5, "timestamp": "2025-03-01T08:30:00"},
])
def test_api_events_equal_what_the_data_contract_makes_of_them(row):
    """The fast path (request model -> record) and the contract's own validation agree."""
    model = EventIn.model_validate(row)
    fast = EventRecord.of(model.event_id, model.learner_id, model.resource_id,
                          model.event_type, model.value, model.timestamp)
    assert fast == EventRecord.validate_many([row])[0]


@pytest.mark.parametrize("field, value", [
    ("event_type", "watch"), ("event_id", "  "), ("timestamp", "soon"), ("value", "x"),
])
def test_request_model_refuses_what_the_data_contract_refuses(field, value):
    from pydantic import ValidationError

    from recommender.errors import DataValidationError

    row = {**event(), "value": None, field: value}
    with pytest.raises(DataValidationError):
        EventRecord.validate_many([row])
    with pytest.raises(ValidationError):
        EventIn.model_validate(row)
