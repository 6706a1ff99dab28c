"""Beyond one machine: Spark MLlib ALS training and every learner's delivery list on a Spark
cluster, around the same feature rules, bundle and delivery core as the single-machine path.

PySpark is an optional dependency (the ``spark`` extra): nothing here imports it at module
level, so the package imports without it, and :func:`~recommender.spark.session.spark_session`
says how to install it when a run asks for the Spark engine.
"""

from recommender.spark.als import fit_spark_als
from recommender.spark.confidence import spark_confidences
from recommender.spark.delivery import deliver_on_spark
from recommender.spark.session import spark_session

__all__ = ["deliver_on_spark", "fit_spark_als", "spark_confidences", "spark_session"]
