"""Beyond-accuracy metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender.errors import InvalidParameterError, UnknownIdError
from recommender.evaluation.beyond_accuracy import (
    attribute_by_index,
    catalog_coverage,
    category_diversity_at_k,
    exposure_share,
    novelty_at_k,
    popularity_bias_at_k,
    resource_popularity,
    vector_diversity_at_k,
)
from recommender.features.idmap import IdMap

# Training: 5 learner rows x 6 resources; learner 4 has no training interaction.
#   L0: r0 r1   L1: r0   L2: r0 r2   L3: r1   L4: -
# counts per resource: r0=3 r1=2 r2=1 r3=0 r4=0 r5=0; training learners N = 4
TRAIN = sp.csr_matrix(
    (np.array([2.0, 1.0, 0.5, 1.0, 3.0, 1.0]), ([0, 0, 1, 2, 2, 3], [0, 1, 0, 0, 2, 1])),
    shape=(5, 6),
)
RECOMMENDED = np.array([[0, 1], [2, 3], [-1, -1], [4, -1]])


def test_popularity_is_share_of_training_learners() -> None:
    # empty row L4 is not a training learner: divide by 4, not 5
    np.testing.assert_allclose(resource_popularity(TRAIN), [3 / 4, 2 / 4, 1 / 4, 0, 0, 0])


def test_catalog_coverage() -> None:
    # top 2: {0, 1, 2, 3, 4} of 6 -> 5/6; top 1: {0, 2, 4} -> 3/6
    assert catalog_coverage(RECOMMENDED, 6, 2) == pytest.approx(5 / 6)
    assert catalog_coverage(RECOMMENDED, 6, 1) == pytest.approx(0.5)
    assert catalog_coverage(RECOMMENDED, 6, 10) == pytest.approx(5 / 6)  # k beyond width


def test_novelty() -> None:
    # -log2 p: r0 = -log2(3/4) = 0.415037, r1 = 1, r2 = 2; unseen r3, r4 count as 1 learner
    # -> -log2(1/4) = 2. Rows: (0.415037 + 1) / 2, (2 + 2) / 2, empty -> NaN, 2 / 1
    expected = [(-math.log2(0.75) + 1) / 2, 2.0, np.nan, 2.0]
    np.testing.assert_allclose(novelty_at_k(RECOMMENDED, TRAIN, 2), expected)


def test_popularity_bias() -> None:
    # rows: (0.75 + 0.5) / 2, (0.25 + 0) / 2, NaN, 0
    at_2 = popularity_bias_at_k(RECOMMENDED, TRAIN, 2)
    np.testing.assert_allclose(at_2, [0.625, 0.125, np.nan, 0])
    # at k = 1: 0.75, 0.25, NaN, 0
    at_1 = popularity_bias_at_k(RECOMMENDED, TRAIN, 1)
    np.testing.assert_allclose(at_1, [0.75, 0.25, np.nan, 0])


def test_category_diversity() -> None:
    categories = ["a", "a", "b", "b", None, "c"]
    recommended = np.array([[0, 1, 2], [2, 3, -1], [4, 5, 0], [0, -1, -1]])
    # row0 pairs: (a,a) same, (a,b) diff, (a,b) diff -> 2/3
    # row1: one pair (b,b) -> 0;  row2: (None,c) (None,a) (c,a) all differ -> 1;  row3: no pair
    np.testing.assert_allclose(
        category_diversity_at_k(recommended, categories, 3), [2 / 3, 0.0, 1.0, np.nan]
    )


def test_vector_diversity() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [0.0, 0.0]])
    recommended = np.array([[0, 1, -1], [0, 3, -1], [0, 1, 2], [4, 0, -1], [2, -1, -1]])
    c = 1 / math.sqrt(2)  # cosine of [1,0] or [0,1] with [1,1]
    expected = [
        1.0,  # orthogonal: distance 1
        0.0,  # same direction, different length: distance 0
        (1.0 + (1 - c) + (1 - c)) / 3,  # 0.528595
        1.0,  # zero vector: cosine taken as 0
        np.nan,  # single resource: no pair
    ]
    np.testing.assert_allclose(vector_diversity_at_k(recommended, vectors, 3), expected, atol=1e-12)


def test_exposure_share_flat_and_discounted() -> None:
    provider_type = ["uni", "uni", "lib", "lib", "ent", "museum"]
    # slots in top 2: uni 2, lib 2, ent 1 of 5 -> 0.4 / 0.4 / 0.2; museum never shown -> 0
    flat = exposure_share(RECOMMENDED, provider_type, 2)
    assert flat == pytest.approx({"uni": 0.4, "lib": 0.4, "ent": 0.2, "museum": 0.0})
    # log2: rank 1 weighs 1, rank 2 weighs 1/log2(3) = 0.630930
    # uni = lib = 1.630930, ent = 1, total 4.261860
    w2 = 1 / math.log2(3)
    total = 2 * (1 + w2) + 1
    discounted = exposure_share(RECOMMENDED, provider_type, 2, discount="log2")
    assert discounted == pytest.approx(
        {"uni": (1 + w2) / total, "lib": (1 + w2) / total, "ent": 1 / total, "museum": 0.0}
    )
    assert sum(discounted.values()) == pytest.approx(1.0)


def test_exposure_share_reports_missing_attribute_under_none() -> None:
    shares = exposure_share(np.array([[0, 1]]), ["online", None], 2)
    assert shares == pytest.approx({"online": 0.5, None: 0.5})


def test_attribute_by_index_aligns_with_the_id_map() -> None:
    resources = pd.DataFrame(
        {"resource_id": ["b", "a", "c"], "mode": ["offline", "online", "blended"]}
    )
    aligned = attribute_by_index(resources, IdMap("resource", ["a", "b"]), "mode")
    assert aligned.tolist() == ["online", "offline"]
    with pytest.raises(UnknownIdError):
        attribute_by_index(resources, IdMap("resource", ["a", "z"]), "mode")


def test_bad_parameters_are_named() -> None:
    with pytest.raises(InvalidParameterError) as info:
        exposure_share(RECOMMENDED, ["x"] * 6, 2, discount="harmonic")  # type: ignore[arg-type]
    assert info.value.name == "discount"
    with pytest.raises(InvalidParameterError) as info:
        novelty_at_k(RECOMMENDED, TRAIN[:, :3], 2)  # index 3, 4 outside a 3-resource matrix
    assert info.value.name == "recommended"
    with pytest.raises(InvalidParameterError) as info:
        novelty_at_k(RECOMMENDED, sp.csr_matrix((2, 6)), 2)
    assert info.value.name == "train_interactions"
    with pytest.raises(InvalidParameterError) as info:
        catalog_coverage(RECOMMENDED, 6, 0)
    assert info.value.name == "k"
