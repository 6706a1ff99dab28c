"""Liveness, readiness and metrics: no API key (probes and scrapers have none)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from recommender.serving.deps import RuntimeDep
from recommender.serving.metrics import render
from recommender.serving.schemas import Health, Ready

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health)
async def health(runtime: RuntimeDep) -> Health:
    """Liveness: the process answers (with the served bundle's version, if any)."""
    served = runtime.served
    return Health(status="ok", bundle_version=served.version if served else None)


@router.get("/ready", response_model=Ready, responses={503: {"model": Ready}})
def ready(runtime: RuntimeDep) -> Response:
    """Readiness: the accepted bundle is loaded, the database answers and takes writes (a
    rolled-back write, at most every few seconds); 503 with the reason otherwise. Runs in the
    thread pool: it reads the store."""
    ok, detail = runtime.ready()
    body = Ready(ready=ok, detail=detail,
                 bundle_version=runtime.served.version if runtime.served else None)
    return JSONResponse(status_code=200 if ok else 503, content=body.model_dump())


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus exposition: requests and latency per route, events ingested, model version."""
    payload, content_type = render(request.app.state.metrics_dir)
    return Response(content=payload, media_type=content_type)
