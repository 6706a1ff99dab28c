"""Similar resources, and resource upserts (new ones recommendable at once, withdrawn ones gone
at once)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.concurrency import run_in_threadpool

from recommender.delivery.core import ListRequest
from recommender.serving.deps import (
    LanguagesDep,
    RuntimeDep,
    request_filters,
    utc_now,
    v1_router,
)
from recommender.serving.responses import recommended
from recommender.serving.schemas import (
    ErrorBody,
    ResourceId,
    ResourceIn,
    SimilarList,
    SimilarQuery,
    UpsertAck,
)
from recommender.store import ResourceRecord

router = v1_router("catalog")


@router.get("/resources/{resource_id}/similar", response_model=SimilarList,
            responses={404: {"model": ErrorBody, "description": "Unknown or withdrawn resource"}})
async def similar(
    resource_id: ResourceId, query: Annotated[SimilarQuery, Query()], runtime: RuntimeDep,
    languages: LanguagesDep,
) -> SimilarList:
    """Resources nearest to this one in the model's space (filters apply; withdrawn ones and
    the resource itself are left out; at most one per title), each with what a platform
    renders beside it; the reason is in the ``Accept-Language``."""
    request = ListRequest(k=query.k, now=utc_now(), filters=request_filters(query),
                          one_per_title=query.one_per_title, accepted_languages=languages)
    core = await run_in_threadpool(runtime.core)  # reads the catalog changes' signature
    return SimilarList(resource_id=resource_id, items=recommended(core.similar(resource_id,
                                                                               request)),
                       model_version=core.served.version)


@router.put("/resources/{resource_id}", response_model=UpsertAck,
            responses={422: {"description": "A field is invalid (the message names it)"}})
def put_resource(resource_id: ResourceId, body: ResourceIn, runtime: RuntimeDep) -> UpsertAck:
    """Create or replace a resource. A new one is recommendable at once through its content
    vector; ``withdrawn: true`` takes it out of every list at once (on every worker)."""
    row = body.model_dump(exclude={"withdrawn"})
    row["resource_id"] = resource_id
    row["tags"] = "|".join(body.tags) or None
    row["accessibility"] = "|".join(body.accessibility) or None
    for name in ("available_from", "available_until", "created_at"):
        if row.get(name) is not None:
            row[name] = row[name].isoformat()
    record = ResourceRecord.validate(row, withdrawn=body.withdrawn)
    created = runtime.store.upsert_resource(record)
    return UpsertAck(id=resource_id, created=created)
