"""Similar resources, and resource upserts (new ones recommendable at once, withdrawn ones gone
at once)."""

from __future__ import annotations

from fastapi import Request, Response

from recommender.serving.deps import request_filters, runtime_of, v1_router
from recommender.serving.query import list_fields, openapi_parameters, parse_query
from recommender.serving.recommend import similar_resources
from recommender.serving.responses import item_dicts, json_response
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


QUERY_LISTS = list_fields(SimilarQuery)


@router.get("/resources/{resource_id}/similar", response_model=SimilarList,
            responses={404: {"model": ErrorBody, "description": "Unknown or withdrawn resource"}},
            openapi_extra={"parameters": openapi_parameters(SimilarQuery)})
async def similar(request: Request, resource_id: ResourceId) -> Response:
    """Resources nearest to this one in the model's space (filters apply; withdrawn ones and
    the resource itself are left out)."""
    query = parse_query(SimilarQuery, request, QUERY_LISTS)
    runtime = runtime_of(request)
    served = runtime.require_served()
    overlay = runtime.overlay(served)
    picked = similar_resources(served, overlay, resource_id, query.k, request_filters(query))
    return json_response({"resource_id": resource_id, "items": item_dicts(picked),
                          "model_version": served.version})


@router.put("/resources/{resource_id}", response_model=UpsertAck,
            responses={422: {"description": "A field is invalid (the message names it)"}})
def put_resource(request: Request, resource_id: ResourceId, body: ResourceIn) -> UpsertAck:
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
    created = runtime_of(request).store.upsert_resource(record)
    return UpsertAck(id=resource_id, created=created)
