"""Every learner's delivery rows on Spark: the same delivery core in every partition.

The bundle is staged once under a name made of its checksum and shipped to every executor with
``SparkContext.addFile`` (Spark's file broadcast: each executor fetches it once, whatever the
number of tasks). Learners are ``spark.range`` over learner_idx, so each task is a contiguous
slice of the bundle's learners and nothing per learner leaves the driver. In each Python worker
the bundle is loaded once and wrapped in :class:`~recommender.delivery.core.DeliveryCore`
exactly as the single-machine export wraps it; the caller's ``rows_of`` turns a slice of
learners into rows (the export's own formatting), and Spark writes them as Parquet part files.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from recommender.bundle import Bundle, load_bundle, save_bundle
from recommender.delivery.core import DeliveryCore
from recommender.delivery.served import ServedModel
from recommender.errors import InvalidParameterError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# learner_ids (one slice) -> rows, with the core of the shipped bundle
RowsOf = Callable[[DeliveryCore, list[str]], pa.Table]

_CORES: dict[tuple[str, str], DeliveryCore] = {}  # per Python worker: (bundle, index) -> core


@dataclass(frozen=True)
class SparkDelivery:
    """What a Spark export wrote."""

    path: Path
    learners: int
    rows: int
    tasks: int


def _core(name: str, index_factory: str) -> DeliveryCore:
    """The delivery core of the shipped bundle ``name``, built once per Python worker."""
    from pyspark import SparkFiles

    key = (name, index_factory)
    if key not in _CORES:
        bundle = load_bundle(SparkFiles.get(name))
        _CORES[key] = DeliveryCore(ServedModel.from_bundle(bundle, index_factory))
    return _CORES[key]


def _rows_of_slices(name: str, index_factory: str, rows_of: RowsOf):
    def rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        core = _core(name, index_factory)
        ids = core.served.bundle.learner_map.ids
        for batch in batches:
            learner_idx = batch.column(0).to_numpy()
            if len(learner_idx):
                yield from rows_of(core, [str(i) for i in ids[learner_idx]]).to_batches()
    return rows


def _ship(spark: SparkSession, bundle: Bundle) -> str:
    """Stage ``bundle`` under its content name and add it to the session's files (once: Spark
    keeps one path per name for the session, so the staged copy is content-addressed and kept
    in the temporary directory for later exports of the same bundle)."""
    name = f"bundle-{bundle.checksum[:20]}"
    staged = Path(tempfile.gettempdir()) / "recommender-spark-bundles" / name
    if not (staged / "manifest.json").is_file():
        save_bundle(copy.copy(bundle), staged)  # save_bundle rewrites the manifest it saves
    spark.sparkContext.addFile(str(staged), recursive=True)
    return name


def _replace(partial: Path, out: Path) -> None:
    """Move the finished ``partial`` directory to ``out``, replacing what was there."""
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    os.replace(partial, out)


def deliver_on_spark(
    spark: SparkSession,
    bundle: Bundle,
    out: Path,
    rows_of: RowsOf,
    schema: pa.Schema,
    *,
    index_factory: str,
    learners_per_task: int = 10_000,
) -> SparkDelivery:
    """Write ``rows_of`` for every learner of ``bundle`` to the Parquet directory ``out``
    (part files; replaced only when complete, so a failed job leaves the old lists)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    if isinstance(learners_per_task, bool) or learners_per_task < 1:
        raise InvalidParameterError("learners_per_task", learners_per_task, "an integer >= 1")
    n_learners = len(bundle.learner_map)
    tasks = max(1, -(-n_learners // learners_per_task))
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    name = _ship(spark, bundle)
    learners = spark.range(0, n_learners, 1, numPartitions=tasks)
    rows = learners.mapInArrow(_rows_of_slices(name, index_factory, rows_of),
                               from_arrow_schema(schema))
    try:
        rows.write.mode("overwrite").parquet(str(partial))
        written = spark.read.parquet(str(partial)).count()
        _replace(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return SparkDelivery(path=out, learners=n_learners, rows=written, tasks=tasks)
