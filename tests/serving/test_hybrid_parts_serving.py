"""A hybrid of tuned parts (each part a model spec with its own hyper-parameters, the blend
weights tuned too) round-trips through a bundle and the API serves it: the loaded model is that
hybrid, and each listed item's score is the trained learner vector against the item's vector."""

from __future__ import annotations

import numpy as np
import pytest
from serving_world import KEY

from recommender.bundle import build_bundle, load_bundle, save_bundle
from recommender.features import build_feature_set
from recommender.models import ALSModel, EASEModel, HybridModel
from recommender.selection import build_model

TUNED = {
    "parts": {"ease": {"regularization": 50.0},
              "als": {"factors": 8, "iterations": 15, "regularization": 0.05, "alpha": 4.0}},
    "weights": {"ease": 0.7, "als": 0.3},
}


def test_a_hybrid_of_tuned_parts_round_trips_and_serves(world, make_client, tmp_path) -> None:
    features = build_feature_set(world)
    model = build_model("hybrid", TUNED, random_state=0).fit(features)
    path = save_bundle(build_bundle(model, None, features, {"version": "hybrid-tuned-1"},
                                    regions=world.regions), tmp_path / "bundle")

    loaded = load_bundle(path).model
    assert isinstance(loaded, HybridModel)
    parts = {part.name: part for part in loaded.parts_}
    assert isinstance(parts["ease"].model, EASEModel)
    assert parts["ease"].model.regularization == 50.0
    assert isinstance(parts["als"].model, ALSModel)
    assert (parts["als"].model.factors, parts["als"].model.alpha) == (8, 4.0)
    assert parts["ease"].weight == pytest.approx(0.7) and parts["als"].weight == pytest.approx(0.3)
    np.testing.assert_array_equal(loaded.resource_factors_, model.resource_factors_)

    with make_client(source=path) as client:
        assert client.get("/health").json()["bundle_version"] == "hybrid-tuned-1"
        for learner_id in ("d0", "f3"):
            response = client.get(f"/v1/learners/{learner_id}/recommendations",
                                  params={"k": 5}, headers=KEY)
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            assert len(items) == 5
            vector = model.learner_factors_[features.learner_map.index_of(learner_id)]
            for item in items:
                resource = model.resource_factors_[
                    features.resource_map.index_of(item["resource_id"])]
                assert item["score"] == pytest.approx(float(vector @ resource), abs=1e-4)
            # the learner's own taste first: d* learners use topic 0, f* topic 1 (i % 3)
            first = int(items[0]["resource_id"][1:])
            assert first % 3 == (0 if learner_id.startswith("d") else 1)
