"""The per-worker state behind the routes: the served model, the store, the API's resources.

Routes read ``runtime.served`` once per request and use that object to the end, so a reload
(one reference assignment) is atomic for every request. A reload in one worker is recorded in
the database; the other workers notice on their next request (at most every
``poll_seconds``) and load the same bundle in the background, then swap.

Which bundle a worker serves: the **accepted** one, recorded in the store (``served_bundle``:
version, content checksum, source and exactly where it came from). A bundle is accepted when an
admin reload verified it, or when a worker starts on a store that has no accepted bundle for the
configured source yet (a fresh store, a record from before checksums, or a changed source
setting). A starting or following worker loads the accepted one from where it came from and
serves it only if its checksum is the accepted checksum; a bundle that was refused, or that
merely appeared at the source, is never served until a reload accepts it. A registered model's
alias is pinned to the version it pointed at, so that version is served even after the alias
moved on; a plain path holds only its current content, so once that is something else the
accepted bundle cannot be had: the worker is then not ready, and says why.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recommender.delivery.core import DeliveryCore
from recommender.delivery.credits import CreditLedger, credit_ledger
from recommender.delivery.learner import LearnerView
from recommender.delivery.overlay import Overlay
from recommender.delivery.rerank import PLAIN, ListPolicy
from recommender.delivery.served import ServedModel
from recommender.bundle import Bundle
from recommender.errors import (
    BundleError,
    InvalidParameterError,
    ModelNotLoadedError,
    RecommenderError,
)
from recommender.index import SERVING_INDEX
from recommender.models.cold_start import PROFILE_PRIOR_EVENTS
from recommender.serving.bundle_source import BundleSource
from recommender.store import LearnerSnapshot, Store, StoreError

log = logging.getLogger(__name__)
BUNDLE_STATE_KEY = "served_bundle"
VIEW_CACHE_SIZE = 20_000  # learner views kept per worker (about 1 kB each)
# Profile fields a cold start can place a learner by (named when none of them is usable).
PLACING_FIELDS = ("group", "age_band", "region", "urban_rural", "education_level", "languages",
                  "accessibility_needs", "interests")


@dataclass(frozen=True)
class LearnerContext:
    """What a learner's request works from: the delivery core as the store has the catalog
    now, and the learner as the store has them now."""

    learner_id: str
    core: DeliveryCore
    view: LearnerView


@dataclass(frozen=True)
class ServingOptions:
    """What the app needs from the settings (built by an entry point, or by hand in tests)."""

    index_factory: str = SERVING_INDEX
    index_params: str = ""
    database_url: str = "sqlite://"
    api_keys: tuple[str, ...] | None = None  # None: no key needed (in-process use only)
    admin_keys: tuple[str, ...] = ()
    max_k: int = 200
    default_k: int = 10
    poll_seconds: float = 2.0
    access_log: bool = True  # one line per request (method, route template, status, ms)
    max_body_bytes: int = 2 * 1024 * 1024  # larger request bodies: 413 while reading
    credit_hours_required_default: float | None = None  # owed when a profile says nothing
    consumed_event_types: tuple[str, ...] | None = None  # None: each bundle's own rule
    list_policy: ListPolicy = PLAIN  # the lists' re-rank knobs (the settings ship the
    # library's defaults; options built by hand serve the plain list)
    equity_gap_threshold: float = 0.2  # served-exposure flags (recommender.serving.exposure)
    profile_prior_events: float = PROFILE_PRIOR_EVENTS  # a newcomer's profile, in events


class Runtime:
    """Mutable holder of the immutable pieces; one per app instance (worker)."""

    def __init__(self, store: Store, source: BundleSource, options: ServingOptions) -> None:
        self.store = store
        self.source = source
        self.options = options
        self.served: ServedModel | None = None
        self.load_error: str | None = None
        self._core: DeliveryCore | None = None  # served model + overlay, swapped as one
        self._reload_lock = threading.Lock()
        self._generation = 0  # revision of the shared bundle record this worker serves
        self._next_poll = 0.0
        self._background: threading.Thread | None = None
        self._views: tuple[ServedModel, dict[tuple, LearnerView]] | None = None

    # --- the model --------------------------------------------------------------------------

    def require_served(self) -> ServedModel:
        self._poll()
        served = self.served
        if served is None:
            raise ModelNotLoadedError(self.load_error or "no model bundle is loaded")
        return served

    def _serve(self, bundle: Bundle) -> ServedModel:
        return ServedModel.from_bundle(bundle, self.options.index_factory,
                                       self.options.index_params,
                                       self.options.consumed_event_types)

    def install(self, served: ServedModel) -> None:
        """The atomic swap: one reference assignment. The model's objects then leave the
        cyclic garbage collector's generations (``gc.freeze``): they live as long as the
        model, and scanning a few hundred thousand of them on every full collection costs
        requests time for nothing (reference counting still frees them after a swap; anything
        of theirs in a reference cycle stays, a bounded cost per reload)."""
        self.served = served
        self.load_error = None
        gc.collect()  # what is garbage now is not frozen with the rest
        gc.freeze()

    def reload(self, source: BundleSource | None = None) -> ServedModel:
        """Load, verify and index what the source holds now, record it as the accepted bundle,
        then swap; on any failure the old model keeps serving, nothing is recorded, and
        :class:`BundleError` (or :class:`StoreError`, when it cannot be recorded) says why."""
        source = source or self.source
        with self._reload_lock:
            bundle, origin = source.load_pinned()
            served = self._serve(bundle)
            record = {"version": served.version, "checksum": bundle.checksum,
                      "source": source.describe(), "origin": origin,
                      "accepted_at": datetime.now(UTC).isoformat()}
            self._generation = self.store.set_state(BUNDLE_STATE_KEY, record)
            self.install(served)
        log.info("serving bundle %s from %s (accepted)", served.version, origin)
        return served

    def _accepted(self, state: tuple[dict, int] | None) -> dict[str, Any] | None:
        """The store's accepted bundle for the configured source, or None when it has none
        (no record, a record without a checksum, or one for another source)."""
        if state is None:
            return None
        record = state[0]
        if not isinstance(record.get("checksum"), str) or not isinstance(record.get("origin"), str):
            return None
        return record if record.get("source") == self.source.describe() else None

    def _load_accepted(self, record: dict[str, Any]) -> ServedModel:
        """The accepted bundle, from exactly where it came from and with exactly its
        checksum; anything else is a :class:`BundleError` saying what the source holds."""
        accepted = f"the accepted bundle {record.get('version')!r}"
        try:
            bundle, origin = self.source.load_pinned(record["origin"])
        except BundleError as error:
            raise BundleError(f"{accepted} cannot be loaded from {record['origin']}: "
                              f"{error}") from error
        if bundle.checksum != record["checksum"]:
            raise BundleError(
                f"{origin} now holds bundle {bundle.version!r} (checksum "
                f"{bundle.checksum[:12]}), not {accepted} (checksum {record['checksum'][:12]}); "
                "it is not served until POST /v1/admin/reload accepts it")
        return self._serve(bundle)

    def load_initial(self, served: ServedModel | None) -> None:
        """At startup: the given model (in-process use: not recorded), else the accepted
        bundle, else (no bundle accepted for this source yet) what the source holds, which is
        then recorded as accepted. A failure is reported by /ready and 503s, not a crash."""
        state = self.store.get_state(BUNDLE_STATE_KEY)
        self._generation = state[1] if state else 0
        if served is not None:
            self.install(served)
            return
        if not self.source.configured:
            self.load_error = "no bundle source is configured"
            return
        record = self._accepted(state)
        try:
            if record is None:
                self.reload()
            else:
                with self._reload_lock:
                    self.install(self._load_accepted(record))
        except (BundleError, StoreError) as error:
            self.load_error = str(error)
            log.error("no bundle loaded: %s", error)

    def _poll(self) -> None:
        """Follow a reload done by another worker (rate-limited, in the background)."""
        now = time.monotonic()
        if now < self._next_poll or not self.source.configured:
            return
        self._next_poll = now + self.options.poll_seconds
        try:
            state = self.store.get_state(BUNDLE_STATE_KEY)
        except RecommenderError:
            return
        if state is None or state[1] <= self._generation:
            return
        if self._background is not None and self._background.is_alive():
            return
        self._background = threading.Thread(target=self._follow, args=(state,), daemon=True)
        self._background.start()

    def _follow(self, state: tuple[dict, int]) -> None:
        """Serve the bundle another worker accepted (exactly it: see :meth:`_load_accepted`);
        if this worker cannot, it keeps what it serves and says why once."""
        generation = state[1]
        record = self._accepted(state)
        served = self.served
        try:
            if record is None:
                raise BundleError(
                    f"the store's accepted bundle {state[0].get('version')!r} comes from "
                    f"{state[0].get('source')!r}, not this worker's source "
                    f"{self.source.describe()}")
            if served is not None and served.bundle.checksum == record["checksum"]:
                self._generation = generation  # already serving it (e.g. this worker's own)
                return
            fresh = self._load_accepted(record)
        except BundleError as error:
            log.error("another worker reloaded, but this one cannot: %s", error)
            if self.served is None:
                self.load_error = str(error)
            self._generation = generation  # do not retry a broken source on every request
            return
        with self._reload_lock:
            self.install(fresh)
            self._generation = generation
        log.info("followed a reload: serving bundle %s", fresh.version)

    # --- resources added through the API ------------------------------------------------------

    def core(self, signature: tuple[int, int] | None = None) -> DeliveryCore:
        """The delivery core for the served model and the API's resources as the database has
        them now (``signature``: the resources signature the request already read; None reads
        it). Rebuilt only when either changed."""
        served = self.require_served()
        if signature is None:
            signature = self.store.resources_signature()
        current = self._core
        if (current is not None and current.served is served
                and current.overlay.signature == signature):
            return current
        fresh = DeliveryCore(served, Overlay.of_store(served, self.store, signature),
                             profile_prior_events=self.options.profile_prior_events)
        self._core = fresh
        return fresh

    # --- learners ------------------------------------------------------------------------------

    def learner_context(self, learner_id: str) -> LearnerContext:
        """The learner's snapshot read from the store (blocking: call it off the event loop),
        the core for the catalog changes it saw, and the learner's view."""
        served = self.served
        snapshot = self.store.learner_snapshot(
            learner_id, consumed_event_types=tuple(served.consumed_event_types) if served else ())
        core = self.core(snapshot.resources_signature)
        return LearnerContext(learner_id, core, self.learner_view(core, snapshot, learner_id))

    def credit_ledger(self, learner_id: str, year: int | None = None,
                      served: ServedModel | None = None) -> CreditLedger:
        """The learner's credit ledger as the store has it now (blocking: call it off the
        event loop), for ``served`` (default: the model served now)."""
        return credit_ledger(served or self.require_served(), self.store, learner_id,
                             year=year,
                             default_required=self.options.credit_hours_required_default)

    def learner_view(
        self, core: DeliveryCore, snapshot: LearnerSnapshot, learner_id: str
    ) -> LearnerView:
        """:meth:`DeliveryCore.learner`, remembered per served model and learner *as the
        database has them now*: the key holds the snapshot's version (profile revision, event
        count, newest event), which the request has just read, so a new event or profile is a
        new key and never meets a stale view."""
        served = core.served
        views = self._views
        if views is None or views[0] is not served:
            views = (served, {})
            self._views = views
        cache = views[1]
        key = (learner_id, snapshot.version)
        view = cache.get(key)
        if view is None:
            view = core.learner(learner_id, snapshot)
            for array in (view.vector, view.excluded_main, view.history.resource_idx):
                array.setflags(write=False)  # shared by later requests: nobody may change it
            if len(cache) >= VIEW_CACHE_SIZE:
                try:
                    cache.pop(next(iter(cache)), None)  # the oldest entry
                except (RuntimeError, StopIteration):  # another thread changed it meanwhile
                    cache.clear()
            cache[key] = view
        return view

    def check_profile(self, learner_id: str, profile: Mapping[str, object]) -> None:
        """Refuse a profile the served model could not use, before it is stored: with it, the
        learner's list would be a 422 (the cold start finds nothing it knows in the profile,
        and the learner has no trained vector or usable events). Raises
        :class:`InvalidParameterError` naming ``group`` (the one field every profile has)
        and listing the fields sent, never their values. Blocking: a store read and a
        placement.

        With no model loaded, or one that cannot place new learners at all (format 1),
        nothing is checked and the profile is stored: it is the platform's data, and lists
        answer 503 until a model that can use it is served. A later bundle may know less
        than this one; its lists then say so."""
        served = self.served
        if served is None:
            return
        snapshot = self.store.learner_snapshot(learner_id)
        trial = LearnerSnapshot(dict(profile), snapshot.events, snapshot.resources_signature)
        core = self.core(snapshot.resources_signature)
        try:
            core.learner(learner_id, trial)
        except ModelNotLoadedError:
            return  # a format-1 bundle places no new learner, whatever the profile
        except InvalidParameterError as error:
            if error.name != "profile":
                raise
            sent = [name for name in PLACING_FIELDS if profile.get(name) not in (None, "")]
            raise InvalidParameterError(
                "group", "(not shown)",
                f"a group the served model ({served.version}) knows, or another field it "
                f"can place the learner by; none of the fields sent ({', '.join(sent)}) is "
                "one it knows: send a known group, age_band, region, ... or interests it can "
                "read",
            ) from None

    def ready(self) -> tuple[bool, str]:
        """Whether this worker can serve lists and take writes (blocking: a store read, and
        at most every few seconds a rolled-back write); a not-ready worker also looks for a
        reload to follow, so it recovers once another worker accepted a bundle."""
        self._poll()
        if self.served is None:
            return False, self.load_error or "no model bundle is loaded"
        if not self.store.ping():
            return False, "the database does not answer"
        problem = self.store.write_problem()
        if problem is not None:
            return False, problem
        return True, "ok"
