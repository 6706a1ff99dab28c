"""Batch delivery: every learner's top-k list or learning plan, with reasons, streamed to Parquet.

Both exports honour each learner's hard constraints as the API does (availability at ``now``,
place, language, accessibility; see :mod:`recommender.delivery.filters`) and leave out what the
learner is done with. Learners are processed in chunks (retrieval or planning, reasons, a
Parquet row group each) so memory stays flat however many learners there are. The file is
written beside its destination and moved into place only when complete, so a crash never leaves
a half-written list for the platform to load.

Plans are :meth:`recommender.delivery.Delivery.plan`, the code behind
``GET /v1/learners/{id}/plan``: a time knapsack, or for a learner whose profile carries
``credit_hours_required`` a covering knapsack that reports any shortfall.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from recommender.bundle import Bundle
from recommender.checks import check_number
from recommender.delivery import Delivery
from recommender.delivery.filters import TimeLike
from recommender.errors import InvalidParameterError
from recommender.explain import Explainer
from recommender.index import ResourceIndex
from training.lists import ConstrainedLists, long_format
from training.progress import NO_PROGRESS, Progress

SCHEMA = pa.schema([
    ("learner_id", pa.string()),
    ("rank", pa.int32()),
    ("resource_id", pa.string()),
    ("score", pa.float32()),
    ("reason", pa.string()),
])

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
    out: Path, schema: pa.Schema, n_learners: int, chunk_size: int, progress: Progress,
    label: str, chunk_table: Callable[[np.ndarray], pa.Table],
) -> tuple[Path, int]:
    """Write one row group per chunk of learners to ``out`` atomically; returns the row count."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    rows = 0
    try:
        with pq.ParquetWriter(partial, schema) as writer, progress.task(
            label, total=n_learners
        ) as advance:
            for lo in range(0, n_learners, chunk_size):
                learner_idx = np.arange(lo, min(lo + chunk_size, n_learners), dtype=np.int64)
                table = chunk_table(learner_idx)
                writer.write_table(table)
                rows += table.num_rows
                advance(len(learner_idx))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out, rows


def export_delivery_lists(
    bundle: Bundle,
    out: Path,
    *,
    k: int = 10,
    chunk_size: int = 10_000,
    index_factory: str = "Flat",
    now: TimeLike = None,
    progress: Progress = NO_PROGRESS,
) -> DeliveryStats:
    """Write ``learner_id, rank, resource_id, score, reason`` for every learner of ``bundle``:
    the best ``k`` resources each may take at ``now`` (default: the current time)."""
    _check_count("k", k)
    _check_count("chunk_size", chunk_size)
    started = time.perf_counter()
    lists = ConstrainedLists(bundle, ResourceIndex(bundle.resource_factors, index_factory), now)
    explainer = Explainer.from_bundle(bundle)
    path, rows = _write_chunks(
        out, SCHEMA, len(bundle.learner_map), chunk_size, progress, "exporting delivery lists",
        lambda learner_idx: _chunk_table(bundle, lists, explainer, learner_idx, k),
    )
    return DeliveryStats(path=path, learners=len(bundle.learner_map), rows=rows,
                         seconds=time.perf_counter() - started)


def _chunk_table(
    bundle: Bundle, lists: ConstrainedLists, explainer: Explainer, learner_idx: np.ndarray,
    k: int,
) -> pa.Table:
    resource_idx, scores = lists.top_k(learner_idx, k)
    columns = long_format(bundle, learner_idx, resource_idx, scores)
    slot = columns.pop("_slot")
    reasons = explainer.explain(learner_idx, resource_idx).text
    columns["reason"] = reasons[slot[:, 0], slot[:, 1]]
    return pa.Table.from_pydict(columns, schema=SCHEMA)


def export_delivery_plans(
    bundle: Bundle,
    out: Path,
    *,
    hours_per_week: float,
    weeks: int,
    chunk_size: int = 2_000,
    index_factory: str = "Flat",
    now: TimeLike = None,
    progress: Progress = NO_PROGRESS,
) -> DeliveryStats:
    """Write every learner's learning plan for ``hours_per_week`` over ``weeks``.

    One row per planned resource in study order (``order``, ``start_week``, its minutes and
    credit hours, score and reason), each carrying the learner's plan totals (budget and
    planned minutes, credit required and planned, ``shortfall_hours`` and
    ``shortfall_reason``); a learner with an empty plan gets one row with empty resource
    columns, so every learner's shortfall is on record. The credit requirement is the
    learner's ``credit_hours_required`` (the bundle cannot know what they already earned).
    """
    hours_per_week = check_number("hours_per_week", hours_per_week, open_low=True)
    if hours_per_week > 168:
        raise InvalidParameterError("hours_per_week", hours_per_week, "at most 168")
    _check_count("weeks", weeks)
    if weeks > MAX_WEEKS:
        raise InvalidParameterError("weeks", weeks, f"at most {MAX_WEEKS}")
    _check_count("chunk_size", chunk_size)
    started = time.perf_counter()
    lists = ConstrainedLists(bundle, ResourceIndex(bundle.resource_factors, index_factory), now)
    delivery = Delivery(lists.catalog, bundle.resource_factors, retriever=lists.retriever)
    explainer = Explainer.from_bundle(bundle)

    def chunk_table(learner_idx: np.ndarray) -> pa.Table:
        return _plan_table(bundle, lists, delivery, explainer, learner_idx,
                           hours_per_week, weeks)

    path, rows = _write_chunks(out, PLAN_SCHEMA, len(bundle.learner_map), chunk_size, progress,
                               "exporting learning plans", chunk_table)
    return DeliveryStats(path=path, learners=len(bundle.learner_map), rows=rows,
                         seconds=time.perf_counter() - started)


def _plan_table(
    bundle: Bundle, lists: ConstrainedLists, delivery: Delivery, explainer: Explainer,
    learner_idx: np.ndarray, hours_per_week: float, weeks: int,
) -> pa.Table:
    plans = [
        delivery.plan(bundle.learner_factors[learner], now=lists.now,
                      hours_per_week=hours_per_week, weeks=weeks,
                      profile=lists.profiles[learner], exclude=lists.exclusions(learner))
        for learner in learner_idx.tolist()
    ]
    width = max([len(plan.items) for plan in plans] + [1])
    slots = np.full((len(plans), width), -1, dtype=np.int64)
    for row, plan in enumerate(plans):
        slots[row, : len(plan.items)] = plan.resource_idx
    reasons = explainer.explain(learner_idx, slots).text
    sizes = np.array([max(1, len(plan.items)) for plan in plans])
    row_of = np.repeat(np.arange(len(plans)), sizes)
    slot_of = np.concatenate([np.arange(size) for size in sizes])
    planned = slots[row_of, slot_of]
    filled = planned >= 0
    items = [(plan.items[i] if i < len(plan.items) else None)
             for plan, size in zip(plans, sizes) for i in range(size)]

    def per_item(get: Callable, dtype: type) -> list:
        return [None if item is None else dtype(get(item)) for item in items]

    def per_plan(get: Callable) -> np.ndarray:
        return np.array([get(plan) for plan in plans])[row_of]

    columns = {
        "learner_id": bundle.learner_map.ids[learner_idx[row_of]],
        "order": pa.array((slot_of + 1).astype(np.int32), mask=~filled, type=pa.int32()),
        "resource_id": np.where(filled, bundle.resource_map.ids[np.maximum(planned, 0)], None),
        "score": per_item(lambda item: item.score, float),
        "reason": np.where(filled, reasons[row_of, slot_of], None),
        "start_week": per_item(lambda item: item.start_week + 1, int),
        "duration_minutes": per_item(lambda item: item.duration_minutes, float),
        "credit_hours": per_item(lambda item: item.credit_hours, float),
        "budget_minutes": per_plan(lambda plan: plan.budget_minutes),
        "planned_minutes": per_plan(lambda plan: plan.total_minutes),
        "credit_required": per_plan(lambda plan: plan.credit_required),
        "credit_planned": per_plan(lambda plan: plan.credit_hours),
        "shortfall_hours": per_plan(lambda plan: plan.shortfall_hours),
        "shortfall_reason": [plans[row].shortfall_reason for row in row_of.tolist()],
    }
    return pa.Table.from_pydict(columns, schema=PLAN_SCHEMA)
