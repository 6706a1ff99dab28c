"""Small Spark training configs for the Spark tests (tests/spark/) and their tiny world."""

from __future__ import annotations

from typing import Any

from training.config import TrainConfig, parse_config

TINY = {"source": "sample", "n_learners": 240, "n_resources": 80, "events_per_learner": 20.0,
        "as_of": "2024-12-31"}  # fixed dates: the delivery test judges availability in 2024
# Two cores, two partitions, two ALS blocks: a tiny world spends its time in task overhead.
LOCAL_CONF = {"spark.ui.enabled": "false", "spark.default.parallelism": "2",
              "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}


def spark_tree(**sections: dict[str, Any]) -> dict[str, Any]:
    """A small Spark training config as raw tables (each given section's keys override the
    defaults'; a section with ``replace=True`` replaces it whole)."""
    tree = {
        "seed": 0,
        "data": dict(TINY),
        "model": {"name": "als", "factors": 8, "iterations": 5, "regularization": 0.03},
        "engine": {"kind": "spark", "master": "local[2]", "shuffle_partitions": 2, "blocks": 2,
                   "conf": dict(LOCAL_CONF)},
        "validation": {"enabled": False},
        "tracking": {"experiment": "spark-test", "registered_model": "spark-model"},
    }
    for name, values in sections.items():
        values = dict(values)
        whole = values.pop("replace", False)
        tree[name] = values if whole else {**tree.get(name, {}), **values}
    return tree


def spark_config(**sections: dict[str, Any]) -> TrainConfig:
    return parse_config(spark_tree(**sections), source="spark-test")
