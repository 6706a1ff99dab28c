"""Metrics broken down by learner group, and the gap between best and worst group.

The policy asks that rural, old and disabled learners be served as well as the urban young;
this module measures it. Per-learner metrics (``name -> array``, NaN where a learner has
nothing to score) are averaged per group (:func:`group_breakdown`); list-level metrics
(coverage, exposure) are computed on each group's lists as a whole
(:func:`group_list_breakdown`). Either way the learners frame's rows line up with the
learners, and both give the same tidy table, so :func:`group_gaps` reads either.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
import pandas as pd

from recommender.data.schema import LIST_SEPARATOR
from recommender.errors import InvalidParameterError, UnknownIdError

ACCESSIBILITY = "accessibility_needs"
PER_NEED = "accessibility_need"
HAS_NEED = "any_need"
NO_NEED = "no_need"
MISSING = "(missing)"
DEFAULT_ATTRIBUTES: tuple[str, ...] = ("group", "age_band", "urban_rural", ACCESSIBILITY)

BREAKDOWN_COLUMNS = ["attribute", "value", "metric", "mean", "n_learners", "too_small"]
GAP_COLUMNS = [
    "attribute", "metric", "best_value", "worst_value", "best_mean", "worst_mean",
    "gap", "ratio", "n_groups", "too_small_groups",
]


def aligned_learners(
    learners: pd.DataFrame, n: int, learner_ids: Sequence[str] | None
) -> pd.DataFrame:
    if learner_ids is not None:
        if len(learner_ids) != n:
            raise InvalidParameterError(
                "learner_ids", f"{len(learner_ids)} ids", f"{n} ids, one per metric value"
            )
        index = pd.Index(learners["learner_id"].to_numpy(dtype=object))
        position = index.get_indexer(pd.Index(list(learner_ids), dtype=object))
        if (position < 0).any():
            raise UnknownIdError("learner", list(learner_ids)[int(np.flatnonzero(position < 0)[0])])
        return learners.iloc[position].reset_index(drop=True)
    if len(learners) != n:
        raise InvalidParameterError(
            "learners", f"{len(learners)} rows", f"{n} rows aligned with the metric arrays"
        )
    return learners.reset_index(drop=True)


def _needs(cell: object) -> list[str]:
    """The needs in one cell: a "|"-joined string (or an already split list); empty = none."""
    if isinstance(cell, (list, tuple, np.ndarray)):
        items = [str(item) for item in cell]
    elif isinstance(cell, str):
        items = cell.split(LIST_SEPARATOR)
    else:  # None / NaN / pd.NA: no needs recorded
        items = []
    return [need.strip() for need in items if need.strip()]


def memberships(
    learners: pd.DataFrame, attributes: Sequence[str], per_need: bool
) -> list[tuple[str, pd.Series]]:
    """(attribute, label per learner) pairs; per-need labels repeat a learner once per need."""
    out: list[tuple[str, pd.Series]] = []
    for attribute in attributes:
        if attribute not in learners.columns:
            raise InvalidParameterError(
                "attributes", attribute, f"columns of the learners frame {list(learners.columns)}"
            )
        if attribute == ACCESSIBILITY:
            needs = learners[attribute].map(_needs)
            out.append((attribute, needs.map(lambda n: HAS_NEED if n else NO_NEED)))
            if per_need:
                out.append((PER_NEED, needs.explode().dropna()))
        else:
            labels = learners[attribute].astype(object)
            out.append((attribute, labels.where(labels.notna(), MISSING).map(str)))
    return out


def group_breakdown(
    per_learner: Mapping[str, np.ndarray],
    learners: pd.DataFrame,
    attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
    *,
    learner_ids: Sequence[str] | None = None,
    min_size: int = 20,
    per_need: bool = False,
) -> pd.DataFrame:
    """Tidy table: one row per (attribute, value, metric) with the mean and learner count.

    ``learners`` rows line up with the metric arrays, or are picked by ``learner_ids``.
    ``accessibility_needs`` (a "|"-joined list) is split into ``any_need`` / ``no_need``; with
    ``per_need`` an extra attribute ``accessibility_need`` has one (overlapping) group per need.
    A missing attribute value is its own group, ``(missing)``. ``n_learners`` counts learners
    with a value for that metric (NaN learners are skipped); groups with fewer than
    ``min_size`` of them keep their row with ``too_small=True`` so nothing vanishes silently.
    """
    check_min_size(min_size)
    if not per_learner:
        raise InvalidParameterError("per_learner", per_learner, "at least one metric array")
    arrays = {name: np.asarray(values, dtype=np.float64) for name, values in per_learner.items()}
    lengths = {name: len(values) for name, values in arrays.items()}
    n = next(iter(lengths.values()))
    for name, length in lengths.items():
        if length != n:
            raise InvalidParameterError(
                "per_learner", f"{name!r} has {length} values", f"{n} values like the others"
            )
    frame = aligned_learners(learners, n, learner_ids)
    metrics = pd.DataFrame(arrays)
    parts = []
    for attribute, labels in memberships(frame, attributes, per_need):
        joined = metrics.loc[labels.index].assign(value=labels.to_numpy())
        grouped = joined.groupby("value", sort=True)
        stats = grouped.agg(["mean", "count"])  # count skips NaN
        for name in arrays:
            part = stats[name].reset_index().rename(columns={"count": "n_learners"})
            part.insert(0, "attribute", attribute)
            part.insert(2, "metric", name)
            parts.append(part)
    if not parts:
        return pd.DataFrame(columns=BREAKDOWN_COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    table["n_learners"] = table["n_learners"].astype(np.int64)
    table["too_small"] = table["n_learners"] < min_size
    return table[BREAKDOWN_COLUMNS]


def check_min_size(min_size: object) -> None:
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise InvalidParameterError("min_size", min_size, "a positive integer")


def group_list_breakdown(
    recommended: np.ndarray,
    list_metrics: Callable[[np.ndarray], Mapping[str, float]],
    learners: pd.DataFrame,
    attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
    *,
    learner_ids: Sequence[str] | None = None,
    min_size: int = 20,
    per_need: bool = False,
) -> pd.DataFrame:
    """Like :func:`group_breakdown`, for metrics of a set of lists rather than of one list.

    ``recommended`` rows (one list per learner) line up with the learners as in
    :func:`group_breakdown`; ``list_metrics`` maps the rows of one group's lists to named
    values (e.g. catalog coverage and exposure shares of those lists). The ``mean`` column
    holds that group value and ``n_learners`` the group's size; groups are formed exactly as in
    :func:`group_breakdown`. Metrics of a set of lists (coverage above all) grow with the
    set's size, so compare groups of similar size or read them with their ``n_learners``.
    """
    check_min_size(min_size)
    recommended = np.asarray(recommended)
    if recommended.ndim != 2:
        raise InvalidParameterError(
            "recommended", f"array of shape {recommended.shape}", "a 2-D array (learners x ranks)"
        )
    frame = aligned_learners(learners, len(recommended), learner_ids)
    rows = []
    for attribute, labels in memberships(frame, attributes, per_need):
        positions, values = labels.index.to_numpy(), labels.to_numpy()
        for value in sorted(set(values)):
            picked = positions[values == value]
            for name, result in list_metrics(recommended[picked]).items():
                rows.append({"attribute": attribute, "value": value, "metric": name,
                             "mean": float(result), "n_learners": len(picked)})
    table = pd.DataFrame(rows, columns=BREAKDOWN_COLUMNS[:-1])
    table["n_learners"] = table["n_learners"].astype(np.int64)
    table["too_small"] = table["n_learners"] < min_size
    return table[BREAKDOWN_COLUMNS]


def group_gaps(breakdown: pd.DataFrame, lower_is_better: Collection[str] = ()) -> pd.DataFrame:
    """Per (attribute, metric): the best and worst group, gap = |best - worst|, ratio = worst/best.

    Higher is taken to be better (true of every accuracy metric, novelty, diversity and
    coverage) except for the metrics named in ``lower_is_better`` (e.g. popularity bias), whose
    best group has the lowest mean; the gap is never negative. For a share without a better
    direction (exposure) "best" simply names the group with the highest value and the gap is the
    spread. Groups flagged ``too_small`` are left out of best and worst but listed in
    ``too_small_groups`` as ``value (n=...)``; with fewer than two eligible groups the gap is
    NaN. ``ratio`` is NaN when best is 0.
    """
    lower = set(lower_is_better)
    rows = []
    for (attribute, metric), part in breakdown.groupby(["attribute", "metric"], sort=False):
        eligible = part[~part["too_small"] & part["mean"].notna()]
        small = part[part["too_small"]]
        too_small = ", ".join(f"{v} (n={n})" for v, n in zip(small["value"], small["n_learners"]))
        row: dict[str, object] = {
            "attribute": attribute, "metric": metric, "best_value": None, "worst_value": None,
            "best_mean": np.nan, "worst_mean": np.nan, "gap": np.nan, "ratio": np.nan,
            "n_groups": len(eligible), "too_small_groups": too_small,
        }
        if len(eligible) >= 2:
            high = eligible.loc[eligible["mean"].idxmax()]
            low = eligible.loc[eligible["mean"].idxmin()]
            best, worst = (low, high) if metric in lower else (high, low)
            row.update(
                best_value=best["value"], worst_value=worst["value"],
                best_mean=float(best["mean"]), worst_mean=float(worst["mean"]),
                gap=float(high["mean"] - low["mean"]),
                ratio=float(worst["mean"] / best["mean"]) if best["mean"] != 0 else np.nan,
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


def group_report(
    per_learner: Mapping[str, np.ndarray],
    learners: pd.DataFrame,
    attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
    *,
    learner_ids: Sequence[str] | None = None,
    min_size: int = 20,
    per_need: bool = False,
    lower_is_better: Collection[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both tables at once: ``(group_breakdown(...), group_gaps(breakdown, lower_is_better))``."""
    breakdown = group_breakdown(
        per_learner, learners, attributes,
        learner_ids=learner_ids, min_size=min_size, per_need=per_need,
    )
    return breakdown, group_gaps(breakdown, lower_is_better)
