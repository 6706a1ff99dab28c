"""Admin: reload the served bundle from the configured source (atomic; a bad one is refused).

A reload is how a bundle is accepted: only what a reload verified (or what a worker found at
its source on a store that had accepted nothing for it) is ever served, by this worker, the
others, and any worker that starts later (see :mod:`recommender.serving.runtime`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from recommender.serving.auth import require_admin
from recommender.serving.deps import RuntimeDep
from recommender.serving.metrics import set_model_version
from recommender.serving.schemas import ErrorBody, ReloadResult

router = APIRouter(
    prefix="/v1",
    tags=["admin"], dependencies=[Depends(require_admin)],
    responses={401: {"model": ErrorBody, "description": "Missing or invalid API key"},
               403: {"model": ErrorBody, "description": "Not an admin key"}},
)


@router.post("/admin/reload", response_model=ReloadResult, responses={
    503: {"model": ErrorBody, "description": "The new bundle failed verification (or the store "
          "could not record it); the old one keeps serving and stays the accepted one"}})
def reload(runtime: RuntimeDep) -> ReloadResult:
    """Load the bundle the configured source names now (the registered model's alias, or the
    bundle path), verify and index it, record it as the accepted bundle and swap it in at
    once; every other worker follows within seconds, and a worker that (re)starts later serves
    it too. A bundle that fails verification is refused, never served later, and the old one
    keeps serving."""
    previous = runtime.served.version if runtime.served is not None else None
    served = runtime.reload()
    set_model_version(served.version)
    return ReloadResult(bundle_version=served.version, previous_version=previous,
                        source=runtime.source.describe())
