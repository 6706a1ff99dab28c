"""The Spark engine's two jobs for the command line and the training pipeline: fit ALS on
Spark (``[engine] kind = "spark"``) and write every learner's delivery list on Spark
(``recommender deliver --engine spark``). The work is :mod:`recommender.spark`'s; this module
only picks the inputs (the driver's events or the ``[engine] events`` Parquet) and the export's
row format (:func:`training.deliver.list_table`, the single-machine export's own).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from recommender.bundle import Bundle
from recommender.delivery.core import ListRequest
from recommender.delivery.rerank import ListPolicy
from recommender.errors import DataValidationError, Problem
from recommender.features import FeatureSet, InteractionWeights
from recommender.features.catalog import TimeLike
from recommender.models import ALSModel
from recommender.spark import deliver_on_spark, fit_spark_als, spark_confidences, spark_session
from recommender.spark.delivery import SparkDelivery
from recommender.spec.engine import SparkEngine
from training.deliver import SCHEMA, list_table, moment

# Said in the run (an MLflow tag) and by the command line: what Spark does and what it does not.
DRIVER_PARTS = ("Spark fits the ALS factors from confidences it builds with the feature rules; "
                "the content model, the cold start (content mapping, profiles) and the bundle "
                "are fitted on the driver, since catalogs and profiles are small")


def fit_als_on_spark(
    engine: SparkEngine,
    features: FeatureSet,
    template: ALSModel,
    weights: InteractionWeights,
    *,
    every_event: bool,
) -> ALSModel:
    """ALS fitted by Spark on ``features``' events (the split's train side for a hold-out), or
    for the full fit (``every_event``) on ``engine.events`` when the section names a Parquet
    export of the same events."""
    spark = spark_session(engine)
    if every_event and engine.events is not None:
        events = spark.read.parquet(str(engine.events))
        source = str(engine.events)
        count = events.count()
        if count != len(features.events):
            raise DataValidationError([Problem(
                "events", "-", None, count,
                f"[engine] events holds {count} events, [data] {len(features.events)}: "
                "they must be the same events", source)])
    else:
        events = spark.createDataFrame(features.events)
        source = "[data] events"
    confidences = spark_confidences(spark, events, features.learner_map,
                                    features.resource_map, weights, source=source)
    n_learners, n_resources = features.shape
    return fit_spark_als(confidences, n_learners, n_resources, template, blocks=engine.blocks)


def export_lists_on_spark(
    bundle: Bundle,
    out: Path,
    engine: SparkEngine,
    *,
    k: int = 10,
    now: TimeLike = None,
    index_factory: str,
    learners_per_task: int = 10_000,
    policy: ListPolicy = ListPolicy(),
) -> SparkDelivery:
    """``recommender deliver --engine spark``: every learner's list, the rows of
    :func:`training.deliver.export_delivery_lists`, as a Parquet directory."""
    request = ListRequest.served(policy, k=k, now=moment(now))
    return deliver_on_spark(spark_session(engine), bundle, out, partial(list_table,
                            request=request), SCHEMA, index_factory=index_factory,
                            learners_per_task=learners_per_task)
