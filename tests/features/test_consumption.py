"""The consumption rule resolved on the event types a data set holds (answers by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.errors import InvalidParameterError
from recommender.features import Consumption, ConsumptionRule


def test_default_rule_consumes_completions_dismissals_and_ratings():
    found = ConsumptionRule().resolve(["view", "enroll", "complete", "dismiss", "rate"])
    assert set(found.consumed) == {"complete", "dismiss", "rate"}
    assert found.consumed_for_want_of_an_end == () and not found.nothing_consumed
    assert found.warnings() == []
    np.testing.assert_array_equal(found.mask(["view", "enroll", "rate", "complete"]),
                                  [False, False, True, True])


def test_ratings_only_data_consumes_every_rated_resource():
    found = ConsumptionRule().resolve(["rate"])
    assert "rate" in found.consumed and found.consumed_for_want_of_an_end == ()
    assert found.warnings() == []


@pytest.mark.parametrize("types", [["enroll"], ["enroll", "view"], ["enroll", "dismiss"]])
def test_data_without_an_end_consumes_what_no_list_names_and_says_so(types):
    found = ConsumptionRule().resolve(types)
    assert found.consumed_for_want_of_an_end == ("enroll",)
    assert "enroll" in found.consumed and "view" not in found.consumed
    (warning,) = found.warnings()
    assert "records no end" in warning and "enroll" in warning


def test_enrolment_continues_where_the_data_records_completions():
    found = ConsumptionRule().resolve(["enroll", "progress", "complete"])
    assert "enroll" not in found.consumed and found.consumed_for_want_of_an_end == ()


def test_view_only_data_consumes_nothing_and_says_so():
    found = ConsumptionRule().resolve(["view"])
    assert found.nothing_consumed
    (warning,) = found.warnings()
    assert "no event type in the data consumes" in warning


def test_listed_types_are_kept_as_written():
    rule = ConsumptionRule(consumed=("dismiss",), continuing=("enroll", "view"))
    found = rule.resolve(["enroll", "view", "dismiss"])
    assert found.consumed == ("dismiss",) and found.consumed_for_want_of_an_end == ()


def test_a_type_in_both_lists_is_refused():
    with pytest.raises(InvalidParameterError, match="consumed / continuing"):
        ConsumptionRule(consumed=("rate",), continuing=("rate",))


def test_round_trip_through_a_manifest_and_the_legacy_rule():
    found = ConsumptionRule().resolve(["enroll"])
    assert Consumption.from_dict(found.to_dict()) == Consumption(
        found.consumed, found.consumed_for_want_of_an_end)
    assert Consumption.from_dict(None).consumed == ("complete", "dismiss")
