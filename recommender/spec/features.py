"""The ``[features]`` section: how events become confidence
(:class:`recommender.features.InteractionWeights`), the same for training and experiments."""

from __future__ import annotations

from pydantic import Field

from recommender.features import InteractionWeights
from recommender.features.interactions import DEFAULT_EVENT_WEIGHTS
from recommender.spec.base import Section


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
    """Event weights, which event values multiply them, recency decay and log scaling."""

    event_weights: EventWeights = EventWeights()
    use_value_for: list[str] = ["view"]
    half_life_days: float | None = Field(None, gt=0)
    log_scale: bool = True

    def build(self) -> InteractionWeights:
        return InteractionWeights(
            event_weights=self.event_weights.model_dump(),
            use_value_for=tuple(self.use_value_for),
            half_life_days=self.half_life_days,
            log_scale=self.log_scale,
        )
