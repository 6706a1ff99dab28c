"""Delivery lists that fit a learner's life: constraints, filtered top-k, re-ranking, plans.

* :mod:`~recommender.delivery.filters`: request filters and the learner's hard constraints
  (availability, place, language, accessibility) as one boolean mask over resource_idx.
* :mod:`~recommender.delivery.retrieve`: filtered top-k that never comes back short.
* :mod:`~recommender.delivery.rerank`: diversity (MMR) and equal-service re-ranking.
* :mod:`~recommender.delivery.plans`: time-budget and credit-hour learning plans (knapsacks).
* :mod:`~recommender.delivery.pipeline`: all of it behind one :class:`Delivery` object.
"""

from recommender.delivery.filters import (
    NEED_GROUPS,
    CatalogArrays,
    LearnerProfile,
    RequestFilters,
    learner_profiles,
)
from recommender.delivery.pipeline import Delivery
from recommender.delivery.plans import Plan, PlanItem, build_plan, credit_cover, knapsack_dp
from recommender.delivery.rerank import (
    COMMUNITY_PROVIDER_TYPES,
    equal_service_rerank,
    mmr_rerank,
    rerank,
    rerank_many,
    served_by_community,
)
from recommender.delivery.retrieve import FilteredRetriever, Retrieved

__all__ = [
    "COMMUNITY_PROVIDER_TYPES",
    "CatalogArrays",
    "Delivery",
    "FilteredRetriever",
    "LearnerProfile",
    "NEED_GROUPS",
    "Plan",
    "PlanItem",
    "RequestFilters",
    "Retrieved",
    "build_plan",
    "credit_cover",
    "equal_service_rerank",
    "knapsack_dp",
    "learner_profiles",
    "mmr_rerank",
    "rerank",
    "rerank_many",
    "served_by_community",
]
