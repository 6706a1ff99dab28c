"""The delivery core's answers as the API's response models (formatting only)."""

from __future__ import annotations

from collections.abc import Sequence

from recommender.delivery.cards import ResourceCard
from recommender.delivery.core import DeliveryList, Picked
from recommender.serving.schemas import RecommendationList, RecommendedResource


def _card_fields(card: ResourceCard | None) -> dict[str, object]:
    if card is None:
        return {}
    fields = card._asdict()
    fields["accessibility"] = list(card.accessibility)
    return fields


def recommended(picked: Sequence[Picked]) -> list[RecommendedResource]:
    """The ``items`` of a list response, ranks from 1, each with its card's facts."""
    return [
        RecommendedResource(rank=rank, resource_id=p.resource_id, title=p.title, score=p.score,
                            reason=p.reason.text, reason_kind=p.reason.kind,
                            **_card_fields(p.card))
        for rank, p in enumerate(picked, start=1)
    ]


def recommendation_list(
    learner_id: str | None, delivered: DeliveryList, model_version: str, *,
    cold_start: bool | None = None,
) -> RecommendationList:
    """A list response; ``cold_start`` None: whether no history of the learner's was used."""
    empty = delivered.empty
    return RecommendationList(
        learner_id=learner_id, items=recommended(delivered.items), model_version=model_version,
        cold_start=delivered.vector_path == "profile" if cold_start is None else cold_start,
        cold_start_path=delivered.cold_start,
        empty_reason=None if empty is None else empty.code,  # type: ignore[arg-type]
        empty_message=None if empty is None else empty.message,
        vector_path=delivered.vector_path,  # type: ignore[arg-type]
    )
