"""The content model's parts that cold start uses on their own: encoders without learner vectors,
the profile mapping's learner sample, and recency weights for a subset of learners."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.data.sample_world import generate_world
from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet, build_feature_set
from recommender.models import ColdStart, ContentModel, PopularityModel
from recommender.models.content import recency_weights


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    return build_feature_set(generate_world(400, 150, 3))


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
