"""Who the learner is now: the one place a learner becomes a query vector, exclusions, hard
constraints and a history for reasons.

The learner's vector is, in order: the bundle's trained vector; a fold-in of their bundle
history plus the events stored since the bundle's data ended (read from the store on every
request, so any worker reflects an event the moment it is acknowledged), blended with their
profile's vector while a newcomer's history is short (stated interests fade as events
accumulate, see :class:`~recommender.models.ColdStart`); a cold-start vector from their profile
(a learner known only through ``PUT /v1/learners``, or a bundle learner with no history);
otherwise the learner is unknown (:class:`UnknownIdError`). Exclusions: what the bundle says
they are done with and the events stored since that consume a resource by the bundle's
consumption rule (:mod:`recommender.features.consumption`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from recommender.features.catalog import LearnerProfile
from recommender.delivery.reasons import MAX_HISTORY, History
from recommender.delivery.served import ServedModel
from recommender.errors import InvalidParameterError, ModelNotLoadedError, UnknownIdError
from recommender.features.consumption import NEGATIVE_EVENT_TYPES
from recommender.models import LearnerVector
from recommender.models.cold_start import PROFILE_PRIOR_EVENTS
from recommender.store import EventRecord, LearnerSnapshot
from recommender.store.records import events_frame


@dataclass(frozen=True)
class LearnerView:
    """Everything a list needs to know about the learner at request time."""

    vector: np.ndarray
    cold_start: str | None  # None (trained vector), "fold_in" or "profile"
    constraints: LearnerProfile | None
    history: History
    excluded_main: np.ndarray  # bundle resource_idx the learner is done with
    excluded_side: frozenset[str]  # API resource ids the learner is done with
    group: str | None = None
    region: str | None = None
    interests: str | None = None
    vector_path: str = "trained"  # trained, history, profile+history or profile

    @property
    def uses_history(self) -> bool:
        """Whether the learner's own events shaped the vector (not a cold start then)."""
        return self.vector_path != "profile"


# A bundle learner's (resource_idx, values) rows of ``interactions`` and ``exclusions``.
Rows = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _needs_model(served: ServedModel) -> None:
    if not served.bundle.can_cold_start:
        raise ModelNotLoadedError(
            "the served bundle (format 1) carries no model state, so it cannot place learners "
            "it was not trained on; serve a format-2 bundle"
        )


NO_SNAPSHOT = LearnerSnapshot(profile=None, events=[], resources_signature=(0, 0))


def learner_view(
    served: ServedModel, snapshot: LearnerSnapshot, learner_id: str,
    profile_prior_events: float = PROFILE_PRIOR_EVENTS,
) -> LearnerView:
    """The learner as of now: bundle row, stored profile and stored events combined (a
    newcomer's profile worth ``profile_prior_events`` history resources, see
    :class:`~recommender.models.ColdStart`)."""
    bundle = served.bundle
    learner_idx = served.learner_idx(learner_id)
    profile, events = snapshot.profile, snapshot.events
    if learner_idx is None and profile is None and not events:
        raise UnknownIdError("learner", learner_id)
    facts: Mapping[str, object] = profile if profile is not None else (
        served.profile_of(learner_idx) if learner_idx is not None else {})

    if events:
        in_main = bundle.resource_map.indices_of([e.resource_id for e in events], strict=False)
        consumed = served.consumed_event_types
        done = np.array([e.event_type in consumed for e in events], dtype=bool)
        excluded_main = in_main[done & (in_main >= 0)]
        excluded_side = frozenset(e.resource_id for e, d, i in zip(events, done, in_main)
                                  if d and i < 0)
        if snapshot.consumed_resource_ids:  # events cut at the store's limit: all of them
            older = sorted(snapshot.consumed_resource_ids)
            found = bundle.resource_map.indices_of(older, strict=False)
            excluded_main = np.union1d(excluded_main, found[found >= 0])
            excluded_side = excluded_side | {r for r, i in zip(older, found) if i < 0}
    else:  # nothing stored since the bundle (the usual case): no array work
        in_main = excluded_main = np.empty(0, dtype=np.int64)
        excluded_side = frozenset()
    rows = None
    if learner_idx is not None:
        rows = served.row("interactions", learner_idx), served.row("exclusions", learner_idx)
        done_before = rows[1][0]
        excluded_main = np.union1d(done_before, excluded_main) if len(excluded_main) \
            else done_before

    cutoff = served.history_until_us
    fresh = [e for e, i in zip(events, in_main.tolist())
             if i >= 0 and (cutoff is None or e.ts_us > cutoff)]
    if learner_idx is None and profile is None and not fresh:
        raise UnknownIdError("learner", learner_id)  # only events the model cannot use
    placed = _vector(served, learner_idx, rows, profile, fresh, profile_prior_events)
    history = _history(rows, events, in_main)
    return LearnerView(
        vector=placed.vector, cold_start=placed.cold_start, vector_path=placed.path,
        constraints=_constraints(facts),
        history=history, excluded_main=excluded_main.astype(np.int64),
        excluded_side=excluded_side, group=_text(facts.get("group")),
        region=_text(facts.get("region")), interests=_text(facts.get("interests")),
    )


CONSTRAINT_FIELDS = tuple(f.name for f in fields(LearnerProfile))  # what from_row reads
_CONSTRAINTS: dict[tuple, LearnerProfile] = {}
_CONSTRAINTS_SIZE = 4096
_NAN = ("nan",)


def _constraint_key(value: object) -> object:
    """A value's exact stand-in in a cache key: None and strings as they are, a float by its
    repr (any NaN alike: all of them are an empty cell); TypeError for anything else."""
    if value is None or type(value) is str:
        return value
    if type(value) is float:
        return _NAN if value != value else ("float", repr(value))
    raise TypeError


def _constraints(facts: Mapping[str, object]) -> LearnerProfile:
    """``LearnerProfile.from_row(facts)``, built once per distinct combination of its fields:
    learners share few (a region, a language set, needs), and building one validates every
    field. The key is those values alone (no learner id); the cache is bounded."""
    try:
        key = tuple([_constraint_key(facts.get(name)) for name in CONSTRAINT_FIELDS])
    except TypeError:  # lists or other types (a stored profile): built each time
        return LearnerProfile.from_row(facts)
    found = _CONSTRAINTS.get(key)
    if found is None:
        found = LearnerProfile.from_row(facts)
        if len(_CONSTRAINTS) >= _CONSTRAINTS_SIZE:
            _CONSTRAINTS.clear()
        _CONSTRAINTS[key] = found
    return found


def _vector(
    served: ServedModel, learner_idx: int | None, rows: Rows | None,
    profile: Mapping[str, object] | None, fresh: Sequence[EventRecord],
    profile_prior_events: float,
) -> LearnerVector:
    bundle = served.bundle
    trained = rows is not None and len(rows[0][0]) > 0  # a history in the bundle
    if trained and not fresh:  # what ColdStart would return, cheaply
        return LearnerVector(bundle.learner_factors[learner_idx], None)
    if not bundle.can_cold_start:
        if learner_idx is None:
            _needs_model(served)
        return LearnerVector(bundle.learner_factors[learner_idx], None)  # format 1: no fold-in
    frame = events_frame(fresh) if fresh else None
    return _placed(lambda: bundle.cold_start.learner_vector(  # type: ignore[union-attr]
        learner_idx=learner_idx, profile=dict(profile) if profile is not None else None,
        events=frame, profile_prior_events=profile_prior_events,
    ))


def _placed(place: Callable[[], LearnerVector]) -> LearnerVector:
    """Run a cold-start placement; a profile it cannot use is the caller's 422, worded
    without echoing the profile (it may hold accessibility needs)."""
    try:
        return place()
    except InvalidParameterError as error:
        if error.name != "profile":
            raise
        raise InvalidParameterError(
            "profile", "(not shown)",
            "stated interests or a field the model knows (group, age_band, region, ...)",
        ) from None


def _history(rows: Rows | None, events: Sequence[EventRecord], in_main: np.ndarray) -> History:
    """Positive history (bundle ``rows`` of the learner, if any, + stored events, best first,
    capped) and completions."""
    confidence: dict[int, float] = {}
    completed: set[int] = set()
    if rows is not None:
        (indices, values), (done, _) = rows
        confidence = dict(zip(indices.tolist(), values.tolist()))
        get = confidence.get
        completed = {i for i in done.tolist() if get(i, 0.0) > 0}
    for event, idx in zip(events, in_main.tolist()):
        if idx < 0:
            continue
        if event.event_type in NEGATIVE_EVENT_TYPES:
            confidence.pop(idx, None)
            completed.discard(idx)
            continue
        confidence[idx] = confidence.get(idx, 0.0) + 1.0
        if event.event_type == "complete":
            completed.add(idx)
    # Best first: confidence descending, then resource index ascending.
    positive = sorted((-c, i) for i, c in confidence.items() if c > 0)
    return History(np.array([i for _, i in positive[:MAX_HISTORY]], dtype=np.int64),
                   frozenset(completed), frozenset(i for _, i in positive))


def anonymous_view(served: ServedModel, profile: Mapping[str, object]) -> LearnerView:
    """A visitor described only by a profile: the cold-start path, nothing stored."""
    _needs_model(served)
    found = _placed(lambda: served.bundle.cold_start.learner_vector(  # type: ignore[union-attr]
        profile=dict(profile)))
    return LearnerView(
        vector=found.vector, cold_start=found.cold_start, vector_path=found.path,
        constraints=LearnerProfile.from_row(profile),
        history=History(np.empty(0, dtype=np.int64), frozenset()),
        excluded_main=np.empty(0, dtype=np.int64), excluded_side=frozenset(),
        group=_text(profile.get("group")), region=_text(profile.get("region")),
        interests=_text(profile.get("interests")),
    )
