"""A newcomer's stated interests fade as their history grows instead of vanishing at the first
event (issue 17), and ``cold_start`` is true only while no history of theirs is used.

The serving world (serving_world.py): topics by ``i % 3`` (0 digital literacy, 1 farming, 2
health); the newcomer states a farming interest, then views digital-literacy resources.
"""

from __future__ import annotations

from serving_world import KEY

PROFILE = {"group": "rural_resident", "region": "R2", "languages": ["zh"],
           "interests": "想学果树种植和果树修剪技术"}
DIGITAL = [f"r{i:02d}" for i in range(0, 30, 3)]  # ten digital-literacy resources


def view(n: int, resource_id: str) -> dict:
    return {"event_id": f"fade{n}", "learner_id": "newbie", "resource_id": resource_id,
            "event_type": "view", "timestamp": f"2026-01-{1 + n:02d}T08:00:00Z"}


def listed(client) -> dict:
    response = client.get("/v1/learners/newbie/recommendations", params={"k": 10}, headers=KEY)
    assert response.status_code == 200, response.text
    return response.json()


def digital_share(items: list[str]) -> float:
    return sum(int(i[1:]) % 3 == 0 for i in items) / len(items)


def test_stated_interests_fade_but_do_not_vanish(make_client):
    with make_client() as client, make_client(profile_prior_events=0.0) as forgetful:
        assert client.put("/v1/learners/newbie", json=PROFILE, headers=KEY).status_code == 200
        stated = listed(client)
        assert (stated["cold_start"], stated["vector_path"]) == (True, "profile")
        profile_items = set(ids_of(stated))
        assert digital_share(ids_of(stated)) <= 0.2  # a farming list

        assert client.post("/v1/events", json=view(0, DIGITAL[0]), headers=KEY).status_code == 201
        one = listed(client)
        assert (one["cold_start"], one["vector_path"]) == (False, "profile+history")
        kept_one = len(profile_items & set(ids_of(one)))
        assert kept_one >= 6  # most of the profile's list survives one event
        replaced = listed(forgetful)  # the old behaviour: the event replaces the profile
        assert replaced["vector_path"] == "history"
        assert kept_one > len(profile_items & set(ids_of(replaced)))

        events = {"events": [view(n, r) for n, r in enumerate(DIGITAL[1:], start=1)]}
        assert client.post("/v1/events", json=events, headers=KEY).status_code == 201
        ten = listed(client)
        assert ten["vector_path"] == "profile+history"
        assert len(profile_items & set(ids_of(ten))) < kept_one  # toward the history
        assert digital_share(ids_of(ten)) > digital_share(ids_of(one))


def ids_of(body: dict) -> list[str]:
    return [item["resource_id"] for item in body["items"]]


