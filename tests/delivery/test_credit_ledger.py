"""The credit ledger as a library function, on the tiny world: a bundle's completions by year,
and a bundle that carries no completion dates saying so."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.bundle import build_bundle, load_bundle, save_bundle
from recommender.delivery.credits import credit_ledger
from recommender.delivery.served import ServedModel
from recommender.errors import InvalidParameterError, UnknownIdError
from recommender.features import build_feature_set
from recommender.models import ALSModel


@pytest.fixture(scope="module")
def credit_world():
    from recommender.data import validate_dataset
    from two_tastes import tiny_tables

    learners, resources, events = tiny_tables()
    resources = resources.assign(credit_hours=[2.0, 0.0, 1.5, 3.0, 3.0, 3.0],
                                 provider=["开放大学"] * 3 + [None] * 3)
    learners = learners.assign(credit_hours_required=[6.0] + [None] * 5)
    return validate_dataset(learners, resources, events)


@pytest.fixture(scope="module")
def served(credit_world, tmp_path_factory):
    features = build_feature_set(credit_world)
    model = ALSModel(factors=4, iterations=5).fit(features)
    bundle = build_bundle(model, None, features, {"version": "als-credits"})
    path = save_bundle(bundle, tmp_path_factory.mktemp("credits") / "bundle")
    return ServedModel.from_bundle(load_bundle(path))  # the completions survive the round trip


def test_a_bundle_learners_completions_count_in_their_year(served):
    ledger = credit_ledger(served, None, "a1", year=2024)
    # a1 completed r1 (2 h), r2 (no credit) and r3 (1.5 h) in January 2024
    assert [e.id for e in ledger.entries] == ["r1", "r3"]
    assert ledger.platform_hours == 3.5 and ledger.recognised_hours == 0
    assert ledger.required_hours == 6 and ledger.shortfall_hours == 2.5
    assert [(h.name, h.hours) for h in ledger.by_provider] == [("开放大学", 3.5)]
    assert ledger.bundle_history is True
    assert credit_ledger(served, None, "a1", year=2025).earned_hours == 0


def test_the_default_requirement_applies_only_where_the_profile_is_silent(served):
    assert credit_ledger(served, None, "b1", year=2024).required_hours is None
    ledger = credit_ledger(served, None, "b1", year=2024, default_required=72)
    assert ledger.required_hours == 72 and ledger.shortfall_hours == 72 - 9
    assert credit_ledger(served, None, "a1", year=2024, default_required=72).required_hours == 6


def test_a_bundle_without_completion_dates_says_so(served):
    from dataclasses import replace

    old = replace(served.bundle, completions=None)
    ledger = credit_ledger(ServedModel.from_bundle(old), None, "a1", year=2024)
    assert ledger.bundle_history is False and ledger.entries == ()


def test_unknown_learner_and_bad_year(served):
    with pytest.raises(UnknownIdError):
        credit_ledger(served, None, "nobody")
    for year in (1800, 2024.0, True):
        with pytest.raises(InvalidParameterError, match="year"):
            credit_ledger(served, None, "a1", year=year)  # type: ignore[arg-type]
    assert np.isfinite(credit_ledger(served, None, "a1").earned_hours)
