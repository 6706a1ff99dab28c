"""Serving never rebuilds the id maps: the bundle's stored id order is the index order, end to end.

Loading builds each map once, from the ids in the order the bundle stored them, and the model,
its cold start and the served model all share those two objects; serving a bundle builds none.
A bundle stored in another order therefore serves the same ids with the same vectors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from serving_world import KEY

from recommender.bundle import Bundle, build_bundle, load_bundle, save_bundle
from recommender.data import Dataset, validate_dataset
from recommender.features import build_feature_set
from recommender.features.idmap import IdMap
from recommender.models import ALSModel
from recommender.delivery.core import DeliveryCore, ListRequest
from recommender.delivery.served import ServedModel


@contextmanager
def built_id_maps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, list[str]]]]:
    """Every IdMap constructed inside the block, as (kind, ids)."""
    built: list[tuple[str, list[str]]] = []
    original = IdMap.__init__

    def recording(self: IdMap, kind: str, ids) -> None:
        original(self, kind, ids)
        built.append((kind, [str(i) for i in self.ids]))

    with monkeypatch.context() as patch:
        patch.setattr(IdMap, "__init__", recording)
        yield built


def test_loading_builds_each_map_once_from_the_stored_order_and_shares_it(
    bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored_learners = pd.read_parquet(bundle_dir / "learners.parquet")["learner_id"].tolist()
    stored_resources = pd.read_parquet(bundle_dir / "resources.parquet")["resource_id"].tolist()
    with built_id_maps(monkeypatch) as built:
        bundle = load_bundle(bundle_dir)
    assert built == [("learner", stored_learners), ("resource", stored_resources)]
    assert bundle.can_cold_start  # a format-2 bundle: the model state rebuilt no maps of its own
    assert bundle.cold_start.learner_map_ is bundle.learner_map
    assert bundle.cold_start.resource_map_ is bundle.resource_map


def test_serving_a_bundle_builds_no_id_map(
    bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = load_bundle(bundle_dir)
    with built_id_maps(monkeypatch) as built:
        served = ServedModel.from_bundle(bundle)
        core = DeliveryCore(served)
        for learner_id in bundle.learner_map.ids[:3]:
            core.deliver(core.learner(str(learner_id)), ListRequest(k=5, now=None))
            assert served.learner_idx(str(learner_id)) == bundle.learner_map.index_of(learner_id)
    assert built == []
    assert served.bundle.learner_map is bundle.learner_map
    assert served.bundle.resource_map is bundle.resource_map
    np.testing.assert_array_equal(served.resource_ids, bundle.resource_map.ids)


def test_the_api_builds_no_bundle_sized_id_map_per_request(
    make_client, served_bundle: Bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trained, folded-in (after a new event) and profile-placed learners alike: at most the
    one-learner map a fold-in reads its new events through."""
    with make_client() as client:
        client.get("/v1/learners/d0/recommendations", headers=KEY)  # the model is loaded
        with built_id_maps(monkeypatch) as built:
            posted = client.post("/v1/events", headers=KEY, json={
                "event_id": "n1", "learner_id": "d1", "resource_id": "r04",
                "event_type": "view", "timestamp": "2025-03-01T08:30:00Z"})
            assert posted.status_code == 201
            paths = {}
            for learner_id in ("d0", "d1", "quiet"):
                response = client.get(f"/v1/learners/{learner_id}/recommendations",
                                      params={"k": 5}, headers=KEY)
                assert response.status_code == 200
                paths[learner_id] = response.json()["cold_start_path"]
    assert paths == {"d0": None, "d1": "fold_in", "quiet": "profile"}
    too_big = [(kind, len(ids)) for kind, ids in built if kind == "resource" or len(ids) > 1]
    assert too_big == []


@pytest.fixture(scope="module")
def reordered_world(world: Dataset) -> Dataset:
    """The served world with its learners and resources listed in reverse (ids sort the other
    way), so any map rebuilt by sorting or from another table would disagree with the stored
    order."""
    return validate_dataset(world.learners.iloc[::-1], world.resources.iloc[::-1],
                            world.events, world.regions)


@pytest.fixture(scope="module")
def reordered(reordered_world: Dataset, tmp_path_factory: pytest.TempPathFactory):
    features = build_feature_set(reordered_world)
    model = ALSModel(factors=8, iterations=15, regularization=0.05).fit(features)
    bundle = build_bundle(model, None, features, {"version": "als-reordered"},
                          regions=reordered_world.regions)
    path = save_bundle(bundle, tmp_path_factory.mktemp("reordered") / "bundle")
    return features, model, path


def test_a_bundle_stored_in_another_order_serves_ids_by_that_order(reordered, make_client) -> None:
    features, model, path = reordered
    loaded = load_bundle(path)
    resource_ids = [str(i) for i in features.resource_map.ids]
    assert resource_ids == sorted(resource_ids, reverse=True)  # not the catalog's sorted order
    assert list(loaded.resource_map.ids) == resource_ids
    assert list(loaded.learner_map.ids) == [str(i) for i in features.learner_map.ids]
    with make_client(source=path) as client:
        for learner_id in ("d0", "f3"):
            items = client.get(f"/v1/learners/{learner_id}/recommendations",
                               params={"k": 8}, headers=KEY).json()["items"]
            assert len(items) == 8
            vector = model.learner_factors_[features.learner_map.index_of(learner_id)]
            for item in items:  # each id scored with its own trained vector
                resource = model.resource_factors_[features.resource_map.index_of(
                    item["resource_id"])]
                assert item["score"] == pytest.approx(float(vector @ resource), abs=1e-4)


def _reversed_vectors_only(bundle: Bundle) -> Bundle:
    """The same model (vectors, history, catalog) with resources and learners stored in
    reverse; format 1 (vectors only), so nothing else needs reordering."""
    rows, cols = np.arange(len(bundle.learner_map))[::-1], np.arange(len(bundle.resource_map))[::-1]
    return Bundle(
        learner_map=IdMap("learner", bundle.learner_map.ids[rows]),
        resource_map=IdMap("resource", bundle.resource_map.ids[cols]),
        learner_factors=bundle.learner_factors[rows],
        resource_factors=bundle.resource_factors[cols],
        exclusions=bundle.exclusions[rows][:, cols],
        interactions=bundle.interactions[rows][:, cols],
        resources=bundle.resources.iloc[cols].reset_index(drop=True),
        learners=bundle.learners.iloc[rows].reset_index(drop=True),
        manifest={"version": "reversed"},
    )


def _vectors_only(bundle: Bundle) -> Bundle:
    return Bundle(
        learner_map=bundle.learner_map, resource_map=bundle.resource_map,
        learner_factors=bundle.learner_factors, resource_factors=bundle.resource_factors,
        exclusions=bundle.exclusions, interactions=bundle.interactions,
        resources=bundle.resources, learners=bundle.learners, manifest={"version": "plain"},
    )


def test_the_same_model_stored_in_another_order_gives_the_same_lists(
    served_bundle: Bundle, tmp_path: Path
) -> None:
    plain = load_bundle(save_bundle(_vectors_only(served_bundle), tmp_path / "plain"))
    flipped = load_bundle(save_bundle(_reversed_vectors_only(served_bundle), tmp_path / "flip"))
    assert list(flipped.resource_map.ids) == list(plain.resource_map.ids)[::-1]
    one = DeliveryCore(ServedModel.from_bundle(plain))
    two = DeliveryCore(ServedModel.from_bundle(flipped))
    everything = len(plain.resource_map)  # whole lists: ties (a zero vector) cannot reorder them
    request = ListRequest(k=everything, now=None)
    for learner_id in plain.learner_map.ids:
        list_one = one.deliver(one.learner(str(learner_id)), request).items
        list_two = two.deliver(two.learner(str(learner_id)), request).items
        row = plain.learner_map.index_of(learner_id)
        done = set(plain.resource_map.ids[plain.exclusions[row].indices])
        assert len(list_one) == len(list_two) > 0
        assert not done & {p.resource_id for p in list_one}  # done with: left out
        assert {p.resource_id: round(p.score, 5) for p in list_one} == {
            p.resource_id: round(p.score, 5) for p in list_two}
