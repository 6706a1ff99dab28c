"""Format-2 bundles carry the fitted model and its cold start as JSON + arrays (no pickle):
after save and load, recommend, fold-in, new-resource vectors and profile vectors are identical."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recommender.bundle import build_bundle, load_bundle, manifest_checksum, save_bundle
from recommender.data import Dataset, validate_dataset
from recommender.errors import BundleError
from recommender.features import FeatureSet, build_feature_set
from recommender.models import (
    ALSModel,
    BPRModel,
    ColdStart,
    ContentModel,
    EASEModel,
    GroupPopularityModel,
    HistoryAges,
    HybridModel,
    LearnerHistory,
    PopularityModel,
    TimeAwareModel,
)
from recommender.selection import SearchCV, build_model

DIGITAL = ["智能手机入门", "微信视频通话", "手机拍照技巧", "网上挂号指南", "移动支付安全", "电脑打字基础"]
FARMING = ["大棚蔬菜种植", "果树修剪技术", "水稻病虫害防治", "农机操作与保养", "畜禽养殖入门", "土壤施肥技术"]
TINY_ALS = {"factors": 4, "iterations": 30, "regularization": 0.01}


def _world() -> Dataset:
    """Two tastes (as in tests/models/test_cold_start.py): retirees learn digital skills,
    rural residents farming; c1 signed up with a stated interest and no events."""
    resources = pd.DataFrame({
        "resource_id": [f"d{i}" for i in range(1, 7)] + [f"f{i}" for i in range(1, 7)],
        "title": DIGITAL + FARMING,
        "description": ["教中老年人使用智能手机和上网"] * 6 + ["农业技术培训，服务种植养殖户"] * 6,
        "category": ["digital_literacy"] * 6 + ["agricultural_technology"] * 6,
        "mode": ["online"] * 12,
    })
    learners = pd.DataFrame({
        "learner_id": [f"a{i}" for i in range(1, 7)] + [f"b{i}" for i in range(1, 7)] + ["c1"],
        "group": ["retiree"] * 6 + ["rural_resident"] * 6 + ["youth"],
        "age_band": ["65+"] * 6 + ["35-44"] * 6 + ["16-24"],
        "interests": ["想学用手机"] * 6 + ["想学种地技术"] * 6 + ["想学大棚蔬菜种植和果树修剪技术"],
    })
    rows = []
    for topic, prefix in (("d", "a"), ("f", "b")):
        for i in range(6):
            for step in range(4):
                for kind in (("view", "complete") if step < 2 else ("view",)):
                    rows.append({
                        "event_id": f"e{len(rows) + 1}", "learner_id": f"{prefix}{i + 1}",
                        "resource_id": f"{topic}{(i + step) % 6 + 1}", "event_type": kind,
                        "value": "",
                        "timestamp": f"2024-03-{1 + len(rows) // 24:02d}T{len(rows) % 24:02d}:00Z",
                    })
    return validate_dataset(learners, resources, pd.DataFrame(rows))

MAKERS = {
    "als": lambda: ALSModel(**TINY_ALS),
    "bpr": lambda: BPRModel(factors=4, iterations=50, learning_rate=0.1),
    "ease": lambda: EASEModel(regularization=1.0),
    "content": lambda: ContentModel(n_components=16),
    "popularity": PopularityModel,
    "group_popularity": GroupPopularityModel,
    "hybrid": lambda: HybridModel(
        parts=(("als", ALSModel(**TINY_ALS)), ("content", ContentModel(n_components=16))),
        weights=(0.5, 0.5),
    ),
    # a search is saved as the estimator it chose; options that swap in other part classes
    "hybrid_search": lambda: build_model("hybrid", {"parts": (
        ("als", ALSModel(**TINY_ALS)), ("content", ContentModel(n_components=16)))}),
    "time_aware_search": lambda: build_model("time_aware", {"peers": True, "breadth_groups": 2}),
}
NEW_RESOURCE = pd.DataFrame({
    "resource_id": ["d7"], "title": ["智能手机视频通话入门"], "description": ["教中老年人使用智能手机"],
    "category": ["digital_literacy"], "mode": ["online"], "level": ["beginner"],
})
PROFILE = {"group": "retiree", "age_band": "65+", "interests": "我想学智能手机 smartphone"}


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    return build_feature_set(_world())


@pytest.fixture(scope="module")
def round_trips(features, tmp_path_factory):
    """Per model kind: the bundle as built, and as loaded back from disk."""
    out = {}
    for name, make in MAKERS.items():
        bundle = build_bundle(make().fit(features), None, features, {"version": f"{name}-t"})
        path = save_bundle(bundle, tmp_path_factory.mktemp(name) / "bundle")
        out[name] = (bundle, load_bundle(path))
    return out


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_model_and_cold_start_round_trip_exactly(name, round_trips, features):
    built, loaded = round_trips[name]
    assert loaded.manifest["format_version"] == 3 and loaded.can_cold_start
    assert loaded.model.learner_factors_ is loaded.learner_factors  # stored once
    assert not isinstance(loaded.model, SearchCV)
    if name.endswith("_search"):  # the plain estimator with the chosen parameters
        chosen = loaded.manifest["selection"]["best_params"]
        assert loaded.model.get_params()["weights"] == pytest.approx(tuple(chosen["weights"]))
    if name == "time_aware_search":
        assert type(loaded.model) is TimeAwareModel
        assert loaded.model.window_days == chosen["window_days"]
        assert [part.name for part in loaded.model.parts_][-2:] == ["peers", "breadth"]
    learners = np.arange(len(features.learner_map))
    for a, b in zip(built.model.recommend(learners, 5, features.exclusions),
                    loaded.model.recommend(learners, 5, loaded.exclusions)):
        np.testing.assert_array_equal(a, b)
    history = features.resource_map.indices_of(["f1", "f2", "d3"])
    confidence = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    folded = LearnerHistory(history, confidence, HistoryAges(
        np.array([3.0, 1.0, 9.0]), np.array([0.0, 1.0, 9.0])))
    np.testing.assert_array_equal(built.model.fold_in(folded, PROFILE),
                                  loaded.model.fold_in(folded, PROFILE))
    np.testing.assert_array_equal(built.cold_start.resource_vectors(NEW_RESOURCE).vectors,
                                  loaded.cold_start.resource_vectors(NEW_RESOURCE).vectors)
    if name not in ("popularity",):  # global popularity has no profile to go on
        a = built.cold_start.learner_vector(profile=PROFILE)
        b = loaded.cold_start.learner_vector(profile=PROFILE)
        assert a.cold_start == b.cold_start == "profile"
        np.testing.assert_array_equal(a.vector, b.vector)
    c1 = features.learner_map.index_of("c1")  # known, no events: their own profile row
    np.testing.assert_array_equal(built.cold_start.learner_vector(learner_idx=c1).vector,
                                  loaded.cold_start.learner_vector(learner_idx=c1).vector)


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_fresh_and_restored_cold_start_give_the_same_learner_vectors(name, round_trips,
                                                                      features):
    """One code path: the cold start fitted in training answers as the one serving loads, for a
    learner with history, the same learner with fresh events, a newcomer with events and a
    profile-only newcomer (the time-aware search reads ages, so the history's ages count)."""
    built, loaded = round_trips[name]
    fresh, restored = built.cold_start, loaded.cold_start
    assert not hasattr(fresh, "events_") and not hasattr(restored, "events_")
    pd.testing.assert_frame_equal(fresh.learners_, restored.learners_,  # the same profile rows
                                  check_dtype=False)  # (parquet reads text back as strings)
    a1 = features.learner_map.index_of("a1")
    events = pd.DataFrame({
        "event_id": ["n1", "n2", "n3"], "learner_id": ["a1"] * 3,
        "resource_id": ["f1", "f2", "d1"], "event_type": ["enroll", "complete", "view"],
        "value": [np.nan] * 3,
        "timestamp": pd.to_datetime(["2024-06-01T08:00Z", "2024-06-01T09:00Z",
                                     "2024-06-02T09:00Z"]),
    })
    requests = [
        {"learner_idx": a1},
        {"learner_idx": a1, "events": events},
        {"learner_idx": a1, "resource_idx": features.resource_map.indices_of(["f3"])},
        {"events": events.drop(columns="learner_id")},
    ]
    if name != "popularity":  # global popularity has no profile to go on
        requests.append({"profile": PROFILE})
    for request in requests:
        a, b = fresh.learner_vector(**request), restored.learner_vector(**request)
        assert a.cold_start == b.cold_start
        np.testing.assert_array_equal(a.vector, b.vector)
    assert fresh.learner_vector(learner_idx=a1, events=events).cold_start == "fold_in"


def test_state_is_json_and_arrays_only(round_trips, tmp_path):
    path = save_bundle(round_trips["hybrid"][0], tmp_path / "b")
    state = json.loads((path / "state.json").read_text())
    assert state["model"]["kind"] == "hybrid"
    with np.load(path / "state.npz", allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)


def test_tampered_or_foreign_state_is_refused(round_trips, tmp_path):
    path = save_bundle(round_trips["als"][0], tmp_path / "b")
    manifest = json.loads((path / "manifest.json").read_text())
    state = json.loads((path / "state.json").read_text())
    state["model"]["kind"] = "mystery"
    (path / "state.json").write_text(json.dumps(state))
    with pytest.raises(BundleError, match="state.json does not match"):
        load_bundle(path)
    manifest["files"]["state.json"] = __import__("recommender.bundle").bundle._sha256(
        path / "state.json")
    manifest["manifest_sha256"] = manifest_checksum(manifest)  # a consistent re-seal
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="model kind 'mystery'"):
        load_bundle(path)


def test_version_one_bundles_still_load_without_a_model(tiny_bundle, tmp_path):
    loaded = load_bundle(save_bundle(tiny_bundle, tmp_path / "b"))
    assert loaded.model is None and not loaded.can_cold_start


def test_a_bundle_written_before_the_searches_moved_out_still_loads(round_trips, tmp_path):
    """Bundles from when the hybrid and recency models searched inside fit name parameters
    that now belong to the searches (and a recency part's chosen window_days_): dropped on
    load; any other unknown parameter is still refused."""
    path = save_bundle(round_trips["time_aware_search"][0], tmp_path / "b")
    state_path = path / "state.json"
    state = json.loads(state_path.read_text())
    model = state["model"]["state"]
    model["params"].update(validation_cuts=3, horizon_days=7.0, window_candidates=[3, 7],
                           k=10, grid_step=0.5)
    model["interaction_weights"] = None
    recency = model["parts"][0]["model"]["state"]
    recency["params"].update(window_candidates=[1, 3], validation_cuts=3, horizon_days=7.0)
    recency["fitted"]["window_days_"] = 3.0

    def write(state: dict) -> None:
        state_path.write_text(json.dumps(state))
        manifest = json.loads((path / "manifest.json").read_text())
        manifest["files"]["state.json"] = __import__("recommender.bundle").bundle._sha256(
            state_path)
        manifest["manifest_sha256"] = manifest_checksum(manifest)
        (path / "manifest.json").write_text(json.dumps(manifest))

    write(state)
    loaded = load_bundle(path)
    np.testing.assert_array_equal(loaded.model.learner_factors_,
                                  round_trips["time_aware_search"][1].model.learner_factors_)
    assert not hasattr(loaded.model.parts_[0].model, "window_days_")
    recency["params"]["mystery"] = 1
    write(state)
    with pytest.raises(BundleError, match="mystery"):
        load_bundle(path)


def test_a_cold_start_fitted_around_a_search_is_bundled_around_its_best_estimator(features):
    """Training fits ColdStart(model) on the fitted search, then bundles both: the bundle holds
    the chosen estimator and the same mappings around it."""
    search = MAKERS["hybrid_search"]().fit(features)
    cold = ColdStart(search).fit(features)
    bundle = build_bundle(search, cold, features, {"version": "s"})
    assert bundle.model is search.best_estimator_ and bundle.cold_start.model is bundle.model
    assert cold.model is search  # the caller's cold start is left as it was
    np.testing.assert_array_equal(bundle.cold_start.resource_vectors(NEW_RESOURCE).vectors,
                                  cold.resource_vectors(NEW_RESOURCE).vectors)
    with pytest.raises(BundleError, match="another model"):
        build_bundle(search.best_estimator_, cold, features, {"version": "s"})
