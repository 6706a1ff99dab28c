"""The FastAPI application the learning platform calls.

``create_app`` builds the app from explicit arguments (tests, the demo, embedding);
``create_app_from_settings`` is the production entry point: a uvicorn factory
(``uvicorn --factory recommender.serving.app:create_app_from_settings``) that reads the one
settings object, so every worker process builds the same app. The bundle is loaded once per
worker at startup and held as one immutable :class:`ServedModel`; an admin reload swaps it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from recommender import __version__
from recommender.bundle import Bundle
from recommender.delivery.served import ServedModel
from recommender.errors import ConfigError
from recommender.index import SERVING_INDEX
from recommender.serving import admin, credits, events, learners, ops, resources
from recommender.serving import plans as learning_plans
from recommender.serving.auth import KeyGate
from recommender.serving.bundle_source import BundleSource
from recommender.serving.console import ConsoleOptions, install_console
from recommender.serving.docs import install_docs
from recommender.serving.errors import UnexpectedErrors, install_error_handlers
from recommender.serving.limits import BodyLimit
from recommender.serving.metrics import MetricsMiddleware, set_model_version
from recommender.serving.runtime import Runtime, ServingOptions
from recommender.serving.schemas import ErrorBody, Unprocessable
from recommender.settings import Settings, load_settings
from recommender.store import Store

log = logging.getLogger(__name__)

DESCRIPTION = """Personal delivery lists of learning resources for every learner.

Every endpoint except `/health`, `/ready` and `/metrics` needs an `X-API-Key` header; admin
endpoints need an admin key. The key is checked before the body is read. Errors come as
`{"detail": "..."}` naming the field at fault; a request that fails validation gets FastAPI's
list of problems (location, message, a short excerpt of the input), at most 20 of them.
"""

BODY_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "The body cannot be read as JSON (e.g. not UTF-8)"},
    413: {"model": ErrorBody, "description": "The body is larger than the server accepts"},
}


def create_app(
    bundle_path: Path | None = None,
    *,
    bundle: Bundle | None = None,
    index_factory: str = SERVING_INDEX,
    options: ServingOptions | None = None,
    source: BundleSource | None = None,
    store: Store | None = None,
    metrics_dir: str | None = None,
    console: ConsoleOptions | None = None,
) -> FastAPI:
    """Build the app; the bundle comes from ``bundle``, or is loaded from ``source`` (default:
    ``bundle_path``). Without ``options`` the app keeps events in an in-memory database and
    asks for no key: that is for in-process use; servers go through
    :func:`create_app_from_settings`.

    A missing or broken bundle does not stop the server: it starts, ``/ready`` reports why,
    and list requests get 503 until an admin reload succeeds.
    """
    options = options or ServingOptions(index_factory=index_factory)
    source = source or BundleSource(path=bundle_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = store is None
        database = store if store is not None else Store.from_url(options.database_url)
        database.create_schema()
        runtime = Runtime(database, source, options)
        runtime.load_initial(
            ServedModel.from_bundle(bundle, options.index_factory, options.index_params,
                                    options.consumed_event_types)
            if bundle is not None
            else None)
        app.state.runtime = runtime
        set_model_version(runtime.served.version if runtime.served else None)
        try:
            yield
        finally:
            if owned:
                database.dispose()

    app = FastAPI(
        title="Lifelong-learning resource recommender",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Metrics are Prometheus's (/metrics) and logs the app's own: FastAPI's OpenTelemetry
        # hooks would only ask, on every request, whether a provider was configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None, redoc_url=None,  # /docs from the package's files (install_docs)
    )
    app.state.metrics_dir = metrics_dir
    install_error_handlers(app)
    app.include_router(ops.router)
    for module in (learners, events, resources, admin, learning_plans, credits):  # each /v1
        _document_errors(module.router)
        app.include_router(module.router)
    install_docs(app)
    install_console(app, console or ConsoleOptions(tracking_uri=source.tracking_uri),
                    admin_keys=options.admin_keys)
    # Outermost last: metrics see every answer, the last 500s included; the key is checked
    # before anything reads the body, whose size is checked while it is read.
    app.add_middleware(BodyLimit, max_body_bytes=options.max_body_bytes)
    app.add_middleware(KeyGate, api_keys=options.api_keys, admin_keys=options.admin_keys)
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(MetricsMiddleware, access_log=options.access_log)
    return app


def _document_errors(router: APIRouter) -> None:
    """Say what the error handlers answer: 422 in either of its shapes on every route, 400
    (not JSON) and 413 (too large) on those that take a body."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        unprocessable = route.responses.get(422, {})
        route.responses[422] = {"description": "The request failed validation (a list of "
                                "problems) or a rule beyond the schema (one message)",
                                **unprocessable, "model": Unprocessable}
        if route.body_field is not None:
            for status, response in BODY_RESPONSES.items():
                route.responses.setdefault(status, response)


def options_from_settings(settings: Settings) -> tuple[ServingOptions, BundleSource]:
    """Serving options and bundle source from the settings; refuses to serve without keys."""
    api_keys = tuple(key.get_secret_value() for key in settings.api_keys)
    admin_keys = tuple(key.get_secret_value() for key in settings.admin_keys)
    if not api_keys and not admin_keys:
        raise ConfigError(
            "no API keys configured: set RECOMMENDER_API_KEYS (and RECOMMENDER_ADMIN_KEYS)")
    options = ServingOptions(
        index_factory=settings.index_factory,
        index_params=settings.index_params,
        database_url=settings.resolved_database_url(),
        api_keys=api_keys,
        admin_keys=admin_keys,
        max_k=settings.max_k,
        default_k=settings.default_k,
        access_log=settings.access_log,
        max_body_bytes=settings.max_body_bytes,
        credit_hours_required_default=settings.credit_hours_required_default,
        consumed_event_types=settings.consumed_event_types,
        list_policy=settings.list_policy(),
        equity_gap_threshold=settings.equity_gap_threshold,
        profile_prior_events=settings.profile_prior_events,
    )
    source = BundleSource(
        path=settings.bundle_path, registered_model=settings.registered_model,
        alias=settings.model_alias, tracking_uri=settings.resolved_tracking_uri(),
    )
    return options, source


def console_options_from_settings(settings: Settings) -> ConsoleOptions:
    """The operator console's keys, session and MLflow location from the settings."""
    secret = settings.console_secret
    return ConsoleOptions(
        operator_keys=tuple(key.get_secret_value() for key in settings.operator_keys),
        secret=secret.get_secret_value() if secret is not None else None,
        session_seconds=settings.console_session_minutes * 60,
        tracking_uri=settings.resolved_tracking_uri(),
        registered_model=settings.registered_model or settings.experiment_name,
        alias=settings.model_alias, secure_cookie=settings.console_secure_cookie,
    )


def create_app_from_settings(settings: Settings | None = None) -> FastAPI:
    """The production app (a uvicorn factory: an entry point, so it may read the environment).

    One worker is one core: FAISS and BLAS run single-threaded so workers do not fight."""
    import os

    import faiss
    from threadpoolctl import threadpool_limits

    settings = settings or load_settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    faiss.omp_set_num_threads(1)
    threadpool_limits(1)
    options, source = options_from_settings(settings)
    return create_app(options=options, source=source,
                      metrics_dir=os.environ.get("PROMETHEUS_MULTIPROC_DIR"),
                      console=console_options_from_settings(settings))
