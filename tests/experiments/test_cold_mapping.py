"""Evaluation's content mapping of cold resources reaches what a bundle serves, for a fitted
search too: a bundle stores a search as the estimator it chose, so the mapping must be made on
that estimator (it once stayed on the search's copy while the bundle served unmapped vectors)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from two_tastes import tiny_tables

from recommender.selection import map_served_cold_resources
from recommender.data import validate_dataset
from recommender.delivery.batch import core_for_fit
from recommender.features import build_feature_set
from recommender.models import ALSModel, ContentModel, HybridModel
from recommender.selection import HybridWeightSearch


def test_a_search_is_mapped_as_the_estimator_its_bundle_serves() -> None:
    learners, resources, events = tiny_tables()
    new = pd.DataFrame({"resource_id": ["r7"], "title": ["智能手机 视频通话"],
                        "category": ["digital_literacy"], "mode": ["online"], "language": ["zh"]})
    dataset = validate_dataset(learners, pd.concat([resources, new], ignore_index=True), events)
    features = build_feature_set(dataset)
    search = HybridWeightSearch(HybridModel(
        parts=(("als", ALSModel(factors=4, iterations=5)),
               ("content", ContentModel(n_components=4))), weights=(0.5, 0.5)))
    search.fit(features)
    mapped, n_mapped = map_served_cold_resources(search, features, None)
    assert n_mapped == 1 and not isinstance(mapped, HybridWeightSearch)
    cold = features.resource_map.index_of("r7")
    unmapped = search.best_estimator_.resource_factors_[cold]
    assert not np.allclose(mapped.resource_factors_[cold], unmapped)
    served = core_for_fit(mapped, features).served.bundle.resource_factors
    np.testing.assert_allclose(served[cold], mapped.resource_factors_[cold])
