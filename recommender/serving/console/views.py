"""What each console page shows, gathered from the runtime, the store, the app's metrics and
MLflow. The computations are the library's (the delivery core's lists, plans and "why not",
:mod:`recommender.delivery.demand`, :mod:`recommender.delivery.exposure`,
:mod:`recommender.registry`); this module only reads and arranges. Everything here blocks
(store reads, MLflow calls, scoring): routes call it in the thread pool."""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender.delivery.core import ListRequest, PlanRequest
from recommender.delivery.demand import (
    DEFAULT_THRESHOLD,
    StatedDemand,
    demand_gaps,
    interest_similarity,
    profile_demands,
)
from recommender.delivery.exposure import served_exposure
from recommender.errors import RecommenderError
from recommender.serving.exposure import equity_figures
from recommender.serving.runtime import Runtime
from recommender.store.tally import (
    HOUR_US,
    count_learners,
    delivered_since,
    events_by_hour,
    stated_demand,
)

# Profile fields shown only on request (health, age and the like).
SENSITIVE_FIELDS = ("accessibility_needs", "age_band", "disability", "imd_band", "gender")
EQUITY_ATTRIBUTES = ("group", "age_band", "urban_rural", "accessibility_needs",
                     "accessibility_need")
COMPARED_METRICS = ("ndcg_at_10", "recall_at_10", "precision_at_10", "map_at_10",
                    "coverage_at_10")
EXPOSURE_SAMPLE = 200  # learners whose current lists the exposure page counts
LIST_K = 10
NEVER_SHOWN = 40  # resources listed as never recommended (all are counted)
GAPS_SHOWN = 30  # (region, group) rows of unmet demand, most unmet first


@dataclass(frozen=True)
class ConsoleOptions:
    """What the console needs beyond the API's options (built from the settings)."""

    operator_keys: tuple[str, ...] = ()
    secret: str | None = None  # None: generated per process (see session.py)
    session_seconds: int = 8 * 3600
    tracking_uri: str | None = None
    registered_model: str = "lifelong-recommender"
    alias: str = "production"
    secure_cookie: bool = False


def _now() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC))


# --- overview ------------------------------------------------------------------------------

@dataclass
class RouteTraffic:
    route: str
    requests: int
    errors: int
    mean_ms: float
    p95_ms: float | None


def overview(runtime: Runtime, metrics_dir: str | None, started: float) -> dict[str, Any]:
    served = runtime.served
    now_us = time.time_ns() // 1000
    day_start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    hours = events_by_hour(runtime.store, now_us - 24 * HOUR_US)
    hour_now = now_us // HOUR_US * HOUR_US
    per_hour = [(hour_now - (23 - i) * HOUR_US, hours.get(hour_now - (23 - i) * HOUR_US, 0))
                for i in range(24)]
    today_us = int(day_start.timestamp() * 1_000_000)
    out: dict[str, Any] = {
        "served": served, "load_error": runtime.load_error,
        "events_today": sum(n for h, n in hours.items() if h >= today_us),
        "events_total": runtime.store.count_events(),
        "per_hour": [(datetime.fromtimestamp(h / 1e6, UTC).strftime("%H"), n)
                     for h, n in per_hour],
        "stored_learners": count_learners(runtime.store),
        "traffic": request_traffic(metrics_dir),
        "uptime_s": max(time.monotonic() - started, 1e-9),
    }
    if served is not None:
        resources = served.bundle.resources
        out["by_mode"] = _counts(resources, "mode")
        out["by_provider"] = _counts(resources, "provider_type")
        out["n_resources"] = len(resources)
        out["n_bundle_learners"] = len(served.bundle.learner_map)
        out["manifest"] = served.bundle.manifest
        out["api_resources"] = runtime.store.resources_signature()[0]
    return out


def _counts(frame: pd.DataFrame, column: str) -> list[tuple[str, int]]:
    if column not in frame:
        return []
    counts = frame[column].fillna("(none)").astype(str).value_counts()
    return [(str(k), int(v)) for k, v in counts.items()]


def request_traffic(metrics_dir: str | None) -> list[RouteTraffic]:
    """Requests, 5xx answers, mean and p95 latency per route, from the app's own Prometheus
    metrics (every worker's in multiprocess mode)."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    registry = REGISTRY
    if metrics_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=metrics_dir)
    counts: dict[str, list[float]] = {}
    buckets: dict[str, list[tuple[float, float]]] = {}
    for family in registry.collect():
        for sample in family.samples:
            route = sample.labels.get("route")
            if route is None:
                continue
            entry = counts.setdefault(route, [0.0, 0.0, 0.0, 0.0])
            if sample.name == "recommender_requests_total":
                entry[0] += sample.value
                if sample.labels.get("status", "").startswith("5"):
                    entry[1] += sample.value
            elif sample.name == "recommender_request_seconds_sum":
                entry[2] += sample.value
            elif sample.name == "recommender_request_seconds_count":
                entry[3] += sample.value
            elif sample.name == "recommender_request_seconds_bucket":
                bound = float(sample.labels["le"])
                buckets.setdefault(route, []).append((bound, sample.value))
    rows = []
    for route, (n, errors, seconds, timed) in sorted(counts.items()):
        if n == 0:
            continue
        rows.append(RouteTraffic(route, int(n), int(errors),
                                 1000 * seconds / timed if timed else 0.0,
                                 _p95(buckets.get(route, []))))
    return rows


def _p95(buckets: list[tuple[float, float]]) -> float | None:
    merged: dict[float, float] = {}
    for bound, value in buckets:
        merged[bound] = merged.get(bound, 0.0) + value
    if not merged or merged.get(math.inf, 0.0) == 0:
        return None
    total = merged[math.inf]
    for bound in sorted(merged):
        if merged[bound] >= 0.95 * total:
            return None if math.isinf(bound) else bound * 1000
    return None


# --- learners -------------------------------------------------------------------------------

def search_learners(runtime: Runtime, text: str, limit: int = 50) -> list[str]:
    """Learner ids containing ``text`` (bundle learners, then those stored through the API)."""
    from recommender.store.tally import find_learners

    text = text.strip()
    found: list[str] = []
    served = runtime.served
    if text and served is not None:
        ids = served.bundle.learner_map.ids
        hits = [str(i) for i in ids if text in str(i)]
        found.extend(hits[:limit])
    if text and len(found) < limit:
        found.extend(i for i in find_learners(runtime.store, text, limit) if i not in found)
    return found[:limit]


@dataclass
class LearnerPage:
    learner_id: str
    profile: dict[str, object]
    hidden: list[str]
    events: list[dict[str, object]]
    trained_history: list[tuple[str, str, float]]
    items: list[Any]
    cold_start: str | None
    plan: Any
    plan_items: list[Any]
    why_not: Any = None
    version: str = ""
    ledger: Any = None  # CreditLedger, None when it cannot be had
    ledger_problem: str | None = None


def learner_page(runtime: Runtime, learner_id: str, *, why_not: str | None,
                 show_sensitive: bool) -> LearnerPage:
    context = runtime.learner_context(learner_id)
    core, view = context.core, context.view
    served = core.served
    stored = runtime.store.get_learner(learner_id)
    learner_idx = served.learner_idx(learner_id)
    if stored is not None:
        facts = dict(stored.profile)
    elif learner_idx is not None:
        row = served.bundle.learners.iloc[learner_idx].to_dict()
        facts = {k: v for k, v in row.items() if not _blank(v)}
    else:
        facts = {}
    facts.pop("learner_id", None)
    hidden = [name for name in SENSITIVE_FIELDS if name in facts]
    profile = {k: v for k, v in facts.items() if show_sensitive or k not in SENSITIVE_FIELDS}

    titles = dict(zip(map(str, served.resource_ids.tolist()), map(str, served.titles.tolist())))
    events = [{"when": datetime.fromtimestamp(e.ts_us / 1e6, UTC).strftime("%Y-%m-%d %H:%M"),
               "type": e.event_type, "resource_id": e.resource_id,
               "title": titles.get(e.resource_id, e.resource_id)}
              for e in reversed(runtime.store.learner_events(learner_id, limit=200))]
    trained: list[tuple[str, str, float]] = []
    if learner_idx is not None:
        idx, values = served.row("interactions", learner_idx)
        order = np.argsort(-values, kind="stable")[:20]
        trained = [(str(served.resource_ids[i]), str(served.titles[i]), float(values[o]))
                   for o, i in zip(order, idx[order])]
    now = _now()
    request = ListRequest.served(runtime.options.list_policy, k=LIST_K, now=now)
    delivered = core.deliver(view, request)  # the list the API serves this learner
    answer = core.why_not(view, request, why_not.strip()) if why_not and why_not.strip() \
        else None
    ledger, problem = None, None
    try:
        ledger = runtime.credit_ledger(learner_id, now.year, served)
    except RecommenderError as error:  # e.g. the store cannot be read now
        problem = type(error).__name__
    # the plan the API gives: credit hours already earned (the ledger) count
    planned = core.plan(view, PlanRequest(hours_per_week=3.0, weeks=4, now=now), ledger)
    return LearnerPage(learner_id, profile, [] if show_sensitive else hidden, events, trained,
                       delivered.items, delivered.cold_start, planned.plan, planned.picked,
                       answer, served.version, ledger, problem)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


# --- MLflow -----------------------------------------------------------------------------------

def mlflow_client(options: ConsoleOptions):
    from mlflow.tracking import MlflowClient

    if not options.tracking_uri:
        return None
    return MlflowClient(options.tracking_uri, registry_uri=options.tracking_uri)


def _artifact_csv(client, run_id: str, path: str) -> pd.DataFrame | None:
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory(prefix="console-") as target:
        try:
            local = client.download_artifacts(run_id, path, target)
        except (MlflowException, OSError):
            return None
        return pd.read_csv(local)


# --- equity -----------------------------------------------------------------------------------

def equity(runtime: Runtime, options: ConsoleOptions,
           metrics_dir: str | None = None) -> dict[str, Any]:
    served = runtime.require_served()
    manifest = served.bundle.manifest if isinstance(served.bundle.manifest, dict) else {}
    run_id = manifest.get("run_id")
    out: dict[str, Any] = {"run_id": run_id, "version": served.version, "breakdown": None,
                           "gaps": None}
    client = mlflow_client(options)
    if client is not None and run_id:
        breakdown = _artifact_csv(client, run_id, "groups/breakdown.csv")
        gaps = _artifact_csv(client, run_id, "groups/gaps.csv")
        if breakdown is not None:
            out["breakdown"] = breakdown[breakdown["attribute"].isin(EQUITY_ATTRIBUTES)]
        if gaps is not None:
            out["gaps"] = gaps[gaps["attribute"].isin(EQUITY_ATTRIBUTES)]
    core = runtime.core()
    ids = served.bundle.learner_map.ids
    step = max(1, len(ids) // EXPOSURE_SAMPLE)
    sample = [str(i) for i in ids[::step][:EXPOSURE_SAMPLE]]
    out["exposure"] = served_exposure(core, sample, ListRequest.served(
        runtime.options.list_policy, k=LIST_K, now=_now()))
    out["n_exposure_learners"] = len(sample)
    # what the API actually served, per learner group, with the gap flags (aggregates only)
    out["served"] = equity_figures(runtime.options.equity_gap_threshold,
                                   multiprocess_dir=metrics_dir)
    shares = {}
    for attribute in ("provider_type", "mode"):
        online = out["served"].exposure
        if online.empty:
            continue
        slots = online.groupby(attribute)["slots"].sum()
        catalog = {r.value: r.catalog_share for r in out["exposure"] if r.attribute == attribute}
        values = sorted(set(slots.index) | set(catalog))
        shares[attribute] = [(value, float(slots.get(value, 0.0) / slots.sum()),
                              float(catalog.get(value, 0.0))) for value in values]
    out["served_shares"] = shares
    return out


# --- catalog and demand -------------------------------------------------------------------------

def catalog_gaps(runtime: Runtime, days: int, threshold: float = DEFAULT_THRESHOLD,
                 ) -> dict[str, Any]:
    from recommender.store.tally import stored_profiles

    served = runtime.require_served()
    first_day = (datetime.now(UTC) - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    delivered = delivered_since(runtime.store, first_day)
    resources = served.bundle.resources
    open_now = served.catalog.mask(None, None, now=_now())
    never = [i for i in range(len(resources))
             if open_now[i] and str(served.resource_ids[i]) not in delivered]
    columns = [c for c in ("resource_id", "title", "category", "mode", "provider_type",
                           "region") if c in resources]
    never_rows = resources.iloc[never[:NEVER_SHOWN]][columns].fillna("").to_dict("records")

    learners = served.bundle.learners
    bundle_profiles = ((str(row["learner_id"]), row)
                       for row in learners.to_dict("records"))
    demands: list[StatedDemand] = profile_demands(bundle_profiles)
    demands += profile_demands(stored_profiles(runtime.store))
    demands += [StatedDemand(d.key.interests, d.key.group, d.key.region, d.key.languages,
                             d.key.accessibility_needs, d.count, "anonymous", "")
                for d in stated_demand(runtime.store)]
    gaps = demand_gaps(demands, served.catalog, interest_similarity(served), now=_now(),
                       threshold=threshold, titles=served.titles)
    return {"days": days, "threshold": threshold, "n_open": int(open_now.sum()),
            "n_never": len(never), "never": never_rows,
            "gaps": [g for g in gaps if g.n_unmet][:GAPS_SHOWN], "n_gap_rows": sum(
                1 for g in gaps if g.n_unmet),
            "n_stated": sum(g.n_stated for g in gaps),
            "n_unmet": sum(g.n_unmet for g in gaps)}


# --- models and experiments -----------------------------------------------------------------------

def models(options: ConsoleOptions) -> dict[str, Any]:
    from recommender.registry import RegistryError, list_versions

    client = mlflow_client(options)
    if client is None:
        return {"configured": False, "rows": [], "metrics": []}
    try:
        rows = list_versions(client, options.registered_model)
    except RegistryError:
        rows = []
    values: dict[str, dict[str, float]] = {}
    for row in rows:
        if row.run_id:
            metrics = client.get_run(row.run_id).data.metrics
            values[row.version] = {m: metrics[m] for m in COMPARED_METRICS if m in metrics}
    shown = [m for m in COMPARED_METRICS if any(m in v for v in values.values())]
    return {"configured": True, "rows": rows, "metrics": shown, "values": values,
            "name": options.registered_model, "alias": options.alias}


PLOT_DIRECTORY = "report/plots"


def experiments(options: ConsoleOptions, limit: int = 12) -> dict[str, Any]:
    client = mlflow_client(options)
    if client is None:
        return {"configured": False, "experiments": []}
    found = []
    for experiment in client.search_experiments(order_by=["last_update_time DESC"]):
        runs = client.search_runs([experiment.experiment_id], max_results=limit,
                                  order_by=["attributes.start_time DESC"])
        if not runs:
            continue
        rows = []
        for run in runs:
            plots = [Path(a.path).name for a in _list(client, run.info.run_id, PLOT_DIRECTORY)
                     if a.path.endswith((".png", ".svg"))]
            rows.append({"run_id": run.info.run_id, "name": run.info.run_name,
                         "status": run.info.status,
                         "metrics": {m: run.data.metrics[m] for m in COMPARED_METRICS
                                     if m in run.data.metrics},
                         "plots": plots})
        metrics = [m for m in COMPARED_METRICS if any(m in r["metrics"] for r in rows)]
        found.append({"name": experiment.name, "runs": rows, "metrics": metrics})
    return {"configured": True, "experiments": found}


def _list(client, run_id: str, path: str) -> Iterable[Any]:
    from mlflow.exceptions import MlflowException

    try:
        return client.list_artifacts(run_id, path)
    except (MlflowException, OSError):
        return []


def plot_file(options: ConsoleOptions, run_id: str, name: str) -> bytes | None:
    """A run's report plot (only files under ``report/plots`` with a plot's suffix)."""
    from mlflow.exceptions import MlflowException

    client = mlflow_client(options)
    if client is None or "/" in name or "\\" in name or not name.endswith((".png", ".svg")):
        return None
    with tempfile.TemporaryDirectory(prefix="console-plot-") as target:
        try:
            local = client.download_artifacts(run_id, f"{PLOT_DIRECTORY}/{name}", target)
        except (MlflowException, OSError):
            return None
        return Path(local).read_bytes()


def promote(options: ConsoleOptions, version: str, alias: str, force: bool):
    """:func:`recommender.registry.promote` (the worse-than-production guard included)."""
    from recommender.registry import promote as registry_promote

    client = mlflow_client(options)
    if client is None:
        raise RecommenderError("MLflow is not configured for the console")
    return registry_promote(client, options.registered_model, version, alias, force=force)
