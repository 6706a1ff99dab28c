"""The ``[features]`` section: how events become confidence
(:class:`recommender.features.InteractionWeights`), the same for training and experiments."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from recommender.data.schema import EVENT_TYPES
from recommender.features import ConsumptionRule, InteractionWeights
from recommender.features.consumption import DEFAULT_CONSUMED, DEFAULT_CONTINUING
from recommender.features.interactions import DEFAULT_EVENT_WEIGHTS
from recommender.spec.base import Section

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class EventWeights(Section):
    """Weight of each event type; unset types keep the library's defaults."""

    view: float = DEFAULT_EVENT_WEIGHTS["view"]
    enroll: float = DEFAULT_EVENT_WEIGHTS["enroll"]
    progress: float = DEFAULT_EVENT_WEIGHTS["progress"]
    complete: float = DEFAULT_EVENT_WEIGHTS["complete"]
    rate: float = DEFAULT_EVENT_WEIGHTS["rate"]
    bookmark: float = DEFAULT_EVENT_WEIGHTS["bookmark"]
    dismiss: float = DEFAULT_EVENT_WEIGHTS["dismiss"]


class FeaturesSection(Section):
    """Event weights, which event values multiply them, recency decay and log scaling; how
    timestamps are read (``time = "ordinal"``: only as each learner's event order, so the
    models' day parameters count steps, :mod:`recommender.features.ordinal`); which
    event types consume a resource (``consumed``: never recommended to that learner again,
    never a miss) and which keep it a candidate (``continuing``); a type in neither is consumed
    only in data that records no end (:mod:`recommender.features.consumption`)."""

    event_weights: EventWeights = EventWeights()
    use_value_for: list[str] = ["view"]
    half_life_days: float | None = Field(None, gt=0)
    log_scale: bool = True
    time: Literal["dates", "ordinal"] = Field(
        "dates", description="ordinal: timestamps are only each learner's event order")
    consumed: list[EventType] = Field(default_factory=lambda: list(DEFAULT_CONSUMED))
    continuing: list[EventType] = Field(default_factory=lambda: list(DEFAULT_CONTINUING))

    @model_validator(mode="after")
    def _one_group_per_type(self) -> FeaturesSection:
        both = sorted(set(self.consumed) & set(self.continuing))
        if both:
            raise ValueError(f"keys 'consumed' and 'continuing' both name {both}; "
                             "an event type consumes or continues, not both")
        return self

    def build(self) -> InteractionWeights:
        return InteractionWeights(
            event_weights=self.event_weights.model_dump(),
            use_value_for=tuple(self.use_value_for),
            half_life_days=self.half_life_days,
            log_scale=self.log_scale,
            consumption=ConsumptionRule(tuple(self.consumed), tuple(self.continuing)),
            ordinal_time=self.time == "ordinal",
        )


def check_time_and_split(features: FeaturesSection, split: object) -> None:
    """Refuse what ordinal time cannot do (raises ValueError for the config's validator):
    cuts and windows given in dates (the rolling protocol, the "open" and "active" candidate
    rules) mean nothing once timestamps are only each learner's order."""
    if features.time != "ordinal":
        return
    kind = getattr(split, "kind", None)
    candidates = getattr(split, "candidates", "all")
    if kind == "rolling" or candidates in ("open", "active"):
        what = "kind = 'rolling'" if kind == "rolling" else f"candidates = {candidates!r}"
        raise ValueError(f"[split] {what} cuts by dates, but [features] time = 'ordinal' "
                         "reads timestamps as each learner's order only; use a hold-out "
                         "split (leave_last_n, random, given, ...)")
