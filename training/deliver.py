"""Batch delivery lists: every learner's top-k with a reason, streamed to one Parquet file.

Learners are processed in chunks (retrieval, reasons, a Parquet row group each) so memory stays
flat however many learners there are. The file is written beside its destination and moved into
place only when complete, so a crash never leaves a half-written list for the platform to load.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from recommender.bundle import Bundle
from recommender.errors import InvalidParameterError
from recommender.explain import Explainer
from recommender.index import ResourceIndex
from training.lists import long_format, top_k
from training.progress import NO_PROGRESS, Progress

SCHEMA = pa.schema([
    ("learner_id", pa.string()),
    ("rank", pa.int32()),
    ("resource_id", pa.string()),
    ("score", pa.float32()),
    ("reason", pa.string()),
])


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


def export_delivery_lists(
    bundle: Bundle,
    out: Path,
    *,
    k: int = 10,
    chunk_size: int = 10_000,
    index_factory: str = "Flat",
    progress: Progress = NO_PROGRESS,
) -> DeliveryStats:
    """Write ``learner_id, rank, resource_id, score, reason`` for every learner of ``bundle``."""
    for name, value in (("k", k), ("chunk_size", chunk_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError(name, value, "an integer >= 1")
    started = time.perf_counter()
    index = ResourceIndex(bundle.resource_factors, index_factory)
    explainer = Explainer.from_bundle(bundle)
    n_learners = len(bundle.learner_map)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    rows = 0
    try:
        with pq.ParquetWriter(partial, SCHEMA) as writer, progress.task(
            "exporting delivery lists", total=n_learners
        ) as advance:
            for lo in range(0, n_learners, chunk_size):
                learner_idx = np.arange(lo, min(lo + chunk_size, n_learners), dtype=np.int64)
                table = _chunk_table(bundle, index, explainer, learner_idx, k)
                writer.write_table(table)
                rows += table.num_rows
                advance(len(learner_idx))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return DeliveryStats(path=out, learners=n_learners, rows=rows,
                         seconds=time.perf_counter() - started)


def _chunk_table(
    bundle: Bundle, index: ResourceIndex, explainer: Explainer, learner_idx: np.ndarray, k: int
) -> pa.Table:
    resource_idx, scores = top_k(bundle, index, learner_idx, k)
    columns = long_format(bundle, learner_idx, resource_idx, scores)
    slot = columns.pop("_slot")
    reasons = explainer.explain(learner_idx, resource_idx).text
    columns["reason"] = reasons[slot[:, 0], slot[:, 1]]
    return pa.Table.from_pydict(columns, schema=SCHEMA)
