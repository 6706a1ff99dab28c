"""The time-aware model served: a learner's just-posted events move their list at once, through
the bundle's fold-in, with no retraining.

The world: ten learners complete A -> B -> C a day apart; ten others P -> Q -> R; twelve more
start X lately (the cohort's recent favourite); "t" has lately completed A and B, "u" only A.
(The world of tests/models/test_time_aware.py, with completions so done resources drop out.) Served by ``TimeAwareModel`` (recent popularity + sequence + co-access), u's next
step is B; after u posts a completion of B, it is C.
"""

from __future__ import annotations

import pandas as pd
import pytest

from recommender.bundle import build_bundle, save_bundle
from recommender.data import validate_dataset
from recommender.features import build_feature_set
from recommender.models import TimeAwareModel
from serving_world import KEY, ids

START = pd.Timestamp("2024-03-01", tz="UTC")


def _world():
    plan = [(f"l{i}", resource, 2 * i + step) for i in range(10)
            for step, resource in enumerate("ABC")]
    plan += [(f"x{i}", "X", 22 + i % 3) for i in range(12)]
    plan += [(f"p{i}", resource, 2 * i + step) for i in range(10)
             for step, resource in enumerate("PQR")]
    plan += [("t", "A", 23), ("t", "B", 24), ("u", "A", 24)]
    learner_ids = sorted({learner for learner, _, _ in plan})
    learners = pd.DataFrame({"learner_id": learner_ids, "group": "adult_learner",
                             "interests": "learning", "languages": "zh"})
    resource_ids = sorted({resource for _, resource, _ in plan})
    resources = pd.DataFrame({"resource_id": resource_ids,
                              "title": [f"course {r}" for r in resource_ids],
                              "category": "digital_literacy", "mode": "online", "language": "zh"})
    events = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(plan))],
        "learner_id": [learner for learner, _, _ in plan],
        "resource_id": [resource for _, resource, _ in plan],
        "event_type": "complete", "value": None,
        "timestamp": [(START + pd.Timedelta(days=day)).isoformat() for _, _, day in plan],
    })
    return validate_dataset(learners, resources, events)


@pytest.fixture(scope="module")
def time_aware_dir(tmp_path_factory):
    world = _world()
    features = build_feature_set(world)
    model = TimeAwareModel(weights=(0.25, 0.5, 0.25)).fit(features)
    bundle = build_bundle(model, None, features, {"version": "time-aware-1"})
    return save_bundle(bundle, tmp_path_factory.mktemp("time_aware") / "bundle")


def test_posted_events_move_the_time_aware_list_without_retraining(make_client, time_aware_dir):
    with make_client(source=time_aware_dir) as first, make_client(source=time_aware_dir) as second:
        before = first.get("/v1/learners/u/recommendations?k=2", headers=KEY)
        assert before.status_code == 200, before.text
        assert ids(before)[0] == "B" and before.json()["cold_start"] is False
        posted = first.post("/v1/events", headers=KEY, json={
            "event_id": "u-b", "learner_id": "u", "resource_id": "B",
            "event_type": "complete", "timestamp": (START + pd.Timedelta(days=25)).isoformat()})
        assert posted.status_code == 201
        after = second.get("/v1/learners/u/recommendations?k=2", headers=KEY)  # another worker
        assert after.status_code == 200, after.text
        assert ids(after)[0] == "C" and "B" not in ids(after)
        assert after.json()["cold_start_path"] == "fold_in"
        assert after.json()["model_version"] == before.json()["model_version"]  # no retraining


def test_a_newcomers_first_steps_point_to_their_next_step(make_client, time_aware_dir):
    """Unknown to the bundle: the profile alone does not point to C; after completing A and B
    through the API, the sequence says C, at once, on another worker."""
    with make_client(source=time_aware_dir) as first, make_client(source=time_aware_dir) as second:
        profile = {"group": "adult_learner", "interests": "learning", "languages": ["zh"]}
        assert first.put("/v1/learners/n", json=profile, headers=KEY).status_code == 200
        before = first.get("/v1/learners/n/recommendations?k=1", headers=KEY).json()
        assert before["cold_start_path"] == "profile" and ids_of(before) != ["C"]
        for step, resource_id in enumerate("AB"):
            assert first.post("/v1/events", headers=KEY, json={
                "event_id": f"n-{resource_id}", "learner_id": "n", "resource_id": resource_id,
                "event_type": "complete",
                "timestamp": (START + pd.Timedelta(days=25 + step)).isoformat(),
            }).status_code == 201
        after = second.get("/v1/learners/n/recommendations?k=1", headers=KEY).json()
        assert after["cold_start_path"] == "fold_in" and ids_of(after) == ["C"]


def ids_of(body: dict) -> list[str]:
    return [item["resource_id"] for item in body["items"]]
