"""Delivery lists for learners (known, folded-in, profile-only or anonymous) and learner upserts."""

from __future__ import annotations

from functools import lru_cache

from fastapi import Request, Response

from recommender.delivery import RequestFilters
from recommender.serving.deps import keyed_get, request_filters, runtime_of, v1_router
from recommender.serving.query import PathId, list_fields, openapi_parameters, parse_query_string
from recommender.serving.recommend import anonymous_view, delivery_list
from recommender.serving.responses import list_response
from recommender.serving.schemas import (
    AnonymousRequest,
    ErrorBody,
    LearnerId,
    LearnerIn,
    RecommendationList,
    RecommendationQuery,
    UpsertAck,
)
from recommender.store import LearnerRecord

router = v1_router("recommendations")
# The list route alone, checking the key itself (keyed_get): the API's hottest call.
list_router = v1_router("recommendations", key_dependency=False)


QUERY_LISTS = list_fields(RecommendationQuery)
LEARNER_ID = PathId("learner_id", LearnerId)
CACHED_QUERY_BYTES = 1024  # longer query strings (long exclude lists) are parsed every time


@lru_cache(maxsize=1024)
def _list_query(query_string: bytes) -> RecommendationQuery:
    """A list request's query, parsed once per distinct query string: a platform asks with
    few distinct ones (``k=10``, a handful of filters), and parsing is a fair share of a
    request. Read-only once built; errors are raised, never cached."""
    return parse_query_string(RecommendationQuery, query_string, QUERY_LISTS)


@lru_cache(maxsize=1024)
def _list_filters(query_string: bytes) -> RequestFilters:
    """The delivery filters of :func:`_list_query`'s query, likewise once per query string."""
    return request_filters(_list_query(query_string))


@keyed_get(
    list_router, "/learners/{learner_id}/recommendations", response_model=RecommendationList,
    responses={404: {"model": ErrorBody, "description": "Unknown learner and no profile"},
               422: {"description": "A parameter is invalid (the message names it)"}},
    openapi_extra={"parameters": [LEARNER_ID.openapi, *openapi_parameters(RecommendationQuery)]},
)
async def recommendations(request: Request) -> Response:
    """The learner's delivery list: the best resources they may take (filters, place,
    language, access, availability), without what they completed or dismissed, each with a
    reason. Events acknowledged by ``POST /v1/events`` count at once, on every worker."""
    learner_id = LEARNER_ID.parse(request)
    raw = request.scope.get("query_string", b"")
    cached = len(raw) <= CACHED_QUERY_BYTES
    query = _list_query(raw) if cached else parse_query_string(
        RecommendationQuery, raw, QUERY_LISTS)
    runtime = runtime_of(request)
    served = runtime.require_served()
    filters = _list_filters(raw) if cached else request_filters(query)
    snapshot = runtime.store.learner_snapshot(learner_id)
    overlay = runtime.overlay(served, snapshot.resources_signature)
    view = runtime.learner_view(served, overlay, snapshot, learner_id)
    picked = delivery_list(served, overlay, view, query.k, filters, query.exclude or ())
    return list_response(learner_id, picked, served.version, view.cold_start)


@router.post(
    "/recommendations/anonymous", response_model=RecommendationList,
    responses={422: {"description": "The profile gives the model nothing to go on"}},
)
async def anonymous(request: Request, body: AnonymousRequest) -> Response:
    """A cold-start list for a newcomer described only by a profile (group, age band,
    region, languages, accessibility needs, interests in Chinese or English)."""
    runtime = runtime_of(request)
    served = runtime.require_served()
    overlay = runtime.overlay(served)
    profile = {
        "group": body.group, "age_band": body.age_band, "region": body.region,
        "urban_rural": body.urban_rural, "languages": "|".join(body.languages) or None,
        "accessibility_needs": "|".join(body.accessibility_needs) or None,
        "interests": body.interests,
    }
    view = anonymous_view(served, profile)
    picked = delivery_list(served, overlay, view, body.k, request_filters(body.filters))
    return list_response(None, picked, served.version, view.cold_start, cold_start=True)


@router.put("/learners/{learner_id}", response_model=UpsertAck, tags=["catalog"],
            responses={422: {"description": "A field is invalid (the message names it)"}})
def put_learner(request: Request, learner_id: LearnerId, body: LearnerIn) -> UpsertAck:
    """Create or replace a learner's profile; their next list uses it (a learner the model
    never saw gets a cold-start list from it)."""
    row = body.model_dump()
    row["learner_id"] = learner_id
    row["languages"] = "|".join(body.languages) or None
    row["accessibility_needs"] = "|".join(body.accessibility_needs) or None
    record = LearnerRecord.validate(row)
    created = runtime_of(request).store.upsert_learner(record)
    return UpsertAck(id=learner_id, created=created)
