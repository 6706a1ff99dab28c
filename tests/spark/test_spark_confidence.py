"""Spark builds confidences by the single-machine rules (one definition, applied per
partition): the same pair table as :func:`build_interaction_matrix`, decay and log scale
included; an event naming an unknown learner is refused, naming it."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.errors import DataValidationError
from recommender.features import (
    IdMap,
    InteractionWeights,
    build_feature_set,
    build_interaction_matrix,
)
from recommender.models import ALSModel
from recommender.spark import spark_confidences
from spark_world import spark_config
from training.spark_jobs import fit_als_on_spark

pytestmark = pytest.mark.spark


def test_spark_confidences_equal_the_interaction_matrix(spark, tiny_world) -> None:
    """Type weights, view values, a dismissal outweighing the rest, decay from the newest event
    and log scaling: every rule at once."""
    weights = InteractionWeights(half_life_days=60.0)
    learners = IdMap("learner", tiny_world.learners["learner_id"])
    resources = IdMap("resource", tiny_world.resources["resource_id"])
    expected = build_interaction_matrix(tiny_world.events, learners, resources, weights)
    pairs = spark_confidences(spark, spark.createDataFrame(tiny_world.events), learners,
                              resources, weights).toPandas()
    got = sp.csr_matrix((pairs["confidence"], (pairs["learner_idx"], pairs["resource_idx"])),
                        shape=expected.shape)
    assert got.nnz == expected.nnz > 1000
    assert (got != 0).toarray().tolist() == (expected != 0).toarray().tolist()
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=1e-5, atol=1e-6)


def test_an_unknown_learner_is_named(spark, tiny_world) -> None:
    learners = IdMap("learner", tiny_world.learners["learner_id"].iloc[1:])
    resources = IdMap("resource", tiny_world.resources["resource_id"])
    missing = tiny_world.learners["learner_id"].iloc[0]
    assert (tiny_world.events["learner_id"] == missing).any()
    with pytest.raises(DataValidationError, match=f"learner_id.*{missing}.*not in the learners"):
        spark_confidences(spark, spark.createDataFrame(tiny_world.events), learners, resources,
                          source="events.parquet")


def test_events_from_a_parquet_directory(spark, tiny_world, tmp_path) -> None:
    """``[engine] events``: part files read on the executors give the same confidences; a
    directory that does not hold [data]'s events is refused before any fit, with both counts."""
    events = tiny_world.events
    parts = tmp_path / "events"
    parts.mkdir()
    half = len(events) // 2
    events.iloc[:half].to_parquet(parts / "part-0.parquet", index=False)
    events.iloc[half:].to_parquet(parts / "part-1.parquet", index=False)
    features = build_feature_set(tiny_world)
    pairs = spark_confidences(spark, spark.read.parquet(str(parts)), features.learner_map,
                              features.resource_map).toPandas()
    got = sp.csr_matrix((pairs["confidence"], (pairs["learner_idx"], pairs["resource_idx"])),
                        shape=features.shape)
    np.testing.assert_allclose(got.toarray(), features.interactions.toarray(), rtol=1e-5,
                               atol=1e-6)

    engine = spark_config(engine={"events": str(parts)}).engine
    fewer = build_feature_set(tiny_world, events.iloc[:-5])
    with pytest.raises(DataValidationError, match=f"holds {len(events)} events, "
                                                  f"\\[data\\] {len(events) - 5}"):
        fit_als_on_spark(engine, fewer, ALSModel(factors=4), InteractionWeights(),
                         every_event=True)
