"""The delivery core: the one place a learner view becomes a delivery list, a plan or a list of
similar resources.

Every front end goes through :class:`DeliveryCore`: the HTTP API, ``recommender deliver``, the
MLflow pyfunc model and experiment evaluation only parse their input into a
:class:`ListRequest` (or :class:`PlanRequest`) and format what comes back. A list is made in
one sequence of steps, the same for all of them:

1. **candidates**: the catalog mask (request filters, the learner's hard constraints,
   availability at ``now``; :meth:`CatalogArrays.mask`), an optional protocol candidate set,
   and the resources the API withdrew or re-described;
2. **exclusions**: what the learner is done with and the request's ``exclude`` ids, each
   resolved to the copy actually served (:meth:`Overlay.active`: a bundle resource
   re-described through the API is excluded as its new copy);
3. **retrieval**: one filtered top-k over the bundle's index
   (:class:`~recommender.retrieval.FilteredRetriever`, the one over-fetch and fallback)
   merged exactly with the API's own resources;
4. **re-ranking**: optional diversity, equal-service (exposure) and calibration re-ranking of
   the candidates (:func:`recommender.delivery.rerank.rerank`), after keeping at most one
   resource per title (the best-scored) unless the request says ``one_per_title=False``;
5. **reasons and cards**: :func:`recommender.delivery.reasons.explain`, in the learner's
   language (:func:`recommender.delivery.messages.language_for`), and each item's
   :class:`~recommender.delivery.cards.ResourceCard`.

An empty list says why (:meth:`DeliveryCore.why_empty`): nothing matches the filters and the
learner's constraints, everything that matches is done (or excluded), or nothing that matches
is open at the moment or in the window asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from recommender.checks import check_k
from recommender.features.catalog import LearnerProfile, RequestFilters
from recommender.delivery.cards import ResourceCard
from recommender.delivery.credits import CreditLedger
from recommender.delivery.learner import NO_SNAPSHOT, LearnerView, anonymous_view, learner_view
from recommender.delivery.overlay import Overlay
from recommender.delivery.messages import language_for, say
from recommender.delivery.plans import Plan, build_plan
from recommender.delivery.reasons import History, Reason, explain
from recommender.delivery.rerank import (
    ListPolicy,
    category_mix,
    local_resources,
    rerank,
)
from recommender.delivery.served import ServedModel
from recommender.delivery.why_not import WhyNot, explain_absence
from recommender.errors import InvalidParameterError, UnknownIdError
from recommender.models.cold_start import PROFILE_PRIOR_EVENTS
from recommender.store import LearnerSnapshot

NO_FILTERS = RequestFilters()
NO_MATCH, ALL_DONE, NONE_OPEN = "no_match", "all_done", "none_open"
EMPTY_REASONS: tuple[str, ...] = (NO_MATCH, ALL_DONE, NONE_OPEN)


class Picked(NamedTuple):
    """One slot of a list (a tuple: built per slot per request, cheaply)."""

    resource_id: str
    title: str
    score: float
    reason: Reason
    card: ResourceCard | None = None


class EmptyReason(NamedTuple):
    """Why a list is empty: ``code`` one of :data:`EMPTY_REASONS`, ``message`` a sentence in
    the learner's language."""

    code: str
    message: str


@dataclass(frozen=True)
class ListRequest:
    """What a delivery list is asked for.

    ``now`` is the moment availability is judged at (None: not judged, e.g. an evaluation whose
    filters carry their own ``open_between`` window); ``exclude_ids`` are left out on top of
    what the learner is done with; ``candidates`` (bool over bundle resource_idx) narrows the
    catalog for an evaluation protocol; ``diversity``, ``equal_service`` (local in-person
    resources' slots held to their share of what the learner can reach) and ``calibration`` (the list's category
    mix towards the learner's history) re-rank the best ``n_candidates`` (default ``5 * k``)
    when set; ``one_per_title`` keeps only the best-scored resource of each title;
    ``accepted_languages`` (a request's ``Accept-Language``, best first) is the language of
    reasons for a learner whose profile names none the message catalog speaks.
    """

    k: int
    now: pd.Timestamp | None
    filters: RequestFilters = NO_FILTERS
    exclude_ids: tuple[str, ...] = ()
    candidates: np.ndarray | None = field(default=None, compare=False, repr=False)
    diversity: float = 0.0
    equal_service: float = 0.0
    calibration: float = 0.0
    n_candidates: int | None = None
    one_per_title: bool = True
    accepted_languages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "k", check_k(self.k))
        object.__setattr__(self, "exclude_ids", tuple(self.exclude_ids))
        object.__setattr__(self, "accepted_languages", tuple(self.accepted_languages))

    @classmethod
    def served(cls, policy: ListPolicy, **fields: object) -> ListRequest:
        """A request with ``policy``'s re-rank knobs: how every front end that delivers to
        learners asks, so they all serve the same list."""
        return cls(equal_service=policy.equal_service, calibration=policy.calibration,
                   **fields)  # type: ignore[arg-type]

    @property
    def reranked(self) -> bool:
        return self.diversity > 0.0 or self.equal_service > 0.0 or self.calibration > 0.0


@dataclass(frozen=True)
class PlanRequest:
    """A learning plan's budget (``hours_per_week`` over ``weeks``), filters, exclusions and
    credit facts: ``credit_required`` and ``credit_completed`` None take the learner's credit
    ledger (:mod:`recommender.delivery.credits`) when the plan is given one, else the profile's
    requirement and nothing completed; a number overrides (a what-if plan)."""

    hours_per_week: float
    weeks: int
    now: pd.Timestamp | None
    filters: RequestFilters = NO_FILTERS
    exclude_ids: tuple[str, ...] = ()
    credit_required: float | None = None
    credit_completed: float | None = None
    n_candidates: int = 100
    n_credit_candidates: int = 32


class _Ranked(NamedTuple):
    idx: np.ndarray
    scores: np.ndarray
    local_share: float | None


@dataclass(frozen=True)
class DeliveryList:
    """A list and how its learner was placed (``cold_start``: None for a trained vector, else
    the cold-start path: ``fold_in``, ``profile``, ...); ``empty`` says why when it is empty;
    ``vector_path``: which parts made the vector, ``trained``, ``history``, ``profile+history``
    or ``profile``."""

    items: list[Picked]
    cold_start: str | None
    empty: EmptyReason | None = None
    vector_path: str = "trained"
    # What watching the served lists counts, known once the list is made (nothing recomputed
    # per served list): per item its served index and whether it serves the learner locally,
    # and the local resources' share of everything the learner could be listed (None: nothing).
    served_idx: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64), repr=False,
                                   compare=False)
    local: np.ndarray = field(default_factory=lambda: np.empty(0, bool), repr=False,
                              compare=False)
    reachable_local_share: float | None = None


@dataclass(frozen=True)
class PlannedList:
    """A plan and, per planned item, its id, title and reason; ``credit_completed`` is what
    the plan counted as already earned."""

    plan: Plan
    picked: list[Picked]
    cold_start: str | None
    credit_completed: float = 0.0
    vector_path: str = "trained"


class DeliveryCore:
    """Delivery lists, plans and similar resources from one served model and the catalog
    changes made through the API since it was built (``overlay``; none for the batch export,
    the pyfunc model and evaluation). ``profile_prior_events``: how many history resources a
    newcomer's stated profile is worth while their history is short (the
    ``profile_prior_events`` setting; see :class:`~recommender.models.ColdStart`). Cheap to
    make: it holds three references."""

    def __init__(self, served: ServedModel, overlay: Overlay | None = None, *,
                 profile_prior_events: float = PROFILE_PRIOR_EVENTS) -> None:
        self.served = served
        self.overlay = overlay if overlay is not None else Overlay.empty(served)
        self.profile_prior_events = profile_prior_events

    # --- learner views --------------------------------------------------------------------------

    def learner(self, learner_id: str, snapshot: LearnerSnapshot | None = None) -> LearnerView:
        """The learner as the bundle and the stored ``snapshot`` (none: the bundle alone) say."""
        return learner_view(self.served, snapshot or NO_SNAPSHOT, learner_id,
                            self.profile_prior_events)

    def anonymous(self, profile: Mapping[str, object]) -> LearnerView:
        """A visitor described only by a profile (the cold-start path, nothing stored)."""
        return anonymous_view(self.served, profile)

    # --- the use cases --------------------------------------------------------------------------

    def deliver(self, view: LearnerView, request: ListRequest) -> DeliveryList:
        """The best ``request.k`` allowed resources for ``view`` (fewer only if fewer are
        allowed), each with a reason."""
        ranked = self._ranked(view, request, with_share=True)
        language = self._language(view, request.accepted_languages)
        items = self._picked(view, ranked.idx, ranked.scores, language)
        empty = None if items else self.why_empty(view, request, language)
        return DeliveryList(items, view.cold_start, empty, view.vector_path,
                            served_idx=ranked.idx,
                            local=self.serves_locally(view, ranked.idx),
                            reachable_local_share=ranked.local_share)

    def why_empty(self, view: LearnerView, request: ListRequest,
                  language: str | None = None) -> EmptyReason:
        """Why ``view`` gets nothing for ``request``, checked in the order a learner would fix
        it: nothing matches the filters and their constraints (whenever open), everything
        that matches is done or excluded, or nothing left is open at ``request.now`` (or in
        the window the filters ask for)."""
        filters = replace(request.filters, open_at=None, open_between=None)
        left, side_left = self._allowed(view, filters, None, request.exclude_ids,
                                        candidates=request.candidates)
        if left.any() or (side_left is not None and side_left.any()):
            code = NONE_OPEN
        elif self._matches(view, filters, request.candidates):
            code = ALL_DONE
        else:
            code = NO_MATCH
        language = language or self._language(view, request.accepted_languages)
        return EmptyReason(code, say(language, code))

    def _matches(self, view: LearnerView, filters: RequestFilters,
                 candidates: np.ndarray | None) -> bool:
        """Whether any served resource matches ``filters`` and the learner's constraints,
        whenever open and whatever they are done with."""
        served, overlay = self.served, self.overlay
        matching = served.catalog.mask(filters, view.constraints, now=None)
        if candidates is not None:
            matching &= candidates
        matching[overlay.blocked_idx] = False
        if matching.any():
            return True
        return bool(overlay.n_side and overlay.catalog is not None
                    and overlay.catalog.mask(filters, view.constraints, now=None).any())

    def deliver_many(
        self, learner_ids: Iterable[str], request: ListRequest,
        snapshot_of: Callable[[str], LearnerSnapshot] | None = None,
    ) -> Iterator[tuple[str, DeliveryList]]:
        """:meth:`deliver` for each learner (the batch export, the pyfunc model): as the
        bundle knows them, or with what ``snapshot_of`` reads from the store, which gives
        exactly the API's list."""
        for learner_id in learner_ids:
            snapshot = snapshot_of(learner_id) if snapshot_of is not None else None
            yield learner_id, self.deliver(self.learner(learner_id, snapshot), request)

    def similar(self, resource_id: str, request: ListRequest) -> list[Picked]:
        """Resources nearest to ``resource_id`` in the model's space (itself left out)."""
        served, overlay = self.served, self.overlay
        position = overlay.side_position(resource_id)
        if position is not None:
            query, title = overlay.vectors[position], str(overlay.titles[position])
        elif resource_id in served.bundle.resource_map:
            own = served.bundle.resource_map.index_of(resource_id)
            if overlay.blocked[own]:
                raise UnknownIdError("resource", resource_id)  # withdrawn
            query, title = served.bundle.resource_factors[own], str(served.titles[own])
        else:
            raise UnknownIdError("resource", resource_id)
        view = LearnerView(
            vector=np.asarray(query, dtype=np.float32), cold_start=None, constraints=None,
            history=History(np.empty(0, dtype=np.int64), frozenset()),
            excluded_main=np.empty(0, dtype=np.int64), excluded_side=frozenset(),
        )
        request = replace(request, exclude_ids=(*request.exclude_ids, resource_id))
        idx, scores = self.ranked(view, request)
        language = language_for((), request.accepted_languages)
        reason = Reason("similar", say(language, "similar_resource", title=title))
        ids, titles = self._labels(idx)
        cards = self._cards(idx)
        return [Picked(i, t, s, reason, c)
                for i, t, s, c in zip(ids, titles, scores.tolist(), cards)]

    def plan(self, view: LearnerView, request: PlanRequest,
             ledger: CreditLedger | None = None) -> PlannedList:
        """A learning plan from the best ``n_candidates`` allowed resources of the bundle's
        catalog (knapsack over time; a covering knapsack for a learner who owes credit hours).

        For a learner who owes credit hours the best ``n_credit_candidates`` credit-bearing
        allowed resources join the pool, so the covering step has courses to choose from.
        Resources added through the API after training are not planned: their durations and
        credits are not part of the served model's catalog arrays. What the learner owes is the
        ``ledger``'s requirement and shortfall for the year (see :class:`PlanRequest`).
        """
        served = self.served
        catalog = served.catalog
        profile = view.constraints or LearnerProfile()
        credit_required = request.credit_required
        if credit_required is None and ledger is not None:
            credit_required = ledger.required_hours
        if credit_required is not None:
            profile = replace(profile, credit_hours_required=credit_required)
        completed = request.credit_completed
        if completed is None:
            completed = ledger.earned_hours if ledger is not None else 0.0
        allowed, _ = self._allowed(view, request.filters, request.now, request.exclude_ids,
                                   profile=profile)
        required = profile.credit_hours_required
        owes = bool(required and required > completed)
        found = served.retriever.search(view.vector, request.n_candidates, allowed)
        idx, scores = found.resource_idx, found.scores
        if owes:
            credit = catalog.credit_hours[idx] > 0
            credit_idx, credit_scores = idx[credit], scores[credit]
            if len(credit_idx) < request.n_credit_candidates and len(idx) == request.n_candidates:
                more = served.retriever.search(view.vector, request.n_credit_candidates,
                                               allowed & (catalog.credit_hours > 0))
                credit_idx, credit_scores = more.resource_idx, more.scores
            idx = np.concatenate([idx, credit_idx[:request.n_credit_candidates]])
            scores = np.concatenate([scores, credit_scores[:request.n_credit_candidates]])
        plan = build_plan(idx, scores, catalog, request.hours_per_week, request.weeks,
                          credit_required=required, credit_completed=completed,
                          max_credit_items=request.n_credit_candidates)
        if plan.shortfall_reason == "candidates":
            available = float(catalog.credit_hours[allowed].sum())
            if available < plan.credit_required:
                plan = replace(plan, shortfall_reason="catalog")
        planned = plan.resource_idx
        items = self._picked(view, planned, np.array([i.score for i in plan.items]),
                             self._language(view, ()))
        return PlannedList(plan, items, view.cold_start, float(completed),
                           view.vector_path)

    def why_not(self, view: LearnerView, request: ListRequest, resource_id: str) -> WhyNot:
        """Why ``resource_id`` is not in :meth:`deliver`'s list for ``view`` and ``request``
        (or that it is, with its rank): the operator console's "why not X?"."""
        allowed, side_allowed = self._allowed(view, request.filters, request.now,
                                              request.exclude_ids, candidates=request.candidates)
        return explain_absence(self, view, request, resource_id, allowed, side_allowed,
                               self._excluded(view, ()))

    # --- the steps ------------------------------------------------------------------------------

    def _allowed(
        self, view: LearnerView, filters: RequestFilters, now: pd.Timestamp | None,
        exclude_ids: tuple[str, ...], *, candidates: np.ndarray | None = None,
        profile: LearnerProfile | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Steps 1 and 2: bool masks over the bundle's resources and over the API's own
        (None when there are none) of what this list may hold."""
        served, overlay = self.served, self.overlay
        constraints = profile if profile is not None else view.constraints
        allowed = served.catalog.mask(filters, constraints, now=now)
        if candidates is not None:
            if candidates.shape != allowed.shape:
                raise InvalidParameterError("candidates", candidates.shape,
                                            f"a mask over {len(allowed)} resources")
            allowed &= candidates
        if len(overlay.blocked_idx):
            allowed[overlay.blocked_idx] = False
        side_allowed = None
        if overlay.n_side and overlay.catalog is not None:
            side_allowed = overlay.catalog.mask(filters, constraints, now=now)
        n_main = served.n_resources
        excluded = self._excluded(view, exclude_ids)
        allowed[excluded[(excluded >= 0) & (excluded < n_main)]] = False
        if side_allowed is not None:
            side_allowed[excluded[excluded >= n_main] - n_main] = False
        return allowed, side_allowed

    def _excluded(self, view: LearnerView, exclude_ids: tuple[str, ...]) -> np.ndarray:
        """Served indices (bundle, then the API's) of what the learner is done with and the
        request leaves out; -1 for what is no longer served."""
        overlay, n_main = self.overlay, self.served.n_resources
        parts = [overlay.active(view.excluded_main)]
        ids = set(view.excluded_side)
        if exclude_ids:
            found = self.served.bundle.resource_map.indices_of(list(exclude_ids), strict=False)
            parts.append(overlay.active(found[found >= 0]))
            ids.update(exclude_ids)
        if ids and overlay.n_side:
            positions = [overlay.side_position(i) for i in ids]
            parts.append(np.array([n_main + p for p in positions if p is not None],
                                  dtype=np.int64))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def ranked(
        self, view: LearnerView, request: ListRequest
    ) -> tuple[np.ndarray, np.ndarray]:
        """Steps 1-4 (:meth:`deliver` without labels and reasons): served indices (bundle
        resources, then the API's) and model scores, best first. What evaluation scores."""
        ranked = self._ranked(view, request)
        return ranked.idx, ranked.scores

    def _ranked(self, view: LearnerView, request: ListRequest,
                with_share: bool = False) -> _Ranked:
        """:meth:`ranked`, and (``with_share`` or equal service on) the local resources' share
        of what ``request`` may list for ``view``."""
        allowed, side_allowed = self._allowed(view, request.filters, request.now,
                                              request.exclude_ids,
                                              candidates=request.candidates)
        k = request.k
        n = max(k, request.n_candidates or 5 * k) if request.reranked else k
        idx, scores = self._retrieved(view.vector, n, allowed, side_allowed)
        if request.one_per_title:
            fetched = n
            while True:
                keep = self._first_per_title(idx)
                if len(keep) >= n or len(idx) < fetched:  # enough, or nothing more to fetch
                    idx, scores = idx[keep[:n]], scores[keep[:n]]
                    break
                fetched += max(n, fetched - len(keep))  # at least as many as were dropped
                idx, scores = self._retrieved(view.vector, fetched, allowed, side_allowed)
        local_share, target = None, None
        if request.equal_service > 0.0 or with_share:
            local, local_share = self._local_share(view, allowed, side_allowed)
            if request.equal_service > 0.0:
                target = local_share or 0.0
                idx, scores = self._with_local(view, idx, scores, local, k)
        if request.reranked and len(idx):
            idx, scores = self._reranked(view, idx, scores, request, target)
        return _Ranked(idx, scores, local_share)

    def _retrieved(self, vector: np.ndarray, n: int, allowed: np.ndarray,
                   side_allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Step 3: the best ``n`` allowed, bundle resources and the API's merged exactly."""
        found = self.served.retriever.search(vector, n, allowed)
        idx, scores = found.resource_idx, found.scores
        if side_allowed is not None:
            candidates = np.flatnonzero(side_allowed)
            if len(candidates):
                side_scores = (self.overlay.vectors[candidates] @ vector).astype(np.float32)
                idx = np.concatenate([idx, candidates + self.served.n_resources])
                scores = np.concatenate([scores, side_scores])
                order = np.lexsort((idx, -scores))[:n]
                idx, scores = idx[order], scores[order]
        return idx, scores

    def _first_per_title(self, idx: np.ndarray) -> np.ndarray:
        """Positions in ``idx`` (best first) of the first resource of each title."""
        n_main = self.served.n_resources
        keys = self.served.title_keys
        side_keys = self.overlay.title_keys
        seen: set[str] = set()
        keep = []
        for position, i in enumerate(idx.tolist()):
            key = keys[i] if i < n_main else side_keys[i - n_main]
            if key not in seen:
                seen.add(key)
                keep.append(position)
        return np.array(keep, dtype=np.int64)

    def reach(self, view: LearnerView, request: ListRequest) -> tuple[np.ndarray, np.ndarray]:
        """What ``request`` may list for ``view`` (served indices, steps 1-2) and, per index,
        whether it serves the learner locally: the denominator of equal service's target,
        for evaluation and monitoring."""
        allowed, side_allowed = self._allowed(view, request.filters, request.now,
                                              request.exclude_ids, candidates=request.candidates)
        idx = np.flatnonzero(allowed)
        if side_allowed is not None:
            idx = np.concatenate([idx, np.flatnonzero(side_allowed) + self.served.n_resources])
        return idx, self.serves_locally(view, idx)

    def _local_share(
        self, view: LearnerView, allowed: np.ndarray, side_allowed: np.ndarray | None,
    ) -> tuple[np.ndarray, float | None]:
        """The learner's local resources among the bundle's allowed ones (a mask), and the
        local share of everything this learner may be listed, the API's resources included
        (None: nothing may be): equal service's target, and what monitoring holds the
        served slots to."""
        local = allowed & self.served.catalog.local_to(view.region)
        n_local, n_reach = int(np.count_nonzero(local)), int(np.count_nonzero(allowed))
        if side_allowed is not None and self.overlay.catalog is not None:
            n_local += int(np.count_nonzero(side_allowed
                                            & self.overlay.catalog.local_to(view.region)))
            n_reach += int(np.count_nonzero(side_allowed))
        return local, (n_local / n_reach if n_reach else None)

    def _with_local(
        self, view: LearnerView, idx: np.ndarray, scores: np.ndarray, local: np.ndarray, k: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Equal service's candidates: the model's plus the learner's best ``k`` local
        resources of the bundle (``local``), so the constraint has local ones to choose from
        even when the model ranks them all below the candidate pool."""
        if local.any():
            found = self.served.retriever.search(view.vector, k, local)
            # a few against a few dozen: a comparison table, not isin's sort
            extra = ~(found.resource_idx[:, None] == idx[None, :]).any(axis=1)
            if extra.any():
                idx = np.concatenate([idx, found.resource_idx[extra]])
                scores = np.concatenate([scores, found.scores[extra]])
                order = np.lexsort((idx, -scores))
                idx, scores = idx[order], scores[order]
        return idx, scores

    def _reranked(
        self, view: LearnerView, idx: np.ndarray, scores: np.ndarray, request: ListRequest,
        target_share: float | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Step 4: diversity (MMR over unit vectors), equal service (exposure bounds) and
        calibration, on positions in the candidate list; the model scores of the chosen are
        kept."""
        categories = mix = None
        if request.calibration > 0.0:
            categories, mix = self._categories(idx), self._interest_mix(view)
        positions, _ = rerank(
            np.arange(len(idx)), scores, request.k,
            resource_vectors=(self.overlay.unit_vectors_of(self.served, idx)
                              if request.diversity > 0.0 else None),
            diversity=request.diversity, served=self.serves_locally(view, idx),
            equal_service=request.equal_service, target_share=target_share,
            categories=categories, interest_mix=mix,
            calibration=request.calibration,
        )
        positions = positions[positions >= 0]
        return idx[positions], scores[positions]

    def serves_locally(self, view: LearnerView, idx: np.ndarray) -> np.ndarray:
        """Per served index: offline or blended in or next to the learner's region
        (:func:`~recommender.delivery.rerank.local_resources`, equal service's protected set)."""
        n_main = self.served.n_resources
        out = np.zeros(len(idx), dtype=bool)
        for catalog, rows, where in (
            (self.served.catalog, idx, idx < n_main),
            (self.overlay.catalog, idx - n_main, idx >= n_main),
        ):
            if catalog is not None and where.any():
                out[where] = local_resources(catalog, rows[where], view.region)
        return out

    def _categories(self, idx: np.ndarray) -> np.ndarray:
        """Category codes of served indices in the bundle catalog's vocabulary (-1: none or
        a category only the API's resources have)."""
        main = self.served.catalog.category
        n_main = self.served.n_resources
        codes = np.full(len(idx), -1, dtype=np.int64)
        inside = idx < n_main
        codes[inside] = main.codes[idx[inside]]
        side = self.overlay.catalog
        if side is not None and (~inside).any():
            names = {code: name for name, code in side.category.index.items()}
            codes[~inside] = [main.index.get(names.get(int(c), ""), -1)
                              for c in side.category.codes[idx[~inside] - n_main]]
        return codes

    def _interest_mix(self, view: LearnerView) -> np.ndarray | None:
        """The category mix of what the learner engaged with (None: no history to follow)."""
        history = view.history
        engaged = (np.fromiter(history.positive, dtype=np.int64) if history.positive
                   else np.asarray(history.resource_idx, dtype=np.int64))
        catalog = self.served.catalog
        engaged = engaged[(engaged >= 0) & (engaged < self.served.n_resources)]
        return category_mix(catalog.category.codes[engaged], len(catalog.category.index))

    def _labels(self, idx: np.ndarray) -> tuple[list[str], list[str]]:
        """Ids and titles of served indices (bundle resources, then the API's)."""
        served, overlay, n_main = self.served, self.overlay, self.served.n_resources
        idx_list = idx.tolist()
        if idx_list and max(idx_list) >= n_main:
            side = idx >= n_main
            main_idx = np.where(side, 0, idx)
            ids = served.resource_ids[main_idx].astype(object)
            titles = served.titles[main_idx].copy()
            position = idx[side] - n_main
            ids[side], titles[side] = overlay.ids[position], overlay.titles[position]
        else:
            ids, titles = served.resource_ids[idx], served.titles[idx]
        return list(map(str, ids.tolist())), list(map(str, titles.tolist()))

    def _cards(self, idx: np.ndarray) -> list[ResourceCard]:
        """The display facts of served indices (bundle resources, then the API's)."""
        n_main = self.served.n_resources
        cards, side_cards = self.served.cards, self.overlay.cards
        return [cards[i] if i < n_main else side_cards[i - n_main] for i in idx.tolist()]

    @staticmethod
    def _language(view: LearnerView, accepted: tuple[str, ...]) -> str:
        """The learner's language for reasons: their profile's, else the request's."""
        languages = view.constraints.languages if view.constraints is not None else ()
        return language_for(languages, accepted)

    def _picked(self, view: LearnerView, idx: np.ndarray, scores: np.ndarray,
                language: str) -> list[Picked]:
        """Step 5: labels, a reason in ``language`` and a card per slot."""
        reasons = explain(self.served, self.overlay, idx, view.history, vector=view.vector,
                          group=view.group, region=view.region, interests=view.interests,
                          language=language)
        ids, titles = self._labels(idx)
        return list(map(Picked, ids, titles, np.asarray(scores, dtype=float).tolist(), reasons,
                        self._cards(idx)))

