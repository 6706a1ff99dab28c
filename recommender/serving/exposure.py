"""Watching what is served: aggregate exposure by provider type and mode, and per learner group
the share of slots going to local resources beside their share of what those learners can reach.

Every delivery list the API answers is counted (:func:`record_exposure`) in Prometheus counters
(:mod:`recommender.serving.metrics`), so ``/metrics`` and any scraper see them over time, and
every worker's counts add up in multiprocess mode. Nothing personal is kept: a learner group is
one label of a fixed vocabulary (:data:`GROUP_LABELS`, else ``other``), never an id, a region or
a need, and nothing reaches a log. :func:`equity_figures` reads the counters back as tables and
flags a group whose local exposure falls short of its reachable share by more than the gap
threshold (``RECOMMENDER_EQUITY_GAP_THRESHOLD``), or a spread between groups above it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

from recommender.checks import check_number
from recommender.data.schema import LEARNER_GROUPS, MODES, PROVIDER_TYPES
from recommender.delivery.core import DeliveryCore, DeliveryList
from recommender.delivery.learner import LearnerView
from recommender.features.catalog import CatalogArrays
from recommender.serving import metrics

# The group labels counted as themselves (the policy's groups and the OULAD loader's);
# anything else is "other", a learner without a group "unknown".
GROUP_LABELS: frozenset[str] = frozenset({*LEARNER_GROUPS, "adult_learner"})
OTHER, UNKNOWN = "other", "unknown"
MIN_LISTS = 20  # groups with fewer lists are shown, never flagged


def group_label(group: str | None) -> str:
    """The bounded label a learner group is counted under."""
    if not group:
        return UNKNOWN
    return group if group in GROUP_LABELS else OTHER


def _names(catalog: CatalogArrays, column: str, rows: np.ndarray, known: Sequence[str]) -> list[str]:
    names = getattr(catalog, column).names[getattr(catalog, column).codes[rows]]
    return [name if name in known else OTHER for name in names]


def record_exposure(core: DeliveryCore, view: LearnerView, delivered: DeliveryList) -> None:
    """Count one served list: its slots by provider type, mode and locality, and its learner
    group's lists, slots, local slots and reachable local share (all known to the list:
    counting recomputes nothing of it)."""
    group = group_label(view.group)
    metrics.GROUP_LISTS.labels(group).inc()
    if delivered.reachable_local_share is not None:
        metrics.GROUP_REACHABLE_LOCAL.labels(group).inc(delivered.reachable_local_share)
    idx, local = delivered.served_idx, delivered.local
    if not len(idx):
        return
    n_main = core.served.n_resources
    labels: list[tuple[str, str]] = []
    for catalog, rows in ((core.served.catalog, idx[idx < n_main]),
                          (core.overlay.catalog, idx[idx >= n_main] - n_main)):
        if catalog is not None and len(rows):
            labels += zip(_names(catalog, "provider_type", rows, PROVIDER_TYPES),
                          _names(catalog, "mode", rows, MODES))
    order = np.r_[np.flatnonzero(idx < n_main), np.flatnonzero(idx >= n_main)]
    slots = Counter((provider_type, mode, "true" if is_local else "false")
                    for (provider_type, mode), is_local in zip(labels, local[order].tolist()))
    for (provider_type, mode, is_local), n in slots.items():  # one update per kind of slot
        metrics.SERVED_SLOTS.labels(provider_type, mode, is_local).inc(n)
    metrics.GROUP_SLOTS.labels(group).inc(len(idx))
    metrics.GROUP_LOCAL_SLOTS.labels(group).inc(int(np.count_nonzero(local)))


@dataclass(frozen=True)
class EquityFigures:
    """The served lists so far: ``groups`` one row per learner group (lists, slots, local share
    of slots, reachable local share, their ratio, flagged), ``exposure`` slots by provider type
    and mode, and ``flags`` one sentence per flag."""

    groups: pd.DataFrame
    exposure: pd.DataFrame
    flags: list[str]
    gap_threshold: float


def _samples(registry: CollectorRegistry) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def equity_figures(
    gap_threshold: float = 0.2,
    *,
    registry: CollectorRegistry | None = None,
    multiprocess_dir: str | None = None,
    min_lists: int = MIN_LISTS,
) -> EquityFigures:
    """The served-exposure figures now (this process's counters, every worker's with
    ``multiprocess_dir``) and the flags at ``gap_threshold`` (a relative shortfall)."""
    gap_threshold = check_number("gap_threshold", gap_threshold, 0.0, 1.0)
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
    samples = _samples(registry or REGISTRY)

    def per_group(name: str) -> dict[str, float]:
        totals: dict[str, float] = {}
        for labels, value in samples.get(name, []):
            totals[labels["learner_group"]] = totals.get(labels["learner_group"], 0.0) + value
        return totals

    lists = per_group("recommender_group_lists_total")
    slots = per_group("recommender_group_slots_total")
    local = per_group("recommender_group_local_slots_total")
    reach = per_group("recommender_group_reachable_local_share_total")
    rows = []
    for group in sorted(lists):
        n_lists, n_slots = lists[group], slots.get(group, 0.0)
        local_share = local.get(group, 0.0) / n_slots if n_slots else np.nan
        reachable = reach.get(group, 0.0) / n_lists if n_lists else np.nan
        ratio = local_share / reachable if reachable and np.isfinite(local_share) else np.nan
        rows.append({"learner_group": group, "lists": int(n_lists), "slots": int(n_slots),
                     "local_share": local_share, "reachable_local_share": reachable,
                     "exposure_ratio": ratio})
    groups = pd.DataFrame(rows, columns=["learner_group", "lists", "slots", "local_share",
                                         "reachable_local_share", "exposure_ratio"])
    flags: list[str] = []
    watched = groups[(groups["lists"] >= min_lists) & groups["exposure_ratio"].notna()]
    short = watched["exposure_ratio"] < 1.0 - gap_threshold
    for row in watched[short].itertuples(index=False):
        flags.append(f"{row.learner_group}: local resources hold {row.local_share:.1%} of the "
                     f"slots against {row.reachable_local_share:.1%} of what these learners can "
                     f"reach (ratio {row.exposure_ratio:.2f} < {1 - gap_threshold:.2f})")
    if len(watched) >= 2:
        spread = float(watched["exposure_ratio"].max() - watched["exposure_ratio"].min())
        if spread > gap_threshold:
            best = watched.loc[watched["exposure_ratio"].idxmax(), "learner_group"]
            worst = watched.loc[watched["exposure_ratio"].idxmin(), "learner_group"]
            flags.append(f"local exposure ratio spread {spread:.2f} between {best} and {worst} "
                         f"is above the threshold {gap_threshold:.2f}")
    groups["flagged"] = groups["learner_group"].isin(watched[short]["learner_group"])
    exposure = pd.DataFrame(
        [{**labels, "slots": value} for labels, value in samples.get("recommender_served_slots_total", [])],
        columns=["provider_type", "mode", "local", "slots"])
    if not exposure.empty:
        exposure = exposure.groupby(["provider_type", "mode", "local"], as_index=False)["slots"].sum()
        exposure["share"] = exposure["slots"] / exposure["slots"].sum()
    return EquityFigures(groups=groups, exposure=exposure, flags=flags, gap_threshold=gap_threshold)
