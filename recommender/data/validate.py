"""The one validation entry point for the data contract.

Checks are vectorised (a million events validate in about a second) and collect every problem
rather than stopping at the first, so ``recommender data validate`` can list them all. Each check
keeps up to ``MAX_EXAMPLES`` example cells and counts the rest.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from recommender.data.dataset import Dataset
from recommender.data.schema import (
    EVENTS,
    LEARNERS,
    LIST_SEPARATOR,
    REGIONS,
    RESOURCES,
    Column,
    Kind,
    TableSchema,
)
from recommender.errors import DataValidationError, Problem

MAX_EXAMPLES = 20


class _Collector:
    """Accumulates problems, keeping a bounded number of examples per check."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.total = 0

    def add_mask(
        self,
        schema: TableSchema,
        column: str,
        values: pd.Series,
        mask: np.ndarray | pd.Series,
        message: str,
        source: str | None,
    ) -> None:
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        if positions.size == 0:
            return
        self.total += int(positions.size)
        for pos in positions[:MAX_EXAMPLES]:
            value = values.iloc[pos]
            self.problems.append(
                Problem(schema.name, column, int(pos) + 1, _plain(value), message, source)
            )

    def add(self, problem: Problem) -> None:
        self.total += 1
        self.problems.append(problem)


def _plain(value: object) -> object:
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _blank(series: pd.Series) -> pd.Series:
    """True where a cell is missing or only white space (only text cells can be white space)."""
    missing = series.isna()
    if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
        return missing
    return missing | series.astype("string").str.strip().eq("").fillna(True)


def _coerce_column(
    frame: pd.DataFrame, column: Column, schema: TableSchema, out: _Collector, source: str | None
) -> pd.Series:
    raw = frame[column.name]
    blank = _blank(raw)
    if not column.nullable:
        out.add_mask(schema, column.name, raw, blank, "must not be empty", source)

    if column.kind is Kind.FLOAT:
        parsed = pd.to_numeric(raw.where(~blank), errors="coerce").astype("float64")
        bad = ~blank & (parsed.isna() | ~np.isfinite(parsed.fillna(0.0)))
        out.add_mask(schema, column.name, raw, bad, "is not a finite number", source)
        if column.min_value is not None:
            low = parsed < column.min_value
            out.add_mask(schema, column.name, raw, low, f"must be >= {column.min_value:g}", source)
        return parsed

    if column.kind is Kind.TIMESTAMP:
        if isinstance(raw.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(raw):
            parsed = pd.to_datetime(raw, utc=True)
        else:
            text = raw.where(~blank).astype("string")
            parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
        bad = ~blank & parsed.isna()
        out.add_mask(
            schema, column.name, raw, bad, "timestamp does not parse (ISO 8601 expected)", source
        )
        return parsed

    text = raw.astype("string").str.strip().where(~blank)
    text = text.astype(object).where(~blank, None)
    if column.allowed is not None:
        allowed = set(column.allowed)
        if column.kind is Kind.LIST:
            bad_mask = text.map(
                lambda cell: cell is not None
                and any(m and m not in allowed for m in cell.split(LIST_SEPARATOR))
            )
            message = f"has a member outside {sorted(allowed)}"
        else:
            bad_mask = ~blank & ~text.isin(allowed)
            message = f"must be one of {sorted(allowed)}"
        out.add_mask(schema, column.name, raw, bad_mask, message, source)
    return text


def validate_table(
    frame: pd.DataFrame, schema: TableSchema, source: str | None = None
) -> tuple[pd.DataFrame, _Collector]:
    """Check and coerce one table; returns the typed frame and the problems found."""
    out = _Collector()
    missing = [c.name for c in schema.columns if c.required and c.name not in frame.columns]
    for name in missing:
        out.add(Problem(schema.name, name, None, None, "required column is missing", source))
    if missing:
        return frame, out

    typed = frame.reset_index(drop=True).copy()
    for column in schema.columns:
        if column.name not in typed.columns:
            typed[column.name] = pd.Series([None] * len(typed), dtype=object)
            if column.kind is Kind.FLOAT:
                typed[column.name] = np.nan
            elif column.kind is Kind.TIMESTAMP:
                typed[column.name] = pd.Series(pd.NaT, index=typed.index, dtype="datetime64[ns, UTC]")
            continue
        typed[column.name] = _coerce_column(typed, column, schema, out, source)
        if column.unique:
            dup = typed[column.name].duplicated(keep="first") & typed[column.name].notna()
            out.add_mask(schema, column.name, typed[column.name], dup, "duplicate id", source)
    ordered = schema.column_names + [c for c in typed.columns if c not in schema.column_names]
    return typed[ordered], out


def _check_references(
    child: pd.DataFrame,
    child_schema: TableSchema,
    column: str,
    known: pd.Series,
    kind: str,
    out: _Collector,
    source: str | None,
) -> None:
    unknown = child[column].notna() & ~child[column].isin(known)
    out.add_mask(child_schema, column, child[column], unknown, f"names an unknown {kind}", source)


def validate_dataset(
    learners: pd.DataFrame,
    resources: pd.DataFrame,
    events: pd.DataFrame,
    regions: pd.DataFrame | None = None,
    sources: Mapping[str, str] | None = None,
) -> Dataset:
    """Validate and type the tables; raise one :class:`DataValidationError` listing everything.

    ``sources`` maps a table name to the file it came from, so messages can name the file.
    """
    sources = dict(sources or {})
    collectors: list[_Collector] = []
    typed: dict[str, pd.DataFrame] = {}
    tables = {"learners": learners, "resources": resources, "events": events}
    if regions is not None:
        tables["regions"] = regions
    schemas = {"learners": LEARNERS, "resources": RESOURCES, "events": EVENTS, "regions": REGIONS}
    for name, frame in tables.items():
        typed[name], found = validate_table(frame, schemas[name], sources.get(name))
        collectors.append(found)

    cross = _Collector()
    structurally_ok = all(
        not any(p.row is None for p in c.problems) for c in collectors
    )
    if structurally_ok:
        ev, lr, rs = typed["events"], typed["learners"], typed["resources"]
        src = sources.get("events")
        _check_references(ev, EVENTS, "learner_id", lr["learner_id"], "learner", cross, src)
        _check_references(ev, EVENTS, "resource_id", rs["resource_id"], "resource", cross, src)
        rsrc = sources.get("resources")
        offline_without_region = rs["mode"].isin(["offline", "blended"]) & rs["region"].isna()
        cross.add_mask(
            RESOURCES, "region", rs["region"], offline_without_region,
            "offline and blended resources need a region", rsrc,
        )
        inverted = rs["available_until"] < rs["available_from"]
        cross.add_mask(
            RESOURCES, "available_until", rs["available_until"], inverted,
            "is before available_from", rsrc,
        )
    collectors.append(cross)

    problems = [p for c in collectors for p in c.problems]
    if problems:
        raise DataValidationError(problems, total=sum(c.total for c in collectors))
    return Dataset(
        learners=typed["learners"],
        resources=typed["resources"],
        events=typed["events"],
        regions=typed.get("regions"),
    )
