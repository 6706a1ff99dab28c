"""The delivery core and its steps: lists that fit a learner's life, the same for every front end.

* :mod:`~recommender.delivery.core`: :class:`DeliveryCore`, the one place a learner view
  becomes a delivery list, a plan or similar resources (API, batch export, pyfunc, evaluation).
* :mod:`~recommender.delivery.served`: a bundle prepared for delivery (index, catalog arrays).
* :mod:`~recommender.delivery.overlay`: resources added, changed or withdrawn through the API.
* :mod:`~recommender.delivery.learner`: who the learner is now (vector, exclusions, history).
* :mod:`~recommender.features.catalog` (below the models, since evaluation's candidate rules
  use it too): request filters and the learner's hard constraints (availability, place,
  language, accessibility) as one boolean mask over resource_idx; re-exported here.
* :mod:`~recommender.retrieval` (below the models, whose ``recommend`` uses it too): filtered
  top-k that never comes back short; re-exported here.
* :mod:`~recommender.delivery.rerank`: diversity (MMR), equal-service (exposure) and
  calibration re-ranking.
* :mod:`~recommender.delivery.plans`: time-budget and credit-hour learning plans (knapsacks).
* :mod:`~recommender.delivery.credits`: a learner's credit ledger for a year (the one
  computation the API, the plans and the console read).
* :mod:`~recommender.delivery.reasons`: a short reason per recommended resource.

This package's namespace holds the lower steps only; import the core from
:mod:`recommender.delivery.core` (it needs the bundle and the models, which the steps do not).
"""

from recommender.features.catalog import (
    NEED_GROUPS,
    CatalogArrays,
    LearnerProfile,
    RequestFilters,
    learner_profiles,
)
from recommender.delivery.plans import Plan, PlanItem, build_plan, credit_cover, knapsack_dp
from recommender.delivery.rerank import (
    COMMUNITY_PROVIDER_TYPES,
    calibrated_rerank,
    category_mix,
    exposure_rerank,
    fair_share,
    local_resources,
    mmr_rerank,
    rerank,
    rerank_many,
    served_by_community,
)
from recommender.retrieval import FilteredRetriever, Retrieved

__all__ = [
    "COMMUNITY_PROVIDER_TYPES",
    "CatalogArrays",
    "FilteredRetriever",
    "LearnerProfile",
    "NEED_GROUPS",
    "Plan",
    "PlanItem",
    "RequestFilters",
    "Retrieved",
    "build_plan",
    "credit_cover",
    "calibrated_rerank",
    "category_mix",
    "exposure_rerank",
    "fair_share",
    "knapsack_dp",
    "learner_profiles",
    "local_resources",
    "mmr_rerank",
    "rerank",
    "rerank_many",
    "served_by_community",
]
