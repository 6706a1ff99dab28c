"""Demand gaps on a tiny world with a known answer: which stated interests no resource the
learner may take (open, near, readable, accessible) serves, counted by region and group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.delivery.demand import StatedDemand, demand_gaps, profile_demands
from recommender.features.catalog import CatalogArrays

NOW = pd.Timestamp("2024-09-01", tz="UTC")
TOPICS = ["farming", "health", "phone", "cooking"]


@pytest.fixture
def catalog() -> CatalogArrays:
    return CatalogArrays.build(pd.DataFrame({
        "resource_id": ["r0", "r1", "r2", "r3"],
        "mode": ["online", "offline", "online", "online"],
        "region": [None, "R1", None, None],
        "language": ["zh", "zh", "zh", "en"],
        "available_until": [None, None, "2020-01-01T00:00:00Z", None],
    }))


def by_keyword(texts):
    """Resource i matches (1.0) an interest text that names TOPICS[i], else 0."""
    return np.array([[float(topic in text) for topic in TOPICS] for text in texts])


def test_unmet_interests_are_counted_by_region_and_group_with_examples(catalog) -> None:
    demands = [
        StatedDemand("farming", "rural", "R1", "zh", example="L1"),  # r0 online: met
        StatedDemand("health", "retiree", "R1", "zh", example="L2"),  # r1 offline in R1: met
        StatedDemand("health", "retiree", "R2", "zh", example="L3"),  # r1 is not near R2
        StatedDemand("phone", "retiree", "R1", None, count=5, source="anonymous"),  # r2 closed
        StatedDemand("cooking", "rural", "R1", "zh", example="L4"),  # r3 is in English
        StatedDemand("   ", "rural", "R1", "zh", example="L5"),  # says nothing: skipped
    ]
    gaps = demand_gaps(demands, catalog, by_keyword, now=NOW, threshold=0.5,
                       titles=["r0", "r1", "r2", "r3"])
    assert [(g.region, g.group, g.n_stated, g.n_unmet) for g in gaps] == [
        ("R1", "retiree", 6, 5), ("R1", "rural", 2, 1), ("R2", "retiree", 1, 1)]
    assert [(e.interests, e.source, e.example) for e in gaps[0].examples] == [
        ("phone", "anonymous", "")]
    assert [(e.interests, e.example) for e in gaps[1].examples] == [("cooking", "L4")]
    assert gaps[2].examples[0].best_score == 0.0


def test_the_same_interests_are_met_once_the_catalog_allows_them(catalog) -> None:
    demands = [StatedDemand("cooking", "rural", "R1", "zh|en", example="L4")]
    assert demand_gaps(demands, catalog, by_keyword, now=NOW, threshold=0.5)[0].n_unmet == 0
    later = demand_gaps([StatedDemand("phone", "x", "R1")], catalog, by_keyword,
                        now=pd.Timestamp("2019-06-01", tz="UTC"), threshold=0.5)
    assert later[0].n_unmet == 0  # the phone course was open then


def test_profiles_become_demands_without_blank_interests() -> None:
    found = profile_demands([("L1", {"interests": "phone", "group": "youth", "region": ""}),
                             ("L2", {"interests": None})])
    assert found == [StatedDemand("phone", "youth", None, None, None, 1, "profile", "L1")]
