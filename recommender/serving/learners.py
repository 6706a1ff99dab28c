"""Delivery lists for learners (known, folded-in, profile-only or anonymous) and learner upserts.

Handlers parse the request, call the delivery core and format its answer; what blocks (store
reads and writes, a fold-in, a profile's text encoding) runs in the thread pool (see
:mod:`recommender.serving.deps`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from starlette.concurrency import run_in_threadpool

from recommender.delivery.core import ListRequest
from recommender.serving.deps import (
    LanguagesDep,
    LearnerDep,
    RuntimeDep,
    request_filters,
    utc_now,
    v1_router,
)
from recommender.serving.console.tally import note_delivered, note_interests
from recommender.serving.exposure import record_exposure
from recommender.serving.responses import recommendation_list
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


@router.get(
    "/learners/{learner_id}/recommendations", response_model=RecommendationList,
    responses={404: {"model": ErrorBody, "description": "Unknown learner and no profile"},
               422: {"description": "A parameter is invalid (the message names it)"}},
)
async def recommendations(
    query: Annotated[RecommendationQuery, Query()], learner: LearnerDep, request: Request,
    runtime: RuntimeDep, languages: LanguagesDep,
) -> RecommendationList:
    """The learner's delivery list: the best resources they may take (filters, place,
    language, access, availability), without what they completed or dismissed, at most one
    per title, each with a reason in the learner's language and what a platform renders
    beside it; local resources held to their share of what the learner can reach (the
    ``equal_service`` setting). An empty list says why (``empty_reason``,
    ``empty_message``). Events acknowledged by ``POST /v1/events`` count at once, on every
    worker."""
    core = learner.core
    list_request = ListRequest.served(
        runtime.options.list_policy, k=query.k, now=utc_now(), filters=request_filters(query),
        exclude_ids=tuple(query.exclude or ()), one_per_title=query.one_per_title,
        accepted_languages=languages)
    delivered = core.deliver(learner.view, list_request)
    record_exposure(core, learner.view, delivered)  # aggregates only
    note_delivered(request, delivered)  # counted in memory for the console's coverage page
    return recommendation_list(learner.learner_id, delivered, core.served.version)


@router.post(
    "/recommendations/anonymous", response_model=RecommendationList,
    responses={422: {"description": "The profile gives the model nothing to go on"}},
)
async def anonymous(body: AnonymousRequest, runtime: RuntimeDep,
                    request: Request, languages: LanguagesDep) -> RecommendationList:
    """A cold-start list for a newcomer described only by a profile (group, age band,
    region, languages, accessibility needs, interests in Chinese or English)."""
    profile = {
        "group": body.group, "age_band": body.age_band, "region": body.region,
        "urban_rural": body.urban_rural, "languages": "|".join(body.languages) or None,
        "accessibility_needs": "|".join(body.accessibility_needs) or None,
        "interests": body.interests,
    }
    list_request = ListRequest.served(
        runtime.options.list_policy, k=body.k, now=utc_now(),
        filters=request_filters(body.filters), one_per_title=body.one_per_title,
        accepted_languages=languages)

    def deliver() -> RecommendationList:  # reads the store's catalog; encodes the interests
        core = runtime.core()
        view = core.anonymous(profile)
        delivered = core.deliver(view, list_request)
        record_exposure(core, view, delivered)  # aggregates only
        return recommendation_list(None, delivered, core.served.version, cold_start=True)

    answer = await run_in_threadpool(deliver)
    note_interests(request, profile)  # aggregate demand for the console (never logged)
    return answer


@router.put("/learners/{learner_id}", response_model=UpsertAck, tags=["catalog"],
            responses={422: {"description": "A field is invalid (the message names it)"}})
def put_learner(learner_id: LearnerId, body: LearnerIn, runtime: RuntimeDep) -> UpsertAck:
    """Create or replace a learner's profile; their next list uses it (a learner the model
    never saw gets a cold-start list from it). A profile the served model cannot use (its
    list would be a 422) is refused now, with a 422 naming ``group``, and not stored; with no
    model loaded it is stored unchecked (the platform's data is never dropped)."""
    row = body.model_dump()
    row["learner_id"] = learner_id
    row["languages"] = "|".join(body.languages) or None
    row["accessibility_needs"] = "|".join(body.accessibility_needs) or None
    record = LearnerRecord.validate(row)
    runtime.check_profile(learner_id, record.profile)
    created = runtime.store.upsert_learner(record)
    return UpsertAck(id=learner_id, created=created)
