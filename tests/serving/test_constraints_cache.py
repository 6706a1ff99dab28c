"""A learner's hard constraints are built once per distinct combination of values and are
exactly what ``LearnerProfile.from_row`` builds, whatever the types of the values."""

from __future__ import annotations

import itertools

import numpy as np

from recommender.delivery import LearnerProfile
from recommender.delivery.learner import CONSTRAINT_FIELDS, _constraints


def test_cached_constraints_equal_from_row_for_every_kind_of_value() -> None:
    values = {
        "region": [None, "R1", "R2", float("nan"), ""],
        "languages": [None, "zh", "zh|en", ["en", "zh"], float("nan")],
        "accessibility_needs": [None, "captions", "captions|large_print", np.nan, ("audio",)],
        "credit_hours_required": [None, float("nan"), 2.0, 2, 0.5],
    }
    assert set(values) == set(CONSTRAINT_FIELDS)  # every field from_row reads is varied here
    for combination in itertools.product(*values.values()):
        facts = {"group": "retiree", **dict(zip(values, combination))}
        expected = LearnerProfile.from_row(facts)
        assert _constraints(facts) == expected
        assert _constraints(dict(facts)) == expected  # again, from the cache where it applies


def test_learners_with_the_same_values_share_one_object() -> None:
    first = _constraints({"region": "R1", "languages": "zh", "accessibility_needs": float("nan"),
                          "credit_hours_required": float("nan")})
    again = _constraints({"region": "R1", "languages": "zh", "accessibility_needs": np.nan,
                          "credit_hours_required": float("nan")})
    assert first is again
    other = _constraints({"region": "R2", "languages": "zh"})
    assert other.region == "R2" and other is not first
