"""Spark MLlib's ALS against implicit's on the same tiny world: lists of comparable quality.

Tolerance 0.03: the two engines solve slightly different problems (Spark: confidence
1 + alpha r and each learner's regularization times their number of resources; implicit: alpha r
and one regularization) from different random starts, so their lists differ. On a 400-learner
sample world we measured nDCG@10 0.350 (Spark, regularization 0.03) against 0.359 (implicit,
0.05); 0.03 leaves room for that and for this smaller hold-out's noise, while a broken Spark fit
(wrong ids, lost confidences) falls to popularity's level, which the second assertion catches.
"""

from __future__ import annotations

import pytest

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
