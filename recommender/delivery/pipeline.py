"""Delivery lists and plans end to end: constraints -> filtered retrieval -> re-rank / knapsack.

One object per (catalog, vector space) so the API, the batch export and the experiments build
lists the same way. Query vectors come from a model (a learner's row of ``learner_factors_``,
a fold-in or a cold-start vector); this module does not know which.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from recommender.delivery.filters import CatalogArrays, LearnerProfile, RequestFilters, TimeLike
from recommender.delivery.plans import Plan, build_plan
from recommender.delivery.rerank import rerank, served_by_community
from recommender.delivery.retrieve import FilteredRetriever
from recommender.errors import InvalidParameterError
from recommender.index import ResourceIndex


class Delivery:
    """Filtered, re-ranked delivery lists and learning plans over one catalog.

    ``resource_vectors`` score resources (row i = resource_idx i, the index's vectors);
    ``similarity_vectors`` (default: the same) measure how alike two resources are for the
    diversity re-ranking, e.g. content vectors.
    """

    def __init__(
        self,
        catalog: CatalogArrays,
        resource_vectors: np.ndarray,
        index: ResourceIndex | None = None,
        similarity_vectors: np.ndarray | None = None,
        *,
        retriever: FilteredRetriever | None = None,
    ) -> None:
        """``retriever`` reuses one already built over ``resource_vectors`` (serving keeps one
        per loaded model), so a request builds nothing."""
        if len(resource_vectors) != catalog.n_resources:
            raise InvalidParameterError(
                "resource_vectors", len(resource_vectors),
                f"{catalog.n_resources} rows, one per resource",
            )
        self.catalog = catalog
        if retriever is not None and retriever.n_resources != catalog.n_resources:
            raise InvalidParameterError(
                "retriever", retriever.n_resources, f"a retriever over {catalog.n_resources}"
            )
        self.retriever = retriever or FilteredRetriever(resource_vectors, index)
        self.similarity_vectors = (
            resource_vectors if similarity_vectors is None else similarity_vectors
        )

    def allowed(
        self, profile: LearnerProfile | None, filters: RequestFilters | None, now: TimeLike
    ) -> np.ndarray:
        return self.catalog.mask(filters, profile, now=now)

    def recommend(
        self,
        query: np.ndarray,
        k: int,
        *,
        now: TimeLike,
        profile: LearnerProfile | None = None,
        filters: RequestFilters | None = None,
        exclude: np.ndarray | None = None,
        diversity: float = 0.0,
        equal_service: float = 0.0,
        n_candidates: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` allowed resources, re-ranked; ``(resource_idx, value)``, padded with -1.

        Re-ranking draws from ``n_candidates`` (default ``5 * k`` when a knob is set); both
        knobs 0 return the filtered top ``k`` with model scores.
        """
        allowed = self.allowed(profile, filters, now)
        if diversity == 0.0 and equal_service == 0.0:
            found = self.retriever.search(query, k, allowed, exclude)
            out_idx = np.full(k, -1, dtype=np.int64)
            out_scores = np.full(k, -np.inf)
            out_idx[: len(found.resource_idx)] = found.resource_idx
            out_scores[: len(found.scores)] = found.scores
            return out_idx, out_scores
        found = self.retriever.search(query, n_candidates or 5 * k, allowed, exclude)
        served = served_by_community(self.catalog, found.resource_idx,
                                     profile.region if profile else None)
        return rerank(found.resource_idx, found.scores, k, resource_vectors=self.similarity_vectors,
                      diversity=diversity, served=served, equal_service=equal_service)

    def plan(
        self,
        query: np.ndarray,
        *,
        now: TimeLike,
        hours_per_week: float,
        weeks: int,
        profile: LearnerProfile | None = None,
        filters: RequestFilters | None = None,
        exclude: np.ndarray | None = None,
        credit_completed: float = 0.0,
        n_candidates: int = 100,
        n_credit_candidates: int = 32,
        unit_minutes: float = 5.0,
    ) -> Plan:
        """A learning plan from the best ``n_candidates`` allowed resources.

        For a learner who owes credit hours the best ``n_credit_candidates`` credit-bearing
        allowed resources join the pool, so the covering step has courses to choose from.
        """
        allowed = self.allowed(profile, filters, now)
        required = profile.credit_hours_required if profile else None
        owes = bool(required and required > credit_completed)
        # One search serves both pools when its candidates carry enough credit-bearing
        # resources (the usual case); otherwise a second one finds the best credit-bearing ones.
        found = self.retriever.search(query, n_candidates, allowed, exclude)
        idx, scores = found.resource_idx, found.scores
        if owes:
            credit = self.catalog.credit_hours[found.resource_idx] > 0
            credit_idx, credit_scores = found.resource_idx[credit], found.scores[credit]
            if len(credit_idx) < n_credit_candidates and len(found.resource_idx) == n_candidates:
                more = self.retriever.search(
                    query, n_credit_candidates, allowed & (self.catalog.credit_hours > 0), exclude
                )
                credit_idx, credit_scores = more.resource_idx, more.scores
            idx = np.concatenate([idx, credit_idx[:n_credit_candidates]])
            scores = np.concatenate([scores, credit_scores[:n_credit_candidates]])
        plan = build_plan(idx, scores, self.catalog, hours_per_week, weeks,
                          credit_required=required, credit_completed=credit_completed,
                          unit_minutes=unit_minutes, max_credit_items=n_credit_candidates)
        if plan.shortfall_reason == "candidates":
            takeable = allowed.copy()
            if exclude is not None and len(exclude):
                takeable[np.asarray(exclude, dtype=np.int64)] = False
            available = float(self.catalog.credit_hours[takeable].sum())
            if available < plan.credit_required:
                plan = replace(plan, shortfall_reason="catalog")
        return plan
