"""HTTP serving: the API the learning platform calls.

Modules, one job each:

* :mod:`~recommender.serving.app`: ``create_app`` (explicit arguments) and
  ``create_app_from_settings`` (the uvicorn factory the production server uses);
* :mod:`~recommender.serving.server`: ``recommender serve`` (uvicorn, several workers);
* routers: :mod:`~recommender.serving.learners` (delivery lists, anonymous lists, learner
  upserts), :mod:`~recommender.serving.events` (ingestion), :mod:`~recommender.serving.resources`
  (similar resources, resource upserts), :mod:`~recommender.serving.admin` (reload),
  :mod:`~recommender.serving.ops` (health, readiness, metrics);
* :mod:`~recommender.serving.recommend`: one delivery list (learner vector, exclusions, filters,
  retrieval, reasons) and :mod:`~recommender.serving.reasons`: a reason per item;
* :mod:`~recommender.serving.model_state` (the immutable served model),
  :mod:`~recommender.serving.overlay` (resources added through the API),
  :mod:`~recommender.serving.runtime` (per-worker holder, atomic reload);
* :mod:`~recommender.serving.auth`, :mod:`~recommender.serving.errors` (the one error mapping),
  :mod:`~recommender.serving.metrics`, :mod:`~recommender.serving.schemas`;
* :mod:`~recommender.serving.exposure`: what the served lists hold per provider type, mode and
  learner group (aggregate counters) and the equal-service flags read back from them.

Consistency across workers comes from the database (:mod:`recommender.store`): events, learners
and resources written by one worker are read by every worker on its next request.
"""
