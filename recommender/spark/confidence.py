"""Events -> (learner_idx, resource_idx, confidence) on Spark, by the single-machine rules.

The rules are :mod:`recommender.features.interactions`' own functions, run in each partition:
:func:`~recommender.features.interactions.event_weight_values` gives every event its signed
weight (type, value, decay from the newest event), Spark sums them per pair (the shuffle that
makes billions of events a pair table), and
:func:`~recommender.features.interactions.pair_confidence` clips and log-scales each sum. So a
pair's confidence is the one :func:`~recommender.features.build_interaction_matrix` gives, up
to the order floats are added in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from recommender.errors import DataValidationError, Problem
from recommender.features import IdMap, InteractionWeights
from recommender.features.interactions import event_weight_values, pair_confidence

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

EVENT_COLUMNS = ("learner_id", "resource_id", "event_type", "value", "timestamp")
PAIRS_SCHEMA = "learner_idx int, resource_idx int, confidence float"


def _utc(stamps: pd.Series) -> pd.Series:
    """Spark hands timestamps over naive in the session time zone, which the engine sets to
    UTC (:meth:`~recommender.spec.engine.SparkEngine.spark_conf`)."""
    stamps = pd.to_datetime(stamps)
    return stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")


def _weigh(weights: InteractionWeights, now: pd.Timestamp | None):
    def weigh(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in frames:
            frame = frame.assign(timestamp=_utc(frame["timestamp"]))
            yield pd.DataFrame({
                "learner_idx": frame["learner_idx"].to_numpy(np.int32),
                "resource_idx": frame["resource_idx"].to_numpy(np.int32),
                "weight": event_weight_values(frame, weights, now=now),
            })
    return weigh


def _finish(weights: InteractionWeights):
    def finish(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in frames:
            confidence = pair_confidence(frame["weight"].to_numpy(np.float64), weights)
            yield pd.DataFrame({
                "learner_idx": frame["learner_idx"].to_numpy(np.int32),
                "resource_idx": frame["resource_idx"].to_numpy(np.int32),
                "confidence": confidence.astype(np.float32),
            })
    return finish


def _id_frame(spark: SparkSession, ids: IdMap, column: str) -> DataFrame:
    frame = pd.DataFrame({column: ids.ids.astype(str),
                          column.replace("_id", "_idx"): np.arange(len(ids), dtype=np.int32)})
    return spark.createDataFrame(frame)


def spark_confidences(
    spark: SparkSession,
    events: DataFrame,
    learners: IdMap,
    resources: IdMap,
    weights: InteractionWeights | None = None,
    *,
    source: str = "events",
) -> DataFrame:
    """Positive confidences per (learner_idx, resource_idx) of ``events`` (a Spark frame of
    the events contract table), indexed by the bundle's id maps.

    An event whose learner or resource is not in the maps raises
    :class:`~recommender.errors.DataValidationError` naming ``source`` and one such id.
    """
    from pyspark.sql import functions as F

    weights = weights or InteractionWeights()
    if "value" not in events.columns:
        events = events.withColumn("value", F.lit(None).cast("double"))
    events = events.select(*EVENT_COLUMNS).withColumn("value", F.col("value").cast("double"))
    indexed = (events
               .join(F.broadcast(_id_frame(spark, resources, "resource_id")), "resource_id",
                     "left")
               .join(_id_frame(spark, learners, "learner_id"), "learner_id", "left"))
    unknown = indexed.where(F.col("learner_idx").isNull() | F.col("resource_idx").isNull())
    first = unknown.select("learner_id", "resource_id", "learner_idx").limit(1).collect()
    if first:
        row = first[0]
        column, value = (("learner_id", row.learner_id) if row.learner_idx is None
                         else ("resource_id", row.resource_id))
        raise DataValidationError([Problem(
            "events", column, None, str(value), f"not in the {column.split('_')[0]}s table",
            source)])
    now = None
    if weights.half_life_days:  # decay is relative to the newest event, as on one machine
        newest = indexed.agg(F.max(F.col("timestamp").cast("double"))).first()[0]
        now = pd.Timestamp(newest, unit="s", tz="UTC")
    weighed = indexed.mapInPandas(
        _weigh(weights, now), "learner_idx int, resource_idx int, weight double")
    summed = weighed.groupBy("learner_idx", "resource_idx").agg(F.sum("weight").alias("weight"))
    pairs = summed.mapInPandas(_finish(weights), PAIRS_SCHEMA)
    return pairs.where(F.col("confidence") > 0)
