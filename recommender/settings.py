"""The one settings object. Built only by entry points (CLI, server); library code takes
explicit arguments and never reads the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from recommender.data.schema import EVENT_TYPES
from recommender.errors import InvalidParameterError
from recommender.delivery.rerank import DEFAULT_CALIBRATION, DEFAULT_EQUAL_SERVICE, ListPolicy
from recommender.index import SERVING_INDEX
from recommender.models.cold_start import PROFILE_PRIOR_EVENTS

Keys = Annotated[tuple[SecretStr, ...], NoDecode]


class Settings(BaseSettings):
    """Every knob an operator may turn, read from ``RECOMMENDER_*`` variables or a ``.env``."""

    model_config = SettingsConfigDict(env_prefix="RECOMMENDER_", env_file=".env", extra="ignore")

    workdir: Path = Field(Path("work"), description="Where the demo writes data, bundles, runs")
    bundle_path: Path | None = Field(None, description="Bundle directory the API serves")
    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; default: a SQLite store under workdir"
    )
    experiment_name: str = "lifelong-recommender"
    index_factory: str = Field(
        SERVING_INDEX, description="FAISS index factory string, NormPrunedFlat (exact, "
        "norm-pruned) or NormPrunedFlat,approx (the default: the longest vectors only where "
        "they sample the allowed resources deeply, exact otherwise)")
    index_params: str = Field(
        "", description="FAISS search parameters, e.g. efSearch=64 for an HNSW index, or "
        "head_share=<share> for NormPrunedFlat (default 0.05; 0.02 with approx)")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    default_k: int = Field(10, ge=1, le=1000)
    max_k: int = Field(200, ge=1)

    # --- serving ----------------------------------------------------------------------------
    database_url: SecretStr | None = Field(
        None, description="SQLAlchemy URL of the serving database (events, learners, "
        "resources); default: SQLite under workdir. postgresql+psycopg://... for PostgreSQL"
    )
    api_keys: Keys = Field((), description="Comma-separated keys the platform may call with")
    admin_keys: Keys = Field((), description="Comma-separated keys for /v1/admin endpoints")
    workers: int = Field(2, ge=1, le=64, description="uvicorn worker processes")
    registered_model: str | None = Field(
        None, description="Registered MLflow model to serve (with model_alias), instead of "
        "bundle_path; /v1/admin/reload loads the version the alias points at"
    )
    model_alias: str = Field("production", description="Alias of the registered model to serve")
    log_level: str = Field("info", description="uvicorn and application log level")
    access_log: bool = Field(
        True, description="The app's access log (method, route template, status, ms; never "
        "query strings): 50-100 us of CPU per request; metrics count requests without it")

    consumed_event_types: Annotated[tuple[str, ...] | None, NoDecode] = Field(
        None, description="Comma-separated event types that mean a learner is done with a "
        "resource (never recommended to them again). Default: the served bundle's rule, from "
        "its training config's [features] consumed / continuing; when set, a bundle trained "
        "with another rule is refused (its exclusions cannot be rebuilt by this one)")
    equal_service: float = Field(
        DEFAULT_EQUAL_SERVICE, ge=0.0, le=1.0, description="How firmly delivery lists hold "
        "local (in-person, near) resources to their share of what each learner can reach: 0 "
        "the model's list, 1 exactly that share (the library's default, chosen by the rule in "
        "experiments/README.md)")
    calibration: float = Field(
        DEFAULT_CALIBRATION, ge=0.0, le=1.0, description="How far a list's category mix "
        "follows the learner's history (Steck 2018); 0 off")
    equity_gap_threshold: float = Field(
        0.2, ge=0.0, le=1.0, description="A learner group is flagged when local resources get "
        "less than (1 - this) of their reachable share of its slots, or when that ratio's "
        "spread between groups exceeds this")

    max_body_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, description="Largest request body the API reads (bytes); "
        "past it the request is refused with 413 while it is read, so a huge body costs a "
        "worker nothing (a full 1,000-event batch is about 250 kB)")

    # --- operator console (/console) -------------------------------------------------------
    operator_keys: Keys = Field((), description="Comma-separated keys that log in to the "
                                "operator console only (admin keys log in too, and may promote)")
    console_secret: SecretStr | None = Field(
        None, description="Secret that signs console session cookies; unset, each process "
        "makes its own, so sessions end on restart and, with several workers, a cookie from "
        "one worker is refused by the others: set it when workers > 1")
    console_session_minutes: int = Field(480, ge=1, le=7 * 24 * 60,
                                         description="How long a console login lasts")
    console_secure_cookie: bool = Field(
        False, description="Send the console cookie over HTTPS only (set behind TLS)")

    # --- learners -----------------------------------------------------------------------------
    profile_prior_events: float = Field(
        PROFILE_PRIOR_EVENTS, ge=0, allow_inf_nan=False, description="How many history "
        "resources a newcomer's stated interests are worth: their vector points along "
        "w * profile + (1 - w) * history with w = n0 / (n0 + n) for n resources in their "
        "history (0: the first event replaces the profile). Default measured on held-out "
        "newcomers, see experiments/README.md")
    credit_hours_required_default: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="Credit hours a year a learner owes when "
        "their profile gives no credit_hours_required (e.g. 72 where every learner owes the "
        "72-hour rule); unset: such a learner owes nothing. Read by the credit ledger and plans")

    @field_validator("api_keys", "admin_keys", "operator_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """``"a,b"`` (environment) or a sequence; blanks dropped."""
        if isinstance(value, str):
            return tuple(key.strip() for key in value.split(",") if key.strip())
        return value

    @field_validator("consumed_event_types", mode="before")
    @classmethod
    def _split_types(cls, value: object) -> object:
        """``"complete,dismiss"`` (environment) or a sequence; blanks dropped; each must be an
        event type of the data contract."""
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, (tuple, list)):
            unknown = [t for t in value if t not in EVENT_TYPES]
            if unknown:
                raise ValueError(f"unknown event types {unknown}; known: {list(EVENT_TYPES)}")
        return value

    def resolved_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.workdir / 'serving.db').resolve()}"

    def list_policy(self) -> ListPolicy:
        """The lists' re-rank knobs, which the API, ``recommender deliver`` and the pyfunc
        model all serve with."""
        return ListPolicy(equal_service=self.equal_service, calibration=self.calibration)

    def resolved_tracking_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{(self.workdir / 'mlflow.db').resolve()}"


SECRET_SETTINGS = frozenset({"api_keys", "admin_keys", "database_url", "operator_keys",
                             "console_secret"})


def load_settings(**overrides: object) -> Settings:
    """:class:`Settings` from the environment and ``overrides``; a bad value is the library's
    :class:`InvalidParameterError` naming the setting and its variable (a secret's value is
    never shown), so entry points report it like any other bad parameter."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        value = "(not shown)" if name in SECRET_SETTINGS else first.get("input")
        expected = str(first["msg"])
        raise InvalidParameterError(
            f"{name} (RECOMMENDER_{name.upper()})", value, expected[:1].lower() + expected[1:]
        ) from None
