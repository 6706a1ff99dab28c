"""Which events mean a learner is done with a resource: the one consumption rule.

A resource the learner *consumed* is never recommended to them again and, in evaluation, never
counted as a miss; a resource they only *continue* (viewed, in progress, bookmarked) stays a
candidate ("continue where you left off"). Event types listed in neither group (by default
``enroll``) continue while the data can record an end (an event of a consumed type other than
``dismiss``); in data that records none, such as an enrolment-only log, they are consumed, since
otherwise nothing would ever leave a learner's list. The rule is resolved once on a data set's
event types (:meth:`ConsumptionRule.resolve`) and the result travels with the features, the
bundle and the served model, so training, evaluation, batch delivery and the API exclude alike.

Defaults measured in experiments/README.md ("Consumption rules"): after a ``rate`` a learner
returns to the resource 13-16% of the time (MARS, sample world), after a ``dismiss`` 5%, after a
``view`` 45-82% (OULAD 82%), after an ``enroll`` 75% in the sample world.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from recommender.errors import InvalidParameterError

DEFAULT_CONSUMED: tuple[str, ...] = ("complete", "dismiss", "rate")
DEFAULT_CONTINUING: tuple[str, ...] = ("view", "progress", "bookmark")
# Consumed types that record a rejection, not an end: their presence does not mean the data
# can tell when a learner finished something.
NEGATIVE_EVENT_TYPES: tuple[str, ...] = ("dismiss",)
# What bundles written before the rule was recorded excluded.
LEGACY_CONSUMED: tuple[str, ...] = ("complete", "dismiss")


@dataclass(frozen=True)
class Consumption:
    """A rule resolved on a data set: the event types that consume, and why some do."""

    consumed: tuple[str, ...]
    # Types consumed only because the data records no end (empty when the rule applied as
    # written); the run says so.
    consumed_for_want_of_an_end: tuple[str, ...] = ()
    # True when no event type present in the data consumes anything: every resource a learner
    # touched stays a candidate.
    nothing_consumed: bool = False

    def mask(self, event_types: Sequence[str] | np.ndarray) -> np.ndarray:
        """Boolean per event: does this event consume its resource?"""
        return np.isin(np.asarray(event_types, dtype=object), np.asarray(self.consumed, object))

    def warnings(self) -> list[str]:
        """What a user should be told about this data's consumption (empty: nothing)."""
        found = []
        if self.consumed_for_want_of_an_end:
            types = ", ".join(self.consumed_for_want_of_an_end)
            found.append(
                f"the data records no end (no event of a consumed type such as complete or "
                f"rate), so every resource a learner has an event of type {types} for counts "
                "as consumed: never recommended to that learner again; set [features] "
                "consumed / continuing to change this")
        if self.nothing_consumed:
            found.append(
                "no event type in the data consumes a resource, so learners get back every "
                "resource they already used (continue where you left off); name the types that "
                "mean 'done with it' in [features] consumed if that is not what you want")
        return found

    def to_dict(self) -> dict[str, object]:
        return {"consumed": list(self.consumed),
                "consumed_for_want_of_an_end": list(self.consumed_for_want_of_an_end)}

    @classmethod
    def from_dict(cls, found: object) -> Consumption:
        """The rule a bundle manifest recorded; a bundle from before the rule: the old one."""
        if not isinstance(found, dict) or not isinstance(found.get("consumed"), list):
            return cls(LEGACY_CONSUMED)
        return cls(tuple(str(t) for t in found["consumed"]),
                   tuple(str(t) for t in found.get("consumed_for_want_of_an_end") or ()))


@dataclass(frozen=True)
class ConsumptionRule:
    """Event types that consume a resource and those that keep it a candidate; a type in
    neither is consumed only when the data records no end (see the module docstring)."""

    consumed: tuple[str, ...] = DEFAULT_CONSUMED
    continuing: tuple[str, ...] = DEFAULT_CONTINUING

    def __post_init__(self) -> None:
        both = sorted(set(self.consumed) & set(self.continuing))
        if both:
            raise InvalidParameterError(
                "consumed / continuing", both, "each event type in at most one of the two lists")

    def resolve(self, event_types: Iterable[str]) -> Consumption:
        """The rule applied to a data set holding events of ``event_types``."""
        present = sorted({str(t) for t in event_types})
        ends = [t for t in present if t in self.consumed and t not in NEGATIVE_EVENT_TYPES]
        unlisted = tuple(t for t in present if t not in self.consumed and t not in self.continuing)
        fallback = () if ends else unlisted
        consumed = tuple(dict.fromkeys([*self.consumed, *fallback]))
        return Consumption(
            consumed=consumed, consumed_for_want_of_an_end=fallback,
            nothing_consumed=bool(present) and not any(t in consumed for t in present),
        )
