"""Why a resource is not in a learner's list: the operator's "why not X?".

The answer follows the delivery core's own steps (:mod:`recommender.delivery.core`), using the
core's masks rather than a second copy of its rules: a resource is unknown, withdrawn through
the API, left out because the learner is done with it or the request excluded it, closed at
the request's moment, filtered by named constraints (the request's filters; the learner's
place, language and accessibility needs), or allowed and simply ranked lower (its rank among
everything allowed, by the model's score). Each constraint is tested alone through
:meth:`CatalogArrays.mask` (or its public parts), so the names are the catalog's own rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recommender.features.catalog import CatalogArrays, LearnerProfile, RequestFilters

if TYPE_CHECKING:
    from recommender.delivery.core import DeliveryCore, ListRequest
    from recommender.delivery.learner import LearnerView

# Verdicts, in the order the delivery core's steps would reach them.
UNKNOWN, WITHDRAWN, REQUEST_EXCLUDED, DONE = "unknown", "withdrawn", "excluded", "done"
CLOSED, FILTERED, RANKED_LOWER, LISTED = "closed", "filtered", "ranked_lower", "listed"
SAME_TITLE = "same_title"  # a better-scored resource of the same title takes its place
VERDICTS = (UNKNOWN, WITHDRAWN, REQUEST_EXCLUDED, DONE, CLOSED, FILTERED, SAME_TITLE,
            RANKED_LOWER, LISTED)

# Request filters each tested alone (names are RequestFilters fields).
FILTER_FIELDS = ("category", "language", "mode", "region", "max_duration_minutes", "level",
                 "accessibility", "provider_type")
# The learner's hard constraints (LearnerProfile facts) as the catalog applies them.
PLACE, LANGUAGE, ACCESS = "learner_place", "learner_language", "learner_access"


@dataclass(frozen=True)
class WhyNot:
    """The answer for one resource: ``verdict`` (one of :data:`VERDICTS`), the constraints that
    filter it (request filter names, or ``learner_place`` / ``learner_language`` /
    ``learner_access``), and for an allowed resource its model score and its rank among the
    ``n_allowed`` resources the list could hold (1 = first)."""

    resource_id: str
    verdict: str
    title: str | None = None
    constraints: tuple[str, ...] = ()
    rank: int | None = None
    score: float | None = None
    n_allowed: int = 0
    k: int = 0


def explain_absence(
    core: DeliveryCore, view: LearnerView, request: ListRequest, resource_id: str,
    allowed: np.ndarray, side_allowed: np.ndarray | None, done: np.ndarray,
) -> WhyNot:
    """:class:`WhyNot` for ``resource_id``, given the core's step-1-2 masks for this list
    (``allowed`` over the bundle's resources, ``side_allowed`` over the API's) and the served
    indices of what the learner is done with (``done``)."""
    served, overlay = core.served, core.overlay
    n_main = served.n_resources
    position = overlay.side_position(resource_id)
    if position is not None:
        served_idx, catalog, row = n_main + position, overlay.catalog, position
        title = str(overlay.titles[position])
    elif resource_id in served.bundle.resource_map:
        own = served.bundle.resource_map.index_of(resource_id)
        if overlay.blocked[own]:
            return WhyNot(resource_id, WITHDRAWN, str(served.titles[own]))
        served_idx, catalog, row, title = own, served.catalog, own, str(served.titles[own])
    else:
        return WhyNot(resource_id, UNKNOWN)

    if resource_id in request.exclude_ids:
        return WhyNot(resource_id, REQUEST_EXCLUDED, title)
    if np.any(done == served_idx):
        return WhyNot(resource_id, DONE, title)
    assert catalog is not None  # a side position implies the overlay's catalog
    if not _open(catalog, row, request):
        return WhyNot(resource_id, CLOSED, title)
    failed = _failed_constraints(catalog, row, request.filters, view.constraints)
    is_allowed = bool(allowed[row]) if position is None else bool(
        side_allowed is not None and side_allowed[row])
    if failed or not is_allowed:
        return WhyNot(resource_id, FILTERED, title, failed or ("candidates",))

    vector = view.vector
    main_scores = served.bundle.resource_factors[allowed] @ vector
    main_idx = np.flatnonzero(allowed)
    scores, idx = main_scores, main_idx
    if side_allowed is not None and side_allowed.any():
        side_idx = np.flatnonzero(side_allowed)
        scores = np.concatenate([scores, overlay.vectors[side_idx] @ vector])
        idx = np.concatenate([idx, side_idx + n_main])
    own_score = float(scores[idx == served_idx][0])
    # The core orders by score, then served index (np.lexsort((idx, -scores))).
    higher = (scores > own_score) | ((scores == own_score) & (idx < served_idx))
    rank = 1 + int(np.sum(higher))
    if request.one_per_title:  # the list keeps the best-scored resource of each title
        above = idx[higher]
        keys = {served.title_keys[i] if i < n_main else overlay.title_keys[i - n_main]
                for i in above.tolist()}
        own_key = (served.title_keys[served_idx] if served_idx < n_main
                   else overlay.title_keys[served_idx - n_main])
        if own_key in keys:
            return WhyNot(resource_id, SAME_TITLE, title, (), rank, own_score, len(idx),
                          request.k)
        rank = 1 + len(keys)
    verdict = LISTED if rank <= request.k else RANKED_LOWER
    return WhyNot(resource_id, verdict, title, (), rank, own_score, len(idx), request.k)


def _open(catalog: CatalogArrays, row: int, request: ListRequest) -> bool:
    """Open at the request's moment (or in its window)."""
    filters = request.filters
    timing = RequestFilters(open_at=filters.open_at, open_between=filters.open_between)
    return bool(catalog.mask(timing, None, now=request.now)[row])


def _failed_constraints(
    catalog: CatalogArrays, row: int, filters: RequestFilters, profile: LearnerProfile | None,
) -> tuple[str, ...]:
    """Every request filter and learner constraint that alone leaves the resource out."""
    failed = []
    for name in FILTER_FIELDS:
        value = getattr(filters, name)
        if value is None or value == ():
            continue
        if not catalog.mask(RequestFilters(**{name: value}), None, now=None)[row]:
            failed.append(name)
    if profile is None:
        return tuple(failed)
    if filters.region is None:  # a requested region replaces the learner's own
        home = LearnerProfile(region=profile.region)
        relaxed = RequestFilters(relax_access=True, relax_language=True)
        if not catalog.mask(relaxed, home, now=None)[row]:
            failed.append(PLACE)
    if not filters.relax_language and profile.languages:
        if not catalog.language.isin(profile.languages, missing=True)[row]:
            failed.append(LANGUAGE)
    if not filters.relax_access and profile.accessibility_needs:
        if not catalog.accessible(profile.accessibility_needs)[row]:
            failed.append(ACCESS)
    return tuple(failed)
