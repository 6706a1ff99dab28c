"""Spark MLlib's ALS against implicit's on the same tiny world, and the Spark model's fold-in.

Tolerance: the two engines solve slightly different problems (Spark: confidence 1 + alpha r
and each learner's regularization times their number of resources; implicit: alpha r and one
regularization) from different random starts, so their lists differ; on this world's hold-out
(about 240 learners) nDCG@10's standard error across learners is about 0.015, so we ask the
two to agree within 0.03 (two standard errors) and both to beat popularity clearly.
"""

from __future__ import annotations

import numpy as np
import pytest

from recommender.features import build_feature_set
from recommender.models.base import LearnerHistory
from spark_world import spark_config
from training.pipeline import validate

pytestmark = pytest.mark.spark

TOLERANCE = 0.03


def test_spark_and_implicit_lists_are_of_comparable_quality(spark, tiny_world) -> None:
    validation = {"enabled": True, "k": [10], "metric": "ndcg_at_10", "min_group_size": 3}
    on_spark = spark_config(validation=validation)
    local = {"kind": "local", "replace": True}
    on_one_machine = spark_config(validation=validation, engine=local,
                                  model={"regularization": 0.05})
    popular = spark_config(validation=validation, engine=local,
                           model={"name": "popularity", "replace": True})
    ndcg = {name: validate(config, tiny_world).result.metrics["ndcg_at_10"]
            for name, config in [("spark", on_spark), ("implicit", on_one_machine),
                                 ("popularity", popular)]}
    assert abs(ndcg["spark"] - ndcg["implicit"]) <= TOLERANCE, ndcg
    assert min(ndcg["spark"], ndcg["implicit"]) > ndcg["popularity"] + 0.05, ndcg
