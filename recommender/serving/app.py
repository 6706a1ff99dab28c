"""The FastAPI application the learning platform calls.

The bundle is loaded once at startup (lifespan) and held as one immutable :class:`ServedModel`;
routes read it from ``app.state`` and never rebuild id maps or vectors.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path as PathParam, Query, Request

from recommender import __version__
from recommender.bundle import Bundle, load_bundle
from recommender.errors import BundleError, ModelNotLoadedError
from recommender.serving.errors import install_error_handlers
from recommender.serving.model_state import ServedModel
from recommender.serving.schemas import ErrorBody, Health, RecommendationList, RecommendedResource

log = logging.getLogger(__name__)

ERROR_RESPONSES = {
    404: {"model": ErrorBody, "description": "Unknown learner"},
    503: {"model": ErrorBody, "description": "No model bundle loaded"},
}


def _served(request: Request) -> ServedModel:
    served: ServedModel | None = request.app.state.served
    if served is None:
        raise ModelNotLoadedError(
            request.app.state.load_error or "no model bundle is loaded; train one and restart"
        )
    return served


router = APIRouter()


@router.get("/health", response_model=Health, tags=["operations"])
def health(request: Request) -> Health:
    """Liveness, with the version of the bundle being served (None when none is loaded)."""
    served: ServedModel | None = request.app.state.served
    return Health(status="ok", bundle_version=served.bundle.version if served else None)


learners = APIRouter(tags=["recommendations"], responses=ERROR_RESPONSES)


@learners.get("/learners/{learner_id}/recommendations", response_model=RecommendationList)
def recommendations(
    request: Request,
    learner_id: Annotated[str, PathParam(min_length=1, max_length=200)],
    k: Annotated[int, Query(ge=1, le=200, description="How many resources to return")] = 10,
) -> RecommendationList:
    """The learner's delivery list: best-scored resources they have not completed or dismissed."""
    served = _served(request)
    resource_idx, scores = served.recommend(learner_id, k)
    titles = served.bundle.resources["title"].to_numpy()
    ids = served.bundle.resource_map.ids
    items = [
        RecommendedResource(
            rank=rank, resource_id=str(ids[idx]), title=str(titles[idx]), score=float(score)
        )
        for rank, (idx, score) in enumerate(zip(resource_idx, scores, strict=True), start=1)
    ]
    return RecommendationList(
        learner_id=learner_id, items=items, model_version=served.bundle.version
    )


def create_app(
    bundle_path: Path | None = None,
    *,
    bundle: Bundle | None = None,
    index_factory: str = "Flat",
) -> FastAPI:
    """Build the app; the bundle comes from ``bundle`` or is loaded from ``bundle_path``.

    A missing or broken bundle does not stop the server: it starts, reports the reason, and
    answers recommendation requests with 503 until a good bundle is loaded.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.served = None
        app.state.load_error = None
        try:
            source = bundle if bundle is not None else (
                load_bundle(bundle_path) if bundle_path is not None else None
            )
            if source is not None:
                app.state.served = ServedModel.from_bundle(source, index_factory)
                log.info("serving bundle %s", source.version)
        except BundleError as error:
            app.state.load_error = str(error)
            log.error("no bundle loaded: %s", error)
        yield

    app = FastAPI(
        title="Lifelong-learning resource recommender",
        version=__version__,
        description="Personal delivery lists of learning resources for every learner.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(learners, prefix="/v1")
    app.include_router(learners, include_in_schema=False)  # unversioned alias of the latest
    return app
