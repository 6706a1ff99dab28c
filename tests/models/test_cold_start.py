"""Cold start: new resources, new learners who state an interest, learners with new events.

A tiny world with two tastes: retirees a1..a6 learn digital skills (d1..d6, Chinese titles),
rural residents b1..b6 learn farming (f1..f6). Each learner viewed four resources of their
topic and completed two of them; c1 signed up with a stated interest and no events yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data import Dataset, validate_dataset
from recommender.errors import InvalidParameterError, NotFittedError, UnknownIdError
from recommender.features import FeatureSet, build_feature_set
from recommender.models import (
    ALSModel,
    BPRModel,
    ColdStart,
    ContentModel,
    EASEModel,
    EmbeddingModel,
    GroupPopularityModel,
    HybridModel,
    add_resources,
)

DIGITAL = ["智能手机入门", "微信视频通话", "手机拍照技巧", "网上挂号指南", "移动支付安全", "电脑打字基础"]
FARMING = ["大棚蔬菜种植", "果树修剪技术", "水稻病虫害防治", "农机操作与保养", "畜禽养殖入门", "土壤施肥技术"]


def _world() -> Dataset:
    resources = pd.DataFrame({
        "resource_id": [f"d{i}" for i in range(1, 7)] + [f"f{i}" for i in range(1, 7)],
        "title": DIGITAL + FARMING,
        "description": ["教中老年人使用智能手机和上网"] * 6 + ["农业技术培训，服务种植养殖户"] * 6,
        "category": ["digital_literacy"] * 6 + ["agricultural_technology"] * 6,
        "mode": ["online"] * 12,
    })
    learners = pd.DataFrame({  # c1 signed up but has not done anything yet
        "learner_id": [f"a{i}" for i in range(1, 7)] + [f"b{i}" for i in range(1, 7)] + ["c1"],
        "group": ["retiree"] * 6 + ["rural_resident"] * 6 + ["youth"],
        "age_band": ["65+"] * 6 + ["35-44"] * 6 + ["16-24"],
        "interests": ["想学用手机"] * 6 + ["想学种地技术"] * 6 + ["想学大棚蔬菜种植和果树修剪技术"],
    })
    rows = []
    for topic, prefix in (("d", "a"), ("f", "b")):
        for i in range(6):
            for step in range(4):
                resource_id = f"{topic}{(i + step) % 6 + 1}"
                kinds = ("view", "complete") if step < 2 else ("view",)
                for kind in kinds:
                    rows.append({
                        "event_id": f"e{len(rows) + 1}", "learner_id": f"{prefix}{i + 1}",
                        "resource_id": resource_id, "event_type": kind, "value": "",
                        "timestamp": f"2024-03-{1 + len(rows) // 24:02d}T{len(rows) % 24:02d}:00:00Z",
                    })
    return validate_dataset(learners, resources, pd.DataFrame(rows))


TINY_ALS = {"factors": 4, "iterations": 30, "regularization": 0.01}
MAKERS = {
    "als": lambda: ALSModel(**TINY_ALS),
    "bpr": lambda: BPRModel(factors=4, iterations=300, learning_rate=0.1),
    "ease": lambda: EASEModel(regularization=1.0),
    "content": lambda: ContentModel(n_components=16),
    "hybrid": lambda: HybridModel(
        parts=(("als", ALSModel(**TINY_ALS)), ("content", ContentModel(n_components=16))),
        weights=(0.5, 0.5),
    ),
}


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    return build_feature_set(_world())


@pytest.fixture(scope="module")
def cold(features: FeatureSet) -> dict[str, ColdStart]:
    return {name: ColdStart(make().fit(features)).fit(features) for name, make in MAKERS.items()}


def _top(
    model: EmbeddingModel, vector: np.ndarray, k: int, skip: np.ndarray = np.empty(0, np.int64)
) -> np.ndarray:
    scores = model.resource_factors_ @ vector
    scores[skip] = -np.inf
    return np.argsort(-scores, kind="stable")[:k]


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_new_resource_reaches_learners_whose_taste_matches_its_content(
    name: str, cold: dict[str, ColdStart], features: FeatureSet
) -> None:
    new = pd.DataFrame({
        "resource_id": ["d7"], "title": ["智能手机视频通话入门"],
        "description": ["教中老年人使用智能手机"], "category": ["digital_literacy"], "mode": ["online"],
    })
    result = cold[name].resource_vectors(new)
    assert result.cold_start == "content_mapping"
    model = add_resources(cold[name].model, result.vectors)
    new_idx = len(features.resource_map)
    learners = features.learner_map
    digital = learners.indices_of([f"a{i}" for i in range(1, 7)])
    farming = learners.indices_of([f"b{i}" for i in range(1, 7)])
    top, _ = model.recommend(np.concatenate([digital, farming]), k=5, exclude=features.exclusions)
    assert (top[:6] == new_idx).any(axis=1).all()  # every digital learner sees it in their top 5
    assert not (top[6:, :4] == new_idx).any()  # farmers see their own four open farming courses first


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_new_learner_stating_a_chinese_interest_gets_that_topic(
    name: str, cold: dict[str, ColdStart], features: FeatureSet
) -> None:
    result = cold[name].learner_vector(profile={"interests": "我想学智能手机和微信视频通话"})
    assert result.cold_start == "profile"
    top = _top(cold[name].model, result.vector, k=3)
    assert all(features.resource_map.id_of(i).startswith("d") for i in top)


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_known_learner_without_events_is_served_from_their_profile(
    name: str, cold: dict[str, ColdStart], features: FeatureSet
) -> None:
    result = cold[name].learner_vector(learner_idx=features.learner_map.index_of("c1"))
    assert result.cold_start == "profile"  # not the untrained vector, and it says so
    top = _top(cold[name].model, result.vector, k=2)
    assert {features.resource_map.id_of(i) for i in top} == {"f1", "f2"}  # what c1 asked for


def test_new_learner_with_only_a_group_gets_that_groups_resources(features: FeatureSet) -> None:
    model = GroupPopularityModel().fit(features)
    result = ColdStart(model).fit(features).learner_vector(profile={"group": "rural_resident"})
    assert result.cold_start == "profile"
    assert all(features.resource_map.id_of(i).startswith("f") for i in _top(model, result.vector, k=6))


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_three_events_move_a_learners_list_toward_what_they_did(
    name: str, cold: dict[str, ColdStart], features: FeatureSet
) -> None:
    start = cold[name]
    a1 = features.learner_map.index_of("a1")
    done = features.exclusions[a1].indices
    trained = start.learner_vector(learner_idx=a1)
    assert trained.cold_start is None
    events = pd.DataFrame({
        "event_id": ["n1", "n2", "n3"], "learner_id": ["a1"] * 3,
        "resource_id": ["f1", "f2", "f3"], "event_type": ["enroll", "progress", "complete"],
        "value": [np.nan] * 3,
        "timestamp": pd.to_datetime(["2024-06-01T08:00Z", "2024-06-01T09:00Z", "2024-06-01T10:00Z"]),
    })
    moved = start.learner_vector(learner_idx=a1, events=events)
    assert moved.cold_start == "fold_in"

    f_idx = features.resource_map.indices_of(["f1", "f2", "f3"])

    def farming_in_top4(vector: np.ndarray) -> int:
        """Among what a1 has not done (d3..d6, f4..f6), how many farming courses lead."""
        top = _top(start.model, vector, k=4, skip=np.concatenate([done, f_idx]))
        return sum(features.resource_map.id_of(i).startswith("f") for i in top)

    assert farming_in_top4(trained.vector) == 0
    assert farming_in_top4(moved.vector) >= 1
    # A brand-new learner with the same three events: farming leads their list.
    newcomer = start.learner_vector(events=events.assign(learner_id="new"))
    assert newcomer.cold_start == "fold_in"
    top = _top(start.model, newcomer.vector, k=1, skip=f_idx)
    assert features.resource_map.id_of(top[0]).startswith("f")


def test_fold_in_from_indices_matches_fold_in_from_events(
    cold: dict[str, ColdStart], features: FeatureSet
) -> None:
    start = cold["als"]
    f_idx = features.resource_map.indices_of(["f1", "f2"])
    by_idx = start.learner_vector(resource_idx=f_idx, confidence=np.log1p([1.0, 1.0]))
    events = pd.DataFrame({
        "event_id": ["n1", "n2"], "learner_id": ["x"] * 2, "resource_id": ["f1", "f2"],
        "event_type": ["view", "view"], "value": [np.nan] * 2,
        "timestamp": pd.to_datetime(["2024-06-01T08:00Z"] * 2),
    })
    by_events = start.learner_vector(events=events)
    assert by_idx.cold_start == by_events.cold_start == "fold_in"
    np.testing.assert_allclose(by_idx.vector, by_events.vector, rtol=1e-5)


def test_cold_start_refuses_what_it_cannot_answer(features: FeatureSet) -> None:
    with pytest.raises(NotFittedError):
        ColdStart(ALSModel()).fit(features)
    start = ColdStart(ContentModel(n_components=16).fit(features))
    with pytest.raises(NotFittedError):
        start.learner_vector(profile={"interests": "手机"})
    start.fit(features)
    with pytest.raises(InvalidParameterError, match="learner"):
        start.learner_vector()
    with pytest.raises(InvalidParameterError, match="profile"):
        start.learner_vector(profile={"region": "nowhere"})  # nothing the model knows
    with pytest.raises(InvalidParameterError, match="resource_idx"):
        start.learner_vector(resource_idx=np.array([99]))
    unknown = pd.DataFrame({
        "event_id": ["n1"], "learner_id": ["x"], "resource_id": ["zz"], "event_type": ["view"],
        "value": [np.nan], "timestamp": pd.to_datetime(["2024-06-01T08:00Z"]),
    })
    with pytest.raises(UnknownIdError, match="zz"):
        start.learner_vector(events=unknown)


def test_pseudo_history_ranking_equals_a_stable_full_sort_ties_included() -> None:
    from recommender.models.cold_start import _top_stable

    rng = np.random.default_rng(0)
    for _ in range(500):  # few distinct values: ties at the cut are common
        scores = rng.integers(0, 4, size=int(rng.integers(1, 50))).astype(np.float32)
        n = int(rng.integers(1, 60))
        expected = np.argsort(-scores, kind="stable")[:n]
        np.testing.assert_array_equal(_top_stable(scores, n), expected)


def _farming_events(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "event_id": [f"x{i}" for i in range(n)], "learner_id": ["new"] * n,
        "resource_id": [f"f{i + 1}" for i in range(n)], "event_type": ["view"] * n,
        "value": [np.nan] * n,
        "timestamp": pd.to_datetime([f"2024-06-01T{8 + i:02d}:00Z" for i in range(n)]),
    })


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_newcomers_stated_interests_fade_as_their_history_grows(
    name: str, cold: dict[str, ColdStart]
) -> None:
    """w = n0 / (n0 + n): the profile's direction keeps that weight beside the events'
    fold-in (unit vectors blended; the length blended alike)."""
    start = cold[name]
    profile = {"interests": "我想学智能手机和微信视频通话"}
    stated = start.learner_vector(profile=profile)
    assert (stated.cold_start, stated.path) == ("profile", "profile")
    for n, n0 in ((1, 3.0), (3, 3.0), (3, 1.0)):
        events = _farming_events(n)
        history = start.learner_vector(profile=profile, events=events, profile_prior_events=0)
        assert (history.cold_start, history.path) == ("fold_in", "history")
        blended = start.learner_vector(profile=profile, events=events, profile_prior_events=n0)
        assert (blended.cold_start, blended.path) == ("fold_in", "profile+history")
        weight = n0 / (n0 + n)
        p, h = stated.vector, history.vector
        direction = weight * p / np.linalg.norm(p) + (1 - weight) * h / np.linalg.norm(h)
        length = weight * np.linalg.norm(p) + (1 - weight) * np.linalg.norm(h)
        np.testing.assert_allclose(blended.vector,
                                   direction * length / np.linalg.norm(direction),
                                   rtol=1e-4, atol=1e-6)
    without_profile = start.learner_vector(events=_farming_events(1))
    assert without_profile.path == "history"  # nothing stated: nothing to keep
    demographics = start.learner_vector(profile={"group": "retiree", "age_band": "65+"},
                                        events=_farming_events(1))
    assert demographics.path == "history"  # no stated interests: not blended


def test_a_trained_learner_with_new_events_is_not_blended(cold: dict[str, ColdStart],
                                                          features: FeatureSet) -> None:
    a1 = features.learner_map.index_of("a1")
    kept = cold["als"].learner_vector(learner_idx=a1, events=_farming_events(1).assign(
        learner_id="a1"))
    assert (kept.cold_start, kept.path) == ("fold_in", "history")
    assert cold["als"].learner_vector(learner_idx=a1).path == "trained"
    with pytest.raises(InvalidParameterError, match="profile_prior_events"):
        cold["als"].learner_vector(profile={"interests": "手机"}, events=_farming_events(1),
                                   profile_prior_events=-1)
