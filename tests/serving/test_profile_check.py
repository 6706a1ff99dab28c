"""PUT /v1/learners checks the profile against what the served model can use: one it cannot
place is a 422 naming the field at once, and is not stored (issue 16: it was stored, and every
later list was a 422 naming a parameter the client never sent)."""

from __future__ import annotations

from recommender.store import Store
from serving_world import KEY

UNKNOWN = {"group": "astronaut", "region": "Mars"}


def test_a_profile_the_model_cannot_place_is_refused_at_put_and_not_stored(client):
    refused = client.put("/v1/learners/newcomer", json=UNKNOWN, headers=KEY)
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert detail.startswith("parameter 'group'")
    assert "none of the fields sent (group, region)" in detail
    assert "astronaut" not in detail and "Mars" not in detail  # names fields, not values
    listed = client.get("/v1/learners/newcomer/recommendations", headers=KEY)
    assert listed.status_code == 404  # nothing was stored


def test_usable_profiles_are_stored_and_listed(client):
    for learner_id, profile in (
        ("n1", {"group": "retiree"}),  # a group the model knows
        ("n2", {"group": "astronaut", "interests": "想学智能手机"}),  # interests it can read
        ("d0", UNKNOWN),  # a trained learner: the model has their vector
    ):
        put = client.put(f"/v1/learners/{learner_id}", json=profile, headers=KEY)
        assert put.status_code == 200, (learner_id, put.json())
        listed = client.get(f"/v1/learners/{learner_id}/recommendations", headers=KEY)
        assert listed.status_code == 200 and listed.json()["items"], learner_id


def test_a_refused_profile_leaves_the_stored_one_in_place(client):
    assert client.put("/v1/learners/n3", json={"group": "retiree"}, headers=KEY).status_code == 200
    assert client.put("/v1/learners/n3", json=UNKNOWN, headers=KEY).status_code == 422
    store: Store = client.app.state.runtime.store
    assert store.get_learner("n3").profile["group"] == "retiree"
    assert client.get("/v1/learners/n3/recommendations", headers=KEY).status_code == 200


def test_with_no_model_loaded_the_profile_is_stored_unchecked(make_client, tmp_path):
    with make_client(source=tmp_path / "no-bundle-here") as client:
        assert client.get("/ready").status_code == 503
        put = client.put("/v1/learners/newcomer", json=UNKNOWN, headers=KEY)
        assert put.status_code == 200 and put.json()["created"] is True
        store: Store = client.app.state.runtime.store
        assert store.get_learner("newcomer").profile["group"] == "astronaut"
