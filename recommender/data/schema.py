"""The data contract: the three tables of DESIGN.md (plus region adjacency) as typed schemas.

A schema is declarative; :mod:`recommender.data.validate` is the one place that checks a frame
against it. List-valued cells (languages, tags, accessibility) are stored in files as
``|``-separated strings and kept that way in frames, so CSV and Parquet round-trip the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

LIST_SEPARATOR = "|"

EVENT_TYPES: tuple[str, ...] = (
    "view", "enroll", "progress", "complete", "rate", "bookmark", "dismiss",
)
MODES: tuple[str, ...] = ("online", "offline", "blended")
URBAN_RURAL: tuple[str, ...] = ("urban", "rural")
LEVELS: tuple[str, ...] = ("beginner", "intermediate", "advanced")
ACCESSIBILITY_FEATURES: tuple[str, ...] = (
    "captions", "audio", "large_print", "sign_language", "screen_reader", "easy_read",
)
# Barrier -> the needs (= features) that address it; one listed need per barrier must be met.
# The delivery filter (recommender.features.catalog) and the sample world's learners both read it.
NEED_GROUPS: dict[str, tuple[str, ...]] = {
    "hearing": ("captions", "sign_language"),
    "vision": ("audio", "screen_reader", "large_print"),
    "cognition": ("easy_read",),
}
# The learner groups the policies name; real-data loaders may add their own labels.
LEARNER_GROUPS: tuple[str, ...] = (
    "employee", "rural_resident", "migrant_worker", "unemployed",
    "retiree", "disabled", "veteran", "youth",
)
CATEGORIES: tuple[str, ...] = (
    "vocational_skills", "digital_literacy", "agricultural_technology", "health_elderly_care",
    "literacy", "law_civics", "culture_leisure", "family_education", "entrepreneurship",
)
PROVIDER_TYPES: tuple[str, ...] = (
    "open_university", "community_college", "community_school", "vocational_school",
    "enterprise", "library_museum",
)


class Kind(Enum):
    """How a column's cells are parsed."""

    STRING = "string"
    FLOAT = "float"
    TIMESTAMP = "timestamp"
    LIST = "list"  # "|"-separated strings


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False  # must be present in the input; optional ones are added as empty
    nullable: bool = True
    allowed: tuple[str, ...] | None = None  # for STRING, or each member of a LIST
    min_value: float | None = None
    unique: bool = False


@dataclass(frozen=True)
class TableSchema:
    name: str
    key: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _id(name: str, unique: bool = False) -> Column:
    return Column(name, Kind.STRING, required=True, nullable=False, unique=unique)


LEARNERS = TableSchema(
    name="learners",
    key="learner_id",
    columns=(
        _id("learner_id", unique=True),
        Column("group", Kind.STRING, required=True, nullable=False),
        Column("age_band", Kind.STRING),
        Column("region", Kind.STRING),
        Column("urban_rural", Kind.STRING, allowed=URBAN_RURAL),
        Column("education_level", Kind.STRING),
        Column("languages", Kind.LIST),
        Column("accessibility_needs", Kind.LIST, allowed=ACCESSIBILITY_FEATURES),
        Column("interests", Kind.STRING),
        Column("credit_hours_required", Kind.FLOAT, min_value=0.0),
        Column("created_at", Kind.TIMESTAMP),
    ),
)

RESOURCES = TableSchema(
    name="resources",
    key="resource_id",
    columns=(
        _id("resource_id", unique=True),
        Column("title", Kind.STRING, required=True, nullable=False),
        Column("description", Kind.STRING),
        Column("language", Kind.STRING),
        Column("category", Kind.STRING, required=True, nullable=False),
        Column("tags", Kind.LIST),
        Column("provider", Kind.STRING),
        Column("provider_type", Kind.STRING),
        Column("mode", Kind.STRING, required=True, nullable=False, allowed=MODES),
        Column("region", Kind.STRING),
        Column("duration_minutes", Kind.FLOAT, min_value=0.0),
        Column("credit_hours", Kind.FLOAT, min_value=0.0),
        Column("level", Kind.STRING, allowed=LEVELS),
        Column("accessibility", Kind.LIST, allowed=ACCESSIBILITY_FEATURES),
        Column("available_from", Kind.TIMESTAMP),
        Column("available_until", Kind.TIMESTAMP),
        Column("created_at", Kind.TIMESTAMP),
    ),
)

EVENTS = TableSchema(
    name="events",
    key="event_id",
    columns=(
        _id("event_id", unique=True),
        _id("learner_id"),
        _id("resource_id"),
        Column("event_type", Kind.STRING, required=True, nullable=False, allowed=EVENT_TYPES),
        Column("value", Kind.FLOAT),
        Column("timestamp", Kind.TIMESTAMP, required=True, nullable=False),
    ),
)

REGIONS = TableSchema(
    name="regions",
    key="region",
    columns=(_id("region"), _id("neighbour")),
)

TABLES: dict[str, TableSchema] = {s.name: s for s in (LEARNERS, RESOURCES, EVENTS, REGIONS)}
