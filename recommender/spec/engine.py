"""The ``[engine]`` section: where the collaborative model is fitted.

``kind = "local"`` (the default) fits in this process with implicit. ``kind = "spark"`` fits
Spark MLlib's ALS on a Spark cluster (``master``, default ``local[*]``: every core of this
machine) from confidences Spark builds with the same feature rules
(:mod:`recommender.features.interactions`); the content model, the cold start and the bundle
stay on the driver, since catalogs and profiles are small. Nothing here imports Spark: a
config names the engine whether or not PySpark is installed, and the run says when it is not.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator

from recommender.spec.base import Section
from recommender.spec.reader import relative_to_config, tag

ENGINE_KINDS = ("local", "spark")


class LocalEngine(Section):
    """Fit in this process (implicit's ALS and every other model)."""

    kind: Literal["local"] = "local"

    def describe(self) -> dict[str, Any]:
        """What a bundle's manifest says about where it was fitted."""
        return {"kind": self.kind}


class SparkEngine(Section):
    """Fit ALS with Spark MLlib (implicit preferences) on ``master``.

    ``events``: a Parquet file or (partitioned) directory of the events contract table, the
    same events ``[data]`` names (e.g. the platform's nightly export); the full-data fit reads
    it on the executors instead of sending the driver's table. The run checks that both hold
    the same number of events.
    """

    kind: Literal["spark"]
    master: str = "local[*]"
    app_name: str = "lifelong-recommender"
    driver_memory: str | None = Field(None, description="spark.driver.memory, e.g. '4g'")
    executor_memory: str | None = Field(None, description="spark.executor.memory, e.g. '8g'")
    executor_cores: int | None = Field(None, ge=1, description="spark.executor.cores")
    shuffle_partitions: int = Field(8, ge=1, description="spark.sql.shuffle.partitions")
    blocks: int | None = Field(None, ge=1, description="ALS user and item blocks "
                               "(default: Spark's, 10)")
    events: Path | None = None
    conf: dict[str, str] = Field(default_factory=dict,
                                 description="any other Spark setting, e.g. spark.local.dir")

    @field_validator("events")
    @classmethod
    def _events_exist(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        resolved = relative_to_config(value, info)
        if not resolved.exists():
            raise ValueError(f"events Parquet {resolved} does not exist (from events = "
                             f"{str(value)!r}, relative to the config file)")
        return resolved

    def spark_conf(self) -> dict[str, str]:
        """The Spark settings this section stands for (``conf`` last, so it wins)."""
        settings = {
            "spark.app.name": self.app_name,
            # Python workers run this interpreter (its packages) unless the environment or
            # conf names another, e.g. a cluster's own path to the project's environment.
            "spark.pyspark.python": os.environ.get("PYSPARK_PYTHON", sys.executable),
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.execution.arrow.pyspark.enabled": "true",
        }
        optional = {"spark.driver.memory": self.driver_memory,
                    "spark.executor.memory": self.executor_memory,
                    "spark.executor.cores": self.executor_cores}
        settings.update({key: str(value) for key, value in optional.items() if value is not None})
        return {**settings, **self.conf}

    def describe(self) -> dict[str, Any]:
        """What a bundle's manifest says about where it was fitted."""
        return {"kind": self.kind, "master": self.master}


def _engine_tag(value: Any) -> str:
    kind = value.get("kind", "local") if isinstance(value, dict) else getattr(value, "kind", None)
    return tag(str(kind))


EngineSection = Annotated[
    Annotated[LocalEngine, Tag(tag("local"))] | Annotated[SparkEngine, Tag(tag("spark"))],
    Discriminator(_engine_tag, custom_error_type="unknown_variant",
                  custom_error_message="unknown value",
                  custom_error_context={"key": "kind", "choices": ", ".join(ENGINE_KINDS)}),
]
"""``kind`` picks the variant (``local`` when absent)."""
