"""Prometheus metrics and the access log, in one pure-ASGI middleware (cheap per request).

Request counts and latency histograms per route template (``/v1/learners/{learner_id}/...``,
never the raw path, so ids do not explode the label set), events ingested, and the served
model's version. With several worker processes prometheus-client's multiprocess mode must be
on: the ``serve`` entry point sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts and
``/metrics`` then aggregates every worker's files (``multiprocess_dir`` below).

The access log line holds method, route template, status and milliseconds: no query string and
no body, so no key, filter or learner attribute reaches the log. It is on by default and can be
switched off (``RECOMMENDER_ACCESS_LOG=false``): Python's logging costs a list request
50-100 us of a worker's CPU (a tenth of it), and the per-route counts and latencies above
remain.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess

access_log = logging.getLogger("recommender.access")

REQUESTS = Counter("recommender_requests_total", "HTTP requests by route, method and status",
                   ["route", "method", "status"])
LATENCY = Histogram(
    "recommender_request_seconds", "HTTP request latency by route", ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
EVENTS_INGESTED = Counter("recommender_events_ingested_total",
                          "Events stored (duplicates not counted)")
# What the lists served hold (equal service, watched online): slots by provider type, mode and
# whether the resource is local to the learner; per learner group (a bounded vocabulary, never
# an id) the lists, slots, local slots and the local share of what those learners could reach.
SERVED_SLOTS = Counter("recommender_served_slots_total",
                       "Delivery-list slots served, by provider type, mode and local or not",
                       ["provider_type", "mode", "local"])
GROUP_LISTS = Counter("recommender_group_lists_total", "Delivery lists served per learner group",
                      ["learner_group"])
GROUP_SLOTS = Counter("recommender_group_slots_total", "Slots served per learner group",
                      ["learner_group"])
GROUP_LOCAL_SLOTS = Counter("recommender_group_local_slots_total",
                            "Slots holding a local (in-person, near) resource per learner group",
                            ["learner_group"])
GROUP_REACHABLE_LOCAL = Counter(
    "recommender_group_reachable_local_share_total",
    "Sum over lists of the local share of what the learner could be listed, per learner group "
    "(divided by the lists: the share equal service aims at)", ["learner_group"])
MODEL_INFO = Gauge("recommender_model_info", "The served bundle version (value 1)", ["version"],
                   multiprocess_mode="liveall")


_shown: list[str] = []  # versions this process has reported (multiprocess mode cannot clear)


def set_model_version(version: str | None) -> None:
    """1 for the served version, 0 for any this process served before."""
    for old in _shown:
        if old != version:
            MODEL_INFO.labels(version=old).set(0)
    if version is not None:
        MODEL_INFO.labels(version=version).set(1)
        if version not in _shown:
            _shown.append(version)


def render(multiprocess_dir: str | None) -> tuple[bytes, str]:
    """The exposition text: this process's metrics, or every worker's in multiprocess mode."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every HTTP request by route template; writes the access log."""

    def __init__(self, app: Any, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # bounded: route templates

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "?")
            key = (route, method, status[0])
            series = self._series.get(key)
            if series is None:  # labels() once per (route, method, status), not per request
                series = (REQUESTS.labels(route, method, str(status[0])),
                          LATENCY.labels(route, method))
                self._series[key] = series
            series[0].inc()
            series[1].observe(elapsed)
            if self.access_log:
                access_log.info("%s %s %d %.1fms", method, route, status[0], elapsed * 1000)
