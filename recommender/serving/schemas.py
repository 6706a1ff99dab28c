"""Request and response models of the HTTP API (they are the OpenAPI documentation).

Vocabularies come from the data contract (:mod:`recommender.data.schema`), never repeated here;
the store validates every write again with the contract's own rules.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from recommender.data.schema import ACCESSIBILITY_FEATURES, EVENT_TYPES, LEVELS, MODES, URBAN_RURAL

# Ids and labels: printable, no control characters (they end up in paths, logs and SQL), and
# not only white space. Surrounding white space is stripped, as the data contract strips cells,
# after the checks: the schema's lengths and pattern hold for what the client sent.
PRINTABLE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
Id = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE),
               AfterValidator(str.strip)]
LearnerId = Annotated[Id, Path(description="The platform's learner id")]
ResourceId = Annotated[Id, Path(description="The platform's resource id")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE),
                  AfterValidator(str.strip)]
Text = Annotated[str, StringConstraints(max_length=5000, pattern=r"^[^\x00]*$")]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Mode = Literal[MODES]  # type: ignore[valid-type]
Level = Literal[LEVELS]  # type: ignore[valid-type]
Feature = Literal[ACCESSIBILITY_FEATURES]  # type: ignore[valid-type]
UrbanRural = Literal[URBAN_RURAL]  # type: ignore[valid-type]
Number = Annotated[float, Field(allow_inf_nan=False)]
VectorPath = Literal["trained", "history", "profile+history", "profile"]


def _whole(value: object) -> object:
    """``17.0`` is an integer to JSON Schema; a strict body takes it as 17."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Whole = Annotated[int, BeforeValidator(_whole)]  # an integer in a strict JSON body


# ISO 8601 as the API takes it: a date, or a date and time (seconds and fraction optional), with
# ``Z`` or an offset or neither (then UTC); years 1900-2199 (wider is a typo, and beyond what the
# catalog's clocks represent). Numbers and numeric strings are refused: pydantic would read them
# as Unix times, so ``0`` or ``"-99999999999"`` would pass as dates.
MOMENT_PATTERN = (r"^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}"
                  r"([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:?[0-9]{2})?)?$")
_MOMENT = re.compile(MOMENT_PATTERN)
_MOMENT_RULE = "an ISO 8601 date-time string between 1900 and 2199, e.g. 2025-03-01T08:30:00Z"


_DATETIME = TypeAdapter(datetime)


def _iso_string(value: object) -> object:
    """Only ISO 8601 strings (and, from Python callers, datetimes) are read as date-times,
    by pydantic's own parser (so strict body models, which take only datetimes, take them)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _MOMENT.match(value):
        raise ValueError(f"must be {_MOMENT_RULE}")
    try:
        return _DATETIME.validate_python(value)
    except ValidationError as error:  # e.g. month 13: say why, without echoing the value
        raise ValueError(f"must be {_MOMENT_RULE} ({error.errors()[0]['msg']})") from None


def _in_range(value: datetime) -> datetime:
    """Years 1900-2199 as written (UTC when no zone), the bound the pattern states."""
    if not 1900 <= value.year <= 2199:
        raise ValueError(f"must be {_MOMENT_RULE}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Moment = Annotated[
    datetime, BeforeValidator(_iso_string), AfterValidator(_in_range),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": MOMENT_PATTERN,
                    "description": f"{_MOMENT_RULE[0].upper()}{_MOMENT_RULE[1:]} "
                    "(no zone: UTC)"}),
]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Strict(BaseModel):
    """Query parameters: no unknown names (values arrive as text and are parsed)."""

    model_config = ConfigDict(extra="forbid")


class StrictBody(BaseModel):
    """JSON bodies: no unknown names, and no coercion: a number is not a string or a boolean
    (``false`` is not 0), a boolean not a number, an integer not ``"5"`` (but ``5.0``, as JSON
    Schema has it, where the type is :data:`Whole`)."""

    model_config = ConfigDict(extra="forbid", strict=True)


# --- recommendations ---------------------------------------------------------------------------

class ListFilters(Strict):
    """Filters of a delivery list; each set field must hold (a list means any of them)."""

    category: list[Label] | None = Field(None, max_length=20, examples=[["digital_literacy"]])
    language: list[Label] | None = Field(None, max_length=20, examples=[["zh"]])
    mode: list[Mode] | None = Field(None, max_length=3)
    region: Label | None = Field(None, description="Offline/blended resources only in this region")
    max_duration_minutes: NonNegative | None = None
    level: list[Level] | None = Field(None, max_length=3)
    accessibility: list[Feature] | None = Field(
        None, max_length=6, description="Features every returned resource must offer")
    open_from: Moment | None = Field(
        None, description="With open_until: resources open at some point in this window "
        "(default: only resources open now)")
    open_until: Moment | None = None
    provider_type: list[Label] | None = Field(None, max_length=10)


ONE_PER_TITLE = ("At most one resource per title (the best-scored); false lists every "
                 "resource, same-titled ones included")


class RecommendationQuery(ListFilters):
    """Query parameters of ``GET /v1/learners/{learner_id}/recommendations``."""

    k: int = Field(10, ge=1, le=200, description="How many resources to return")
    exclude: list[Id] | None = Field(None, max_length=500,
                                     description="Resource ids to leave out")
    one_per_title: bool = Field(True, description=ONE_PER_TITLE)


ReasonKind = Literal["continue", "similar", "interest", "group_popular", "popular", "new"]


class RecommendedResource(BaseModel):
    """One list item, with what a platform renders beside it (no second call per item)."""

    rank: int = Field(description="1-based position in the delivery list")
    resource_id: str
    title: str
    score: float = Field(description="Inner product of learner and resource vectors")
    reason: str = Field(description="Why it is on the list, in the learner's language (their "
                        "profile's languages, else Accept-Language; Chinese or English)",
                        examples=["因为你学完了《智能手机入门》"])
    reason_kind: ReasonKind = Field(
        description="continue (in their history), similar (a history resource that drives its "
        "score), interest (stated interests), group_popular, popular or new")
    category: str | None = Field(None, examples=["digital_literacy"])
    mode: Mode | None = None
    level: Level | None = None
    language: str | None = Field(None, examples=["zh"])
    duration_minutes: float | None = None
    credit_hours: float | None = Field(None, description="Credit-bank hours it earns")
    provider: str | None = None
    provider_type: str | None = Field(None, examples=["open_university"])
    region: str | None = Field(None, description="Where an offline or blended resource is held "
                               "(None for online ones)")
    available_from: datetime | None = Field(None, description="Opens (None: no start date)")
    available_until: datetime | None = Field(None, description="Closes (None: no end date)")
    accessibility: list[Feature] = Field(default_factory=list)


EmptyReasonCode = Literal["no_match", "all_done", "none_open"]


class RecommendationList(BaseModel):
    learner_id: str | None = Field(description="None for an anonymous list")
    items: list[RecommendedResource]
    model_version: str
    cold_start: bool = Field(False, description="True while no history of the learner's is "
                             "used (the list comes from their profile alone)")
    cold_start_path: str | None = Field(
        None, description="fold_in (recent events folded in), profile (from the profile) or "
        "None (the trained vector)")
    empty_reason: EmptyReasonCode | None = Field(
        None, description="Why the list is empty (None when it is not): no_match (nothing "
        "matches the filters and the learner's constraints), all_done (the learner completed, "
        "dismissed or excluded everything that matches), none_open (nothing that matches is "
        "open now or in the window asked for)")
    empty_message: str | None = Field(None, description="empty_reason as a sentence in the "
                                      "learner's language")
    vector_path: VectorPath = Field(
        "trained", description="Which parts made the learner's vector: trained (the model's), "
        "history (their events folded in), profile+history (a newcomer's stated profile "
        "blended with their events, its weight shrinking as events accumulate) or profile")


class SimilarList(BaseModel):
    resource_id: str
    items: list[RecommendedResource]
    model_version: str


class SimilarQuery(ListFilters):
    k: int = Field(10, ge=1, le=200)
    one_per_title: bool = Field(True, description=ONE_PER_TITLE)


class BodyFilters(ListFilters):
    """:class:`ListFilters` inside a JSON body: as strict as the body."""

    model_config = ConfigDict(strict=True)


class AnonymousRequest(StrictBody):
    """A newcomer described by a profile; nothing is stored."""

    group: Label | None = Field(None, examples=["retiree"])
    age_band: Label | None = Field(None, examples=["65+"])
    region: Label | None = None
    urban_rural: UrbanRural | None = None
    languages: list[Label] = Field(default_factory=list, max_length=20, examples=[["zh"]])
    accessibility_needs: list[Feature] = Field(default_factory=list, max_length=6)
    interests: Text | None = Field(None, examples=["想学用智能手机和微信视频通话 smartphone"])
    k: Whole = Field(10, ge=1, le=200)
    filters: BodyFilters = Field(default_factory=BodyFilters)
    one_per_title: bool = Field(True, description=ONE_PER_TITLE)

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "group": "retiree", "age_band": "65+", "region": "R01", "languages": ["zh"],
        "accessibility_needs": ["large_print"], "interests": "想学用智能手机 smartphone", "k": 5,
    }]})


# --- events ----------------------------------------------------------------------------------

class EventIn(StrictBody):
    event_id: Id = Field(examples=["evt-000123"])
    learner_id: Id = Field(examples=["L000042"])
    resource_id: Id = Field(examples=["R00017"])
    event_type: EventType
    value: Number | None = Field(None, description="e.g. a rating, progress or click count")
    timestamp: Moment = Field(description="ISO 8601; without a zone it is UTC",
                                examples=["2025-03-01T08:30:00Z"])


class EventBatch(StrictBody):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


def _event_or_batch(value: object) -> str:
    """An object with ``events`` is a batch: its errors are then the batch's alone, not a mix
    of both shapes' (and its length is checked before any of its events)."""
    return "batch" if isinstance(value, dict) and "events" in value else "event"


EventsBody = Annotated[
    Annotated[EventIn, Tag("event")] | Annotated[EventBatch, Tag("batch")],
    Discriminator(_event_or_batch),
]


class EventResult(BaseModel):
    event_id: str
    status: Literal["stored", "duplicate"]


class IngestAck(BaseModel):
    stored: int = Field(description="Events stored by this request")
    duplicates: int = Field(description="Events already stored with the same payload")
    results: list[EventResult]


# --- upserts ---------------------------------------------------------------------------------

class LearnerIn(StrictBody):
    group: Label = Field(examples=["retiree"])
    age_band: Label | None = None
    region: Label | None = None
    urban_rural: UrbanRural | None = None
    education_level: Label | None = None
    languages: list[Label] = Field(default_factory=list, max_length=20)
    accessibility_needs: list[Feature] = Field(default_factory=list, max_length=6)
    interests: Text | None = None
    credit_hours_required: NonNegative | None = None
    created_at: Moment | None = None


class ResourceIn(StrictBody):
    title: Annotated[str, StringConstraints(min_length=1, max_length=500,
                                            pattern=r"^[^\x00]*\S[^\x00]*$")]
    description: Text | None = None
    language: Label | None = None
    category: Label = Field(examples=["digital_literacy"])
    tags: list[Label] = Field(default_factory=list, max_length=50)
    provider: Label | None = None
    provider_type: Label | None = None
    mode: Mode
    region: Label | None = Field(None, description="Required for offline and blended resources")
    duration_minutes: NonNegative | None = None
    credit_hours: NonNegative | None = None
    level: Level | None = None
    accessibility: list[Feature] = Field(default_factory=list, max_length=6)
    available_from: Moment | None = None
    available_until: Moment | None = None
    withdrawn: bool = Field(False, strict=True,  # JSON true/false only, not 0 or "yes"
                            description="True takes the resource out of every list now")


class UpsertAck(BaseModel):
    id: str
    created: bool = Field(description="True if it was new, False if it was replaced")


# --- operations ------------------------------------------------------------------------------

class Health(BaseModel):
    status: str
    bundle_version: str | None = Field(description="Version of the loaded bundle, if any")


class Ready(BaseModel):
    ready: bool
    detail: str
    bundle_version: str | None = None


class ReloadResult(BaseModel):
    bundle_version: str
    previous_version: str | None
    source: str


class ErrorBody(BaseModel):
    detail: str


class ValidationProblem(BaseModel):
    """One problem of a request that failed validation (FastAPI's shape, bounded)."""

    loc: list[str | int] = Field(description="Where: body, query or path, then the field")
    msg: str
    type: str
    input: str | None = Field(None, description="A short excerpt of the value sent")


class ValidationErrorBody(BaseModel):
    detail: list[ValidationProblem] = Field(
        description="At most 20 problems (then one saying how many more)")


# A 422: the request failed validation (a list of problems), or a rule beyond the schema
# (an unknown learner named by an event, a profile the model cannot place: one message).
Unprocessable = ValidationErrorBody | ErrorBody


# --- learning plans ----------------------------------------------------------------------------

MAX_PLAN_WEEKS = 104  # two years: the longest period a continuing-education requirement spans


class PlanQuery(ListFilters):
    """Query parameters of ``GET /v1/learners/{learner_id}/plan``."""

    hours_per_week: float = Field(gt=0, le=168, allow_inf_nan=False,
                                  description="Hours a week the learner can study")
    weeks: int = Field(ge=1, le=MAX_PLAN_WEEKS, description="How many weeks the plan spans")
    credit_required: NonNegative | None = Field(
        None, description="Credit hours required this year; default: the learner's credit "
        "ledger (their credit_hours_required, else the server's default)")
    credit_completed: NonNegative | None = Field(
        None, description="Credit hours already earned towards it; default: the learner's "
        "credit ledger for the current year (GET /v1/learners/{learner_id}/credits). Give it "
        "only for a what-if plan")
    exclude: list[Id] | None = Field(None, max_length=500,
                                     description="Resource ids to leave out")


class PlannedResource(BaseModel):
    order: int = Field(description="1-based position in study order")
    resource_id: str
    title: str
    score: float = Field(description="Inner product of learner and resource vectors")
    duration_minutes: float
    credit_hours: float
    category: str | None
    level: str | None
    start_week: int = Field(description="1-based week the learner starts it, studying in order")
    reason: str
    reason_kind: str


class LearningPlan(BaseModel):
    learner_id: str
    items: list[PlannedResource]
    hours_per_week: float
    weeks: int
    budget_minutes: float = Field(description="hours_per_week x 60 x weeks; never exceeded")
    total_minutes: float
    credit_hours: float = Field(description="Credit hours the planned resources carry")
    credit_required: float = Field(description="Credit hours the plan aimed to cover "
                                   "(requirement minus completed; 0 when none)")
    credit_completed: float = Field(
        0.0, description="Credit hours counted as already earned (the ledger's, unless the "
        "request gave credit_completed)")
    ledger_year: int | None = Field(
        None, description="The credit ledger year the plan read; null when the request gave "
        "both credit_required and credit_completed")
    shortfall_hours: float = Field(description="How far the plan falls short of credit_required")
    shortfall_reason: Literal["catalog", "candidates", "time_budget"] | None = Field(
        None, description="catalog: nothing the learner may take carries enough credit; "
        "candidates: the best-scored ones do not; time_budget: they do, but not in the time")
    model_version: str
    cold_start: bool = False
    cold_start_path: str | None = None
    vector_path: VectorPath = "trained"


# --- credit ledger -----------------------------------------------------------------------------

_DAY = re.compile(r"^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$")
_DAY_RULE = "an ISO 8601 date string between 1900 and 2199, e.g. 2026-03-01"


def _iso_day(value: object) -> object:
    """Only ``YYYY-MM-DD`` strings (and, from Python callers, dates) are read as dates."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DAY.match(value):
        raise ValueError(f"must be {_DAY_RULE}")
    try:
        return date.fromisoformat(value)
    except ValueError as error:  # e.g. month 13
        raise ValueError(f"must be {_DAY_RULE} ({error})") from None


Day = Annotated[date, BeforeValidator(_iso_day),
                WithJsonSchema({"type": "string", "format": "date",
                                "pattern": _DAY.pattern, "description": _DAY_RULE})]


class CreditIn(StrictBody):
    """Learning done elsewhere that the platform recognised for this learner."""

    credit_id: Id = Field(description="The platform's id of this record: sending the same "
                          "record again is harmless, the id with another record is a 409",
                          examples=["cb-2026-000123"])
    hours: float = Field(gt=0, le=10_000, allow_inf_nan=False,
                         description="Credit hours recognised", examples=[8])
    source: Id = Field(description="Where the learning was done (institution, programme)",
                       examples=["市职工继续教育中心"])
    earned_on: Day = Field(description="When it was completed; it counts for that year")
    evidence: Annotated[str, StringConstraints(min_length=1, max_length=1000,
                                               pattern=PRINTABLE)] | None = Field(
        None, description="A reference to the evidence (certificate number, transcript id)",
        examples=["CERT-2026-0042"])
    category: Label | None = Field(None, examples=["vocational_skills"])
    title: Annotated[str, StringConstraints(min_length=1, max_length=500,
                                            pattern=PRINTABLE)] | None = None


class CreditRecorded(CreditIn):
    """The record as stored (the same answer however often it is sent)."""

    model_config = ConfigDict(extra="forbid")

    learner_id: str
    year: int = Field(description="The ledger year it counts for")


class CreditLine(BaseModel):
    kind: Literal["completion", "recognised"] = Field(
        description="completion: a credit-bearing resource completed on the platform; "
        "recognised: learning recorded through POST /v1/learners/{learner_id}/credits")
    id: str = Field(description="The resource_id of a completion, the credit_id of a record")
    title: str | None
    hours: float
    earned_on: date
    category: str | None
    provider: str | None = Field(description="The resource's provider, or the record's source")
    evidence: str | None = None


class HoursBy(BaseModel):
    name: str | None = Field(description="A category or provider; null: none given")
    hours: float


class CreditLedgerOut(BaseModel):
    """A learner's credit hours for one calendar year (UTC)."""

    learner_id: str
    year: int
    required_hours: float | None = Field(
        description="The profile's credit_hours_required, else the server's default; null: "
        "nothing is required")
    earned_hours: float = Field(description="platform_hours + recognised_hours")
    platform_hours: float = Field(
        description="Credit hours of resources completed this year (each resource counts "
        "once, in the year of its first completion)")
    recognised_hours: float = Field(description="Hours recognised from outside learning")
    shortfall_hours: float = Field(description="required_hours - earned_hours, at least 0")
    by_category: list[HoursBy]
    by_provider: list[HoursBy]
    entries: list[CreditLine] = Field(description="What was counted, oldest first")
    bundle_history: bool = Field(
        description="False when the served model carries no completion dates (built by an "
        "older version): then only completions stored since count")
