"""Batch delivery: every learner's delivery list or learning plan, with reasons, streamed to
Parquet.

Both exports are :class:`~recommender.delivery.core.DeliveryCore` answers, formatted as rows:
the list (or plan) the API gives each bundle learner with nothing stored since the bundle, at
``now`` (hard constraints, exclusions, index and reasons included). Learners are processed in
chunks (a Parquet row group each) so memory stays flat however many learners there are. The
file is written beside its destination and moved into place only when complete, so a crash
never leaves a half-written list for the platform to load.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from recommender.bundle import Bundle
from recommender.checks import check_number
from recommender.delivery.core import DeliveryCore, DeliveryList, ListRequest, PlanRequest
from recommender.delivery.rerank import ListPolicy
from recommender.delivery.credits import credit_ledger
from recommender.features.catalog import TimeLike, to_timestamp
from recommender.delivery.overlay import Overlay
from recommender.delivery.served import ServedModel
from recommender.data.io import read_table
from recommender.errors import DataValidationError, InvalidParameterError, Problem
from recommender.index import SERVING_INDEX
from recommender.models.cold_start import PROFILE_PRIOR_EVENTS
from recommender.store import LearnerSnapshot, Store
from training.progress import NO_PROGRESS, Progress

SCHEMA = pa.schema([
    ("learner_id", pa.string()),
    ("rank", pa.int32()),  # null on a learner's one row for an empty list
    ("resource_id", pa.string()),
    ("score", pa.float32()),
    ("reason", pa.string()),
    ("reason_kind", pa.string()),
    # what a platform renders beside the item (the API's item fields)
    ("title", pa.string()),
    ("category", pa.string()),
    ("mode", pa.string()),
    ("level", pa.string()),
    ("language", pa.string()),
    ("duration_minutes", pa.float64()),
    ("credit_hours", pa.float64()),
    ("provider", pa.string()),
    ("provider_type", pa.string()),
    ("region", pa.string()),  # in-person resources only
    # ISO 8601 UTC text, as the API answers (Spark's Parquet would drop a timestamp's zone)
    ("available_from", pa.string()),
    ("available_until", pa.string()),
    # why a learner's list is empty (no_match, all_done, none_open), on its one row
    ("empty_reason", pa.string()),
    ("empty_message", pa.string()),
])
BASE_COLUMNS = ("learner_id", "rank", "resource_id", "score")
CARD_COLUMNS = ("category", "mode", "level", "language", "duration_minutes", "credit_hours",
                "provider", "provider_type", "region", "available_from", "available_until")

PLAN_SCHEMA = pa.schema([
    ("learner_id", pa.string()),
    ("order", pa.int32()),  # 1-based study order; null on a learner's row for an empty plan
    ("resource_id", pa.string()),
    ("score", pa.float32()),
    ("reason", pa.string()),
    ("start_week", pa.int32()),  # 1-based
    ("duration_minutes", pa.float64()),
    ("credit_hours", pa.float64()),
    ("budget_minutes", pa.float64()),
    ("planned_minutes", pa.float64()),
    ("credit_required", pa.float64()),
    ("credit_completed", pa.float64()),  # the credit ledger's hours earned this year
    ("credit_planned", pa.float64()),
    ("shortfall_hours", pa.float64()),
    ("shortfall_reason", pa.string()),
])
MAX_WEEKS = 104


@dataclass(frozen=True)
class DeliveryStats:
    """What an export wrote and how fast."""

    path: Path
    learners: int
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(name, value, "an integer >= 1")


def _write_chunks(
    out: Path, schema: pa.Schema, learners: np.ndarray, chunk_size: int, progress: Progress,
    label: str, chunk_table: Callable[[np.ndarray], pa.Table],
) -> tuple[Path, int]:
    """Write one row group per chunk of ``learners`` (learner_idx, in export order) to ``out``
    atomically; returns the row count."""
    n_learners = len(learners)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    rows = 0
    try:
        with pq.ParquetWriter(partial, schema) as writer, progress.task(
            label, total=n_learners
        ) as advance:
            for lo in range(0, n_learners, chunk_size):
                learner_idx = learners[lo: lo + chunk_size]
                table = chunk_table(learner_idx)
                writer.write_table(table)
                rows += table.num_rows
                advance(len(learner_idx))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out, rows


def read_learner_ids(path: str | os.PathLike[str]) -> list[str]:
    """The ``learner_id`` column of a CSV or Parquet file, in file order without repeats; a
    missing file or column, or a blank cell, raises :class:`DataValidationError` naming the
    file, the column and the 1-based row."""
    source = str(path)
    frame = read_table(path, "learners to deliver")
    if "learner_id" not in frame.columns:
        raise DataValidationError([Problem(
            "learners to deliver", "learner_id", None, None,
            f"missing column (the file has {list(frame.columns)})", source)])
    text = frame["learner_id"].astype("string").str.strip()
    blank = np.flatnonzero((text.isna() | (text == "")).to_numpy())
    if len(blank):
        raise DataValidationError(
            [Problem("learners to deliver", "learner_id", int(row) + 1, None, "empty cell",
                     source) for row in blank[:20]], total=len(blank))
    return list(dict.fromkeys(text.astype(str)))


def selected_learners(bundle: Bundle, learner_ids: Sequence[str] | None) -> np.ndarray:
    """learner_idx to export: every bundle learner, or ``learner_ids`` in their order. An id
    the bundle does not hold is refused (the export only covers learners the model was
    trained on), naming up to 20 of them and how many there are; nothing is written."""
    if learner_ids is None:
        return np.arange(len(bundle.learner_map), dtype=np.int64)
    found = bundle.learner_map.indices_of(list(learner_ids), strict=False)
    unknown = [learner_id for learner_id, idx in zip(learner_ids, found) if idx < 0]
    if unknown:
        shown = ", ".join(repr(i) for i in unknown[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        raise InvalidParameterError(
            "learners", f"{len(unknown)} ids the bundle does not hold: {shown}{more}",
            f"learner ids of bundle {bundle.version}")
    return np.asarray(found, dtype=np.int64)


def delivery_core(
    bundle: Bundle, index_factory: str = SERVING_INDEX, store: Store | None = None,
    profile_prior_events: float = PROFILE_PRIOR_EVENTS,
) -> DeliveryCore:
    """The delivery core over ``bundle`` with the served index, and the catalog changes the
    serving ``store`` holds (none without one)."""
    served = ServedModel.from_bundle(bundle, index_factory)
    return DeliveryCore(served, Overlay.of_store(served, store) if store is not None else None,
                        profile_prior_events=profile_prior_events)


def moment(now: TimeLike) -> pd.Timestamp:
    """``now`` as a UTC timestamp; None: the current time."""
    found = to_timestamp("now", now)
    return found if found is not None else pd.Timestamp.now(tz="UTC")


def list_columns(
    delivered: Iterable[tuple[str, DeliveryList]], *, reasons: bool = True
) -> dict[str, list]:
    """``learner_id, rank, resource_id, score`` columns, one row per list slot; with
    ``reasons`` every column of :data:`SCHEMA`: the reason, the item's card, and for a learner
    whose list is empty one row saying why (``empty_reason``, ``empty_message``)."""
    if not reasons:
        columns: dict[str, list] = {name: [] for name in BASE_COLUMNS}
        for learner_id, found in delivered:
            for rank, picked in enumerate(found.items, start=1):
                columns["learner_id"].append(learner_id)
                columns["rank"].append(rank)
                columns["resource_id"].append(picked.resource_id)
                columns["score"].append(picked.score)
        return columns
    columns = {name: [] for name in SCHEMA.names}
    for learner_id, found in delivered:
        for rank, picked in enumerate(found.items, start=1):
            card = picked.card._asdict() if picked.card is not None else {}
            for name in ("available_from", "available_until"):
                if card.get(name) is not None:
                    card[name] = card[name].isoformat().replace("+00:00", "Z")
            row = {"learner_id": learner_id, "rank": rank, "resource_id": picked.resource_id,
                   "score": picked.score, "reason": picked.reason.text,
                   "reason_kind": picked.reason.kind, "title": picked.title,
                   **{name: card.get(name) for name in CARD_COLUMNS}}
            for name, values in columns.items():
                values.append(row.get(name))
        if not found.items:
            empty = found.empty
            row = {"learner_id": learner_id,
                   "empty_reason": empty.code if empty is not None else None,
                   "empty_message": empty.message if empty is not None else None}
            for name, values in columns.items():
                values.append(row.get(name))
    return columns


def list_table(
    core: DeliveryCore, learner_ids: Iterable[str], request: ListRequest,
    snapshot_of: Callable[[str], LearnerSnapshot] | None = None,
) -> pa.Table:
    """The export's rows (:data:`SCHEMA`) for ``learner_ids``: the core's lists, formatted
    once for both engines (the Spark export calls this in each partition)."""
    delivered = core.deliver_many(map(str, learner_ids), request, snapshot_of)
    return pa.Table.from_pydict(list_columns(delivered), schema=SCHEMA)


def export_delivery_lists(
    bundle: Bundle,
    out: Path,
    *,
    k: int = 10,
    chunk_size: int = 10_000,
    index_factory: str = SERVING_INDEX,
    now: TimeLike = None,
    progress: Progress = NO_PROGRESS,
    store: Store | None = None,
    learner_ids: Sequence[str] | None = None,
    profile_prior_events: float = PROFILE_PRIOR_EVENTS,
    policy: ListPolicy = ListPolicy(),
) -> DeliveryStats:
    """Write the delivery list of every learner of ``bundle`` (or those of ``learner_ids``, in
    that order; :data:`SCHEMA`: rank, id, score, reason and its kind, the item's card): the
    best ``k`` resources each may take at ``now`` (default: the current time), one per title;
    a learner with an empty list gets one row saying why. With the serving ``store``, each
    list is the API's: catalog changes and the events stored since the bundle count; lists
    are re-ranked by ``policy`` as the API's are (the serving settings' by default)."""
    _check_count("k", k)
    _check_count("chunk_size", chunk_size)
    learners = selected_learners(bundle, learner_ids)
    started = time.perf_counter()
    core = delivery_core(bundle, index_factory, store, profile_prior_events)
    request = ListRequest.served(policy, k=k, now=moment(now))
    ids = bundle.learner_map.ids
    consumed = tuple(core.served.consumed_event_types)
    snapshot_of = (None if store is None else
                   lambda learner_id: store.learner_snapshot(learner_id,
                                                             consumed_event_types=consumed))

    def chunk_table(learner_idx: np.ndarray) -> pa.Table:
        return list_table(core, ids[learner_idx], request, snapshot_of)

    path, rows = _write_chunks(out, SCHEMA, learners, chunk_size, progress,
                               "exporting delivery lists", chunk_table)
    return DeliveryStats(path=path, learners=len(learners), rows=rows,
                         seconds=time.perf_counter() - started)


def export_delivery_plans(
    bundle: Bundle,
    out: Path,
    *,
    hours_per_week: float,
    weeks: int,
    chunk_size: int = 2_000,
    index_factory: str = SERVING_INDEX,
    now: TimeLike = None,
    progress: Progress = NO_PROGRESS,
    store: Store | None = None,
    credit_required_default: float | None = None,
    learner_ids: Sequence[str] | None = None,
    profile_prior_events: float = PROFILE_PRIOR_EVENTS,
) -> DeliveryStats:
    """Write every learner's (or ``learner_ids``') learning plan for ``hours_per_week`` over
    ``weeks``.

    One row per planned resource in study order (``order``, ``start_week``, its minutes and
    credit hours, score and reason), each carrying the learner's plan totals (budget and
    planned minutes, credit required and planned, ``shortfall_hours`` and
    ``shortfall_reason``); a learner with an empty plan gets one row with empty resource
    columns, so every learner's shortfall is on record. What a learner owes is their credit
    ledger's for the year of ``now`` (:func:`~recommender.delivery.credits.credit_ledger`:
    ``credit_hours_required``, else ``credit_required_default``, less what they earned: the
    bundle's completions, and with the serving ``store`` the completions and recognised credit
    stored since, exactly as the API's plans see them).
    """
    hours_per_week = check_number("hours_per_week", hours_per_week, open_low=True)
    if hours_per_week > 168:
        raise InvalidParameterError("hours_per_week", hours_per_week, "at most 168")
    _check_count("weeks", weeks)
    if weeks > MAX_WEEKS:
        raise InvalidParameterError("weeks", weeks, f"at most {MAX_WEEKS}")
    _check_count("chunk_size", chunk_size)
    learners = selected_learners(bundle, learner_ids)
    started = time.perf_counter()
    core = delivery_core(bundle, index_factory, store, profile_prior_events)
    at = moment(now)
    request = PlanRequest(hours_per_week=hours_per_week, weeks=weeks, now=at)
    year = int(at.year)
    ids = bundle.learner_map.ids

    def chunk_table(learner_idx: np.ndarray) -> pa.Table:
        columns: dict[str, list] = {name: [] for name in PLAN_SCHEMA.names}
        for learner_id in map(str, ids[learner_idx]):
            snapshot = None if store is None else store.learner_snapshot(
                learner_id, consumed_event_types=tuple(core.served.consumed_event_types))
            ledger = credit_ledger(core.served, store, learner_id, year=year,
                                   default_required=credit_required_default)
            planned = core.plan(core.learner(learner_id, snapshot), request, ledger)
            plan = planned.plan
            rows = list(zip(plan.items, planned.picked)) or [(None, None)]
            for order, (item, picked) in enumerate(rows, start=1):
                columns["learner_id"].append(learner_id)
                columns["order"].append(order if item is not None else None)
                columns["resource_id"].append(picked.resource_id if picked else None)
                columns["score"].append(item.score if item else None)
                columns["reason"].append(picked.reason.text if picked else None)
                columns["start_week"].append(item.start_week + 1 if item else None)
                columns["duration_minutes"].append(item.duration_minutes if item else None)
                columns["credit_hours"].append(item.credit_hours if item else None)
                columns["budget_minutes"].append(plan.budget_minutes)
                columns["planned_minutes"].append(plan.total_minutes)
                columns["credit_required"].append(plan.credit_required)
                columns["credit_completed"].append(planned.credit_completed)
                columns["credit_planned"].append(plan.credit_hours)
                columns["shortfall_hours"].append(plan.shortfall_hours)
                columns["shortfall_reason"].append(plan.shortfall_reason)
        return pa.Table.from_pydict(columns, schema=PLAN_SCHEMA)

    path, rows = _write_chunks(out, PLAN_SCHEMA, learners, chunk_size, progress,
                               "exporting learning plans", chunk_table)
    return DeliveryStats(path=path, learners=len(learners), rows=rows,
                         seconds=time.perf_counter() - started)
