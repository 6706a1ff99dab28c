"""The per-worker state behind the routes: the served model, the store, the API's resources.

Routes read ``runtime.served`` once per request and use that object to the end, so a reload
(one reference assignment) is atomic for every request. A reload in one worker is recorded in
the database; the other workers notice on their next request (at most every
``poll_seconds``) and load the same source in the background, then swap.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass

from recommender.delivery.core import DeliveryCore
from recommender.delivery.learner import LearnerView
from recommender.delivery.overlay import Overlay
from recommender.delivery.served import ServedModel
from recommender.errors import BundleError, ModelNotLoadedError, RecommenderError
from recommender.index import SERVING_INDEX
from recommender.serving.bundle_source import BundleSource
from recommender.store import LearnerSnapshot, Store

log = logging.getLogger(__name__)
BUNDLE_STATE_KEY = "served_bundle"
VIEW_CACHE_SIZE = 20_000  # learner views kept per worker (about 1 kB each)


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

    def _build(self, source: BundleSource) -> ServedModel:
        return ServedModel.from_bundle(source.load(), self.options.index_factory,
                                       self.options.index_params)

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
        """Load, verify and index the source's bundle, then swap; on any failure the old model
        keeps serving and :class:`BundleError` says why."""
        source = source or self.source
        with self._reload_lock:
            served = self._build(source)
            self.install(served)
            self._generation = self.store.set_state(
                BUNDLE_STATE_KEY, {"version": served.version, "source": source.describe()})
        log.info("serving bundle %s from %s", served.version, source.describe())
        return served

    def load_initial(self, served: ServedModel | None) -> None:
        """At startup: the given model, else the configured source (a failure is reported by
        /ready and 503s, not a crash)."""
        state = self.store.get_state(BUNDLE_STATE_KEY)
        self._generation = state[1] if state else 0
        if served is not None:
            self.install(served)
            return
        if not self.source.configured:
            self.load_error = "no bundle source is configured"
            return
        try:
            self.install(self._build(self.source))
        except BundleError as error:
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
        self._background = threading.Thread(target=self._follow, args=(state[1],), daemon=True)
        self._background.start()

    def _follow(self, generation: int) -> None:
        try:
            served = self._build(self.source)
        except BundleError as error:
            log.error("another worker reloaded, but this one cannot: %s", error)
            self._generation = generation  # do not retry a broken source on every request
            return
        with self._reload_lock:
            self.install(served)
            self._generation = generation
        log.info("followed a reload: serving bundle %s", served.version)

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
        fresh = DeliveryCore(served, Overlay.of_store(served, self.store, signature))
        self._core = fresh
        return fresh

    # --- learners ------------------------------------------------------------------------------

    def learner_context(self, learner_id: str) -> LearnerContext:
        """The learner's snapshot read from the store (blocking: call it off the event loop),
        the core for the catalog changes it saw, and the learner's view."""
        snapshot = self.store.learner_snapshot(learner_id)
        core = self.core(snapshot.resources_signature)
        return LearnerContext(learner_id, core, self.learner_view(core, snapshot, learner_id))

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
