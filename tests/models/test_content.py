"""The content model's parts that cold start uses on their own: encoders without learner vectors,
the profile mapping's learner sample, and recency weights for a subset of learners; and what
recency weighting does to a learner's vector, in a tiny world whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data import validate_dataset
from recommender.data.sample_world import generate_world
from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet, build_feature_set
from recommender.models import (
    ColdStart,
    ContentModel,
    HistoryAges,
    LearnerHistory,
    PopularityModel,
)
from recommender.models.content import recency_weights


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    return build_feature_set(generate_world(400, 150, 3, as_of="2024-12-31"))


def test_recency_weights_of_some_learners_are_those_rows_of_all(features: FeatureSet) -> None:
    rows = np.array([397, 5, 0, 120, 42])
    whole = recency_weights(features, 30.0)
    some = recency_weights(features, 30.0, rows)
    assert some.shape == (len(rows), whole.shape[1])
    np.testing.assert_allclose(some.toarray(), whole[rows].toarray(), rtol=1e-6)
    assert not np.allclose(whole.toarray(), features.interactions.toarray())  # it did decay


def test_fit_encoders_reads_resources_and_profiles_like_fit(features: FeatureSet) -> None:
    full = ContentModel(n_components=16, max_mapping_learners=None).fit(features)
    encoders = ContentModel(n_components=16, max_mapping_learners=None).fit_encoders(features)
    assert full.learner_factors_.shape[0] == features.interactions.shape[0]
    assert encoders.learner_factors_.shape == (0, full.resource_factors_.shape[1])
    np.testing.assert_array_equal(encoders.resource_factors_, full.resource_factors_)
    np.testing.assert_allclose(encoders.profile_map_.coef_, full.profile_map_.coef_, rtol=1e-5)
    newcomer = {"group": "retiree", "age_band": "65+", "interests": "想学智能手机"}
    np.testing.assert_allclose(encoders.profile_vectors(newcomer), full.profile_vectors(newcomer),
                               rtol=1e-5, atol=1e-6)


def test_profile_mapping_learns_from_a_seeded_sample_of_warm_learners(
    features: FeatureSet,
) -> None:
    warm = int((np.diff(features.interactions.indptr) > 0).sum())
    assert warm > 50
    every = ContentModel(n_components=16, max_mapping_learners=warm).fit_encoders(features)
    uncapped = ContentModel(n_components=16, max_mapping_learners=None).fit_encoders(features)
    np.testing.assert_array_equal(every.profile_map_.coef_, uncapped.profile_map_.coef_)
    sampled = ContentModel(n_components=16, max_mapping_learners=50).fit_encoders(features)
    again = ContentModel(n_components=16, max_mapping_learners=50).fit_encoders(features)
    np.testing.assert_array_equal(sampled.profile_map_.coef_, again.profile_map_.coef_)
    assert not np.allclose(sampled.profile_map_.coef_, every.profile_map_.coef_)


@pytest.mark.parametrize("cap", [1, 0, True, 2.5, "many"])
def test_max_mapping_learners_must_be_an_integer_of_at_least_two(
    features: FeatureSet, cap: object
) -> None:
    with pytest.raises(InvalidParameterError, match="max_mapping_learners"):
        ContentModel(n_components=16, max_mapping_learners=cap).fit_encoders(features)


def test_cold_start_fits_only_the_encoders_of_its_own_content_model(
    features: FeatureSet,
) -> None:
    cold = ColdStart(PopularityModel().fit(features)).fit(features)
    assert cold.content_.learner_factors_.shape[0] == 0
    vector = cold.learner_vector(profile={"group": "retiree", "interests": "想学智能手机"})
    assert vector.cold_start == "profile"


# Two topics, three resources each: phones (p1..p3, digital literacy) and farming (f1..f3).
# "mixed" learns recent p1 after old f1 (60 days apart), "flipped" the other way round, each
# with one view of each (so equal confidence); "later" is active a year on, so each learner's
# recency is measured from their own latest event, not the platform's; "returning" came back to
# f1 30 days after p1, so a pair's age is that of its latest event.
TOPIC_RESOURCES = pd.DataFrame({
    "resource_id": ["p1", "p2", "p3", "f1", "f2", "f3"],
    "title": ["智能手机入门", "手机视频通话", "手机支付", "大棚蔬菜种植", "果树修剪", "蔬菜病虫害防治"],
    "description": ["学用智能手机", "用手机和家人视频", "用手机扫码付款",
                    "温室大棚里种蔬菜", "果树冬季修剪", "蔬菜病虫害的防治"],
    "category": ["digital_literacy"] * 3 + ["agricultural_technology"] * 3,
    "mode": ["online"] * 6,
})
HALF_LIFE = 30.0
GAP_DAYS = 60  # two half-lives: the older resource weighs exactly a quarter of the newer


@pytest.fixture(scope="module")
def topics() -> FeatureSet:
    learners = pd.DataFrame({
        "learner_id": ["mixed", "flipped", "phone", "farm", "later", "returning"],
        "group": ["retiree"] * 6})
    plan = [  # (learner, resource, timestamp)
        ("mixed", "f1", "2024-01-01T08:00:00Z"), ("mixed", "p1", "2024-03-01T08:00:00Z"),
        ("flipped", "p1", "2024-01-01T08:00:00Z"), ("flipped", "f1", "2024-03-01T08:00:00Z"),
        ("phone", "p2", "2024-02-01T08:00:00Z"), ("farm", "f2", "2024-02-01T08:00:00Z"),
        ("later", "p3", "2025-03-01T08:00:00Z"),
        ("returning", "f1", "2024-01-01T08:00:00Z"), ("returning", "p1", "2024-01-31T08:00:00Z"),
        ("returning", "f1", "2024-03-01T08:00:00Z"),
    ]
    events = pd.DataFrame([
        {"event_id": f"e{i}", "learner_id": learner, "resource_id": resource,
         "event_type": "view", "value": None, "timestamp": stamp}
        for i, (learner, resource, stamp) in enumerate(plan)
    ])
    return build_feature_set(validate_dataset(learners, TOPIC_RESOURCES, events))


def _model(topics: FeatureSet, half_life_days: float | None) -> ContentModel:
    # profile_strength=0: the learner vector is their history alone, so the answer is exact.
    return ContentModel(n_components=4, half_life_days=half_life_days,
                        profile_strength=0.0).fit(topics)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _cosines(model: ContentModel, topics: FeatureSet, vector: np.ndarray) -> tuple[float, float]:
    """The vector's cosine to p1 and to f1 (resource vectors are unit length)."""
    p1, f1 = topics.resource_map.indices_of(["p1", "f1"])
    return (float(vector @ model.resource_factors_[p1]),
            float(vector @ model.resource_factors_[f1]))


def test_the_topic_world_is_what_the_recency_tests_assume(topics: FeatureSet) -> None:
    rows = topics.learner_map.indices_of(["mixed", "flipped"])
    p1, f1 = topics.resource_map.indices_of(["p1", "f1"])
    history = topics.interactions[rows][:, [p1, f1]].toarray()
    assert (history > 0).all() and np.unique(history).size == 1  # equal confidence, no decay
    model = _model(topics, None)
    cos_pf = float(model.resource_factors_[p1] @ model.resource_factors_[f1])
    assert cos_pf < 0.5  # the two topics are far apart, so which one leads is visible


def test_recency_weights_quarter_a_resource_two_half_lives_older(topics: FeatureSet) -> None:
    weights = recency_weights(topics, HALF_LIFE)
    p1, f1, p3 = topics.resource_map.indices_of(["p1", "f1", "p3"])
    mixed, flipped, later = topics.learner_map.indices_of(["mixed", "flipped", "later"])
    confidence = topics.interactions[mixed, p1]
    np.testing.assert_allclose(weights[mixed, p1], confidence, rtol=1e-6)
    np.testing.assert_allclose(weights[mixed, f1], 0.25 * confidence, rtol=1e-6)
    np.testing.assert_allclose(weights[flipped, f1], confidence, rtol=1e-6)
    np.testing.assert_allclose(weights[flipped, p1], 0.25 * confidence, rtol=1e-6)
    # Another learner a year later does not age these learners' latest events.
    np.testing.assert_allclose(weights[later, p3], topics.interactions[later, p3], rtol=1e-6)
    # A resource used long ago and again lately is as recent as its latest use.
    returning = topics.learner_map.index_of("returning")
    np.testing.assert_allclose(weights[returning, f1], topics.interactions[returning, f1],
                               rtol=1e-6)
    np.testing.assert_allclose(weights[returning, p1], 0.5 * topics.interactions[returning, p1],
                               rtol=1e-6)


def test_fit_leans_a_learner_to_the_topic_of_their_recent_resource(topics: FeatureSet) -> None:
    model = _model(topics, HALF_LIFE)
    p1, f1 = topics.resource_map.indices_of(["p1", "f1"])
    mixed, flipped = topics.learner_map.indices_of(["mixed", "flipped"])
    expected = _unit(model.resource_factors_[p1] + 0.25 * model.resource_factors_[f1])
    np.testing.assert_allclose(model.learner_factors_[mixed], expected, atol=1e-5)
    to_phone, to_farm = _cosines(model, topics, model.learner_factors_[mixed])
    assert to_phone > to_farm + 0.1
    to_phone, to_farm = _cosines(model, topics, model.learner_factors_[flipped])
    assert to_farm > to_phone + 0.1  # the mirror image: not a bias toward either topic
    # Their lists, without what they used: the other resources of the recent topic first.
    ids = topics.resource_map.ids
    seen = topics.interactions
    assert set(ids[model.recommend(mixed, k=2, exclude=seen)[0][0]]) == {"p2", "p3"}
    assert set(ids[model.recommend(flipped, k=2, exclude=seen)[0][0]]) == {"f2", "f3"}


def test_without_decay_old_and_recent_resources_count_equally(topics: FeatureSet) -> None:
    model = _model(topics, None)
    p1, f1 = topics.resource_map.indices_of(["p1", "f1"])
    expected = _unit(model.resource_factors_[p1] + model.resource_factors_[f1])
    for learner in ("mixed", "flipped"):  # same resources, opposite order: the same vector
        vector = model.learner_factors_[topics.learner_map.index_of(learner)]
        np.testing.assert_allclose(vector, expected, atol=1e-5)
        to_phone, to_farm = _cosines(model, topics, vector)
        assert to_phone == pytest.approx(to_farm, abs=1e-5)  # equidistant


def test_fold_in_with_ages_leans_to_the_recent_topic_as_fit_does(topics: FeatureSet) -> None:
    model = _model(topics, HALF_LIFE)
    history = topics.resource_map.indices_of(["p1", "f1"])
    mixed = topics.learner_map.index_of("mixed")
    confidence = topics.interactions[mixed, history].toarray()[0]
    recent_phone = model.fold_in(
        LearnerHistory(history, confidence, HistoryAges.same(np.array([0.0, GAP_DAYS]))))
    # The learner's own history and ages reproduce the vector fit gave them.
    np.testing.assert_allclose(recent_phone, model.learner_factors_[mixed], atol=1e-5)
    to_phone, to_farm = _cosines(model, topics, recent_phone)
    assert to_phone > to_farm + 0.1
    recent_farm = model.fold_in(
        LearnerHistory(history, confidence, HistoryAges.same(np.array([GAP_DAYS, 0.0]))))
    to_phone, to_farm = _cosines(model, topics, recent_farm)
    assert to_farm > to_phone + 0.1
    # Ages matter only through the gap's half-lives: one half-life, half the weight.
    np.testing.assert_allclose(
        model.fold_in(
            LearnerHistory(history, confidence, HistoryAges.same(np.array([0.0, HALF_LIFE])))),
        _unit(model.resource_factors_[history[0]] + 0.5 * model.resource_factors_[history[1]]),
        atol=1e-5)


def test_fold_in_without_ages_or_without_decay_counts_both_equally(topics: FeatureSet) -> None:
    history = topics.resource_map.indices_of(["p1", "f1"])
    decaying = _model(topics, HALF_LIFE)
    no_decay = _model(topics, None)
    for model, ages in ((decaying, None), (no_decay, np.array([0.0, GAP_DAYS]))):
        vector = model.fold_in(LearnerHistory(
            history, ages=None if ages is None else HistoryAges.same(ages)))
        to_phone, to_farm = _cosines(model, topics, vector)
        assert to_phone == pytest.approx(to_farm, abs=1e-5)
