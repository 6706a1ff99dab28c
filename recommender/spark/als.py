"""Spark MLlib's ALS (implicit preferences) fitted on a confidence table, ending as the same
:class:`~recommender.models.ALSModel` a single-machine run bundles.

Spark fits; nothing here re-implements ALS. The learned factors are collected to the driver in
learner_idx / resource_idx order (a learner or resource without a positive pair keeps the zero
vector, as implicit leaves it), and the model says ``solver_form="spark"`` so serving's fold-in
solves the equations Spark solved (see :mod:`recommender.models.als`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from recommender.models import ALSModel

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def _factors(frame: DataFrame, n_rows: int, rank: int) -> np.ndarray:
    """A Spark factor table (id, features) as an (n_rows, rank) float32 array."""
    table = frame.toPandas()
    out = np.zeros((n_rows, rank), dtype=np.float32)
    if len(table):
        out[table["id"].to_numpy(np.int64)] = np.stack(table["features"].to_numpy()).astype(
            np.float32)
    return out


def fit_spark_als(
    confidences: DataFrame,
    n_learners: int,
    n_resources: int,
    template: ALSModel,
    *,
    blocks: int | None = None,
) -> ALSModel:
    """Fit ALS on ``confidences`` (learner_idx, resource_idx, confidence) with ``template``'s
    hyper-parameters (factors, regularization, alpha, iterations, random_state); returns a
    fitted model of the same parameters in Spark's solver form."""
    from pyspark.ml.recommendation import ALS

    als = ALS(rank=template.factors, maxIter=template.iterations,
              regParam=template.regularization, alpha=template.alpha, implicitPrefs=True,
              userCol="learner_idx", itemCol="resource_idx", ratingCol="confidence",
              seed=template.random_state, nonnegative=False)
    if blocks is not None:
        als = als.setNumBlocks(blocks)
    fitted = als.fit(confidences)
    params = {**template.get_params(), "solver_form": "spark"}
    return ALSModel.from_state({"params": params}, {
        "learner_factors_": _factors(fitted.userFactors, n_learners, template.factors),
        "resource_factors_": _factors(fitted.itemFactors, n_resources, template.factors),
    })
