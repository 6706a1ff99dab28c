"""Equal service, measured honestly: per-group accuracy with confidence intervals, the gap to
the best group, and the same gap within strata of history length.

A group can be served worse because the model fails it or because it left less history to
learn from. :func:`group_accuracy` answers both at once: each group's mean of one per-learner
metric (e.g. ndcg@10) with a percentile bootstrap CI (:func:`bootstrap_mean_ci`, the one
resampler), its absolute and relative gap to the best group of its attribute, first over all
learners (stratum ``all``) and then within each history stratum (``0``, ``1-4``, ``5-19``,
``20+`` training events). A gap that shrinks within strata is data volume; one that stays is
the model. :func:`equity_gaps` condenses it to one row per (attribute, stratum).
:func:`largest_gap` asks whether the largest of those gaps is more than sampling noise: its
bootstrap CI, the paired CI of its cut against another list, and the value it takes when group
labels are shuffled.

Groups are formed exactly as in :mod:`~recommender.evaluation.groups` (missing values are
``(missing)``, accessibility needs split into any/none and per need); groups with fewer than
``min_size`` learners keep their row, flagged ``too_small``, and are never best or worst.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.errors import InvalidParameterError
from recommender.evaluation.groups import (
    DEFAULT_ATTRIBUTES,
    aligned_learners,
    check_min_size,
    memberships,
)
from recommender.evaluation.significance import (
    bootstrap_mean_ci,
    bootstrap_means,
    percentile_interval,
)

ALL = "all"
# (label, fewest events, most events or None): the history-length strata of the issue.
HISTORY_STRATA: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0), ("1-4", 1, 4), ("5-19", 5, 19), ("20+", 20, None),
)
EQUITY_COLUMNS = [
    "attribute", "stratum", "value", "n_learners", "mean", "ci_low", "ci_high", "too_small",
    "best_value", "gap_to_best", "relative_gap_to_best",
]
GAP_COLUMNS = [
    "attribute", "stratum", "best_value", "worst_value", "best_mean", "worst_mean", "gap",
    "relative_gap", "n_groups",
]


def history_strata(n_events: np.ndarray) -> np.ndarray:
    """The stratum label of each learner's count of training events (``0``, ``1-4``, ...)."""
    n_events = np.asarray(n_events)
    if n_events.ndim != 1 or (len(n_events) and (np.min(n_events) < 0)):
        raise InvalidParameterError("n_events", n_events.shape, "a 1-D array of counts >= 0")
    labels = np.empty(len(n_events), dtype=object)
    for label, low, high in HISTORY_STRATA:
        labels[(n_events >= low) & ((n_events <= high) if high is not None else True)] = label
    return labels


def history_lengths(events: pd.DataFrame, learner_ids: Sequence[str]) -> np.ndarray:
    """Training events per learner in ``learner_ids`` order (0 for a learner without any)."""
    counts = events["learner_id"].astype(str).value_counts()
    return counts.reindex(pd.Index(list(map(str, learner_ids)))).fillna(0).to_numpy(np.int64)


def group_accuracy(
    values: np.ndarray,
    learners: pd.DataFrame,
    attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
    *,
    learner_ids: Sequence[str] | None = None,
    history: np.ndarray | None = None,
    min_size: int = 20,
    per_need: bool = True,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (attribute, stratum, group): mean of ``values`` with its bootstrap CI and
    the gap to the best eligible group of the same attribute and stratum.

    ``values`` is one per-learner metric (NaN = nothing to score, skipped), aligned with
    ``learners`` or picked by ``learner_ids`` as in :func:`~recommender.evaluation.groups.
    group_breakdown`. ``history`` (training events per learner, same alignment) adds one
    stratum per history-length band; without it only the ``all`` stratum is reported.
    ``relative_gap_to_best`` is ``gap_to_best / best mean`` (NaN when the best mean is 0).
    """
    check_min_size(min_size)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise InvalidParameterError("values", values.shape, "one value per learner (1-D)")
    frame = aligned_learners(learners, len(values), learner_ids)
    strata = [(ALL, np.ones(len(values), dtype=bool))]
    if history is not None:
        history = np.asarray(history)
        if history.shape != values.shape:
            raise InvalidParameterError("history", history.shape, f"one count per value {values.shape}")
        labels = history_strata(history)
        strata += [(label, labels == label) for label, _, _ in HISTORY_STRATA]
    rows = []
    for attribute, groups in memberships(frame, attributes, per_need):
        positions, members = groups.index.to_numpy(), groups.to_numpy()
        for stratum, in_stratum in strata:
            part = []
            for value in sorted(set(members)):
                picked = positions[members == value]
                picked = picked[in_stratum[picked]]
                scored = values[picked][np.isfinite(values[picked])]
                row = {"attribute": attribute, "stratum": stratum, "value": value,
                       "n_learners": len(scored), "mean": np.nan, "ci_low": np.nan,
                       "ci_high": np.nan, "too_small": len(scored) < min_size}
                if len(scored):
                    row["mean"] = float(scored.mean())
                    row["ci_low"], row["ci_high"] = bootstrap_mean_ci(
                        scored, n_resamples, confidence, seed)
                part.append(row)
            rows.extend(_with_gap_to_best(part))
    return pd.DataFrame(rows, columns=EQUITY_COLUMNS)


def _with_gap_to_best(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    eligible = [r for r in rows if not r["too_small"] and np.isfinite(r["mean"])]
    best = max(eligible, key=lambda r: r["mean"]) if len(eligible) >= 2 else None
    for row in rows:
        row["best_value"] = best["value"] if best else None
        gap = float(best["mean"]) - float(row["mean"]) if best else np.nan
        row["gap_to_best"] = gap
        row["relative_gap_to_best"] = gap / float(best["mean"]) if best and best["mean"] else np.nan
    return rows


def equity_gaps(table: pd.DataFrame) -> pd.DataFrame:
    """Per (attribute, stratum) of a :func:`group_accuracy` table: best and worst eligible
    group, the gap and the relative gap ``(best - worst) / best``; NaN with fewer than two."""
    rows = []
    for (attribute, stratum), part in table.groupby(["attribute", "stratum"], sort=False):
        eligible = part[~part["too_small"].astype(bool) & part["mean"].notna()]
        row: dict[str, object] = {
            "attribute": attribute, "stratum": stratum, "best_value": None, "worst_value": None,
            "best_mean": np.nan, "worst_mean": np.nan, "gap": np.nan, "relative_gap": np.nan,
            "n_groups": len(eligible),
        }
        if len(eligible) >= 2:
            best = eligible.loc[eligible["mean"].idxmax()]
            worst = eligible.loc[eligible["mean"].idxmin()]
            gap = float(best["mean"] - worst["mean"])
            row.update(best_value=best["value"], worst_value=worst["value"],
                       best_mean=float(best["mean"]), worst_mean=float(worst["mean"]), gap=gap,
                       relative_gap=gap / float(best["mean"]) if best["mean"] else np.nan)
        rows.append(row)
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


@dataclass(frozen=True)
class LargestGap:
    """The largest relative best-worst gap over attributes (as :func:`equity_gaps` reports it
    for the ``all`` stratum), per array of values, with what sampling noise makes of it.

    ``draws`` are bootstrap replicates (learners resampled within their group, the same draws
    for every array, so comparisons between arrays are paired); ``null_draws`` are the largest
    gap after shuffling each attribute's learners among its groups: what the statistic reads
    when groups do not differ at all. The largest of many pairwise gaps is biased upward by
    noise alone, and more so the smaller the groups; ``null_draws`` measures that floor.
    """

    observed: np.ndarray  # (m,)
    draws: np.ndarray  # (m, n_resamples)
    null_draws: np.ndarray  # (m, n_resamples)

    def interval(self, confidence: float = 0.95) -> np.ndarray:
        """(m, 2): the percentile bootstrap CI of each array's largest relative gap."""
        return np.array([percentile_interval(row, confidence) for row in self.draws])

    def noise(self, confidence: float = 0.95) -> np.ndarray:
        """(m, 2): the mean of the null draws and their ``confidence`` quantile (the largest
        gap that noise alone reaches that often)."""
        return np.column_stack([self.null_draws.mean(axis=1),
                                np.quantile(self.null_draws, confidence, axis=1)])

    def cut_interval(self, base: int = 0, confidence: float = 0.95) -> np.ndarray:
        """(m, 2): the paired CI of each array's cut of the gap against array ``base``,
        ``1 - gap / gap_base`` (a third's cut is 0.333)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            cuts = 1.0 - self.draws / self.draws[base]
        return np.array([percentile_interval(row, confidence) for row in cuts])


def largest_gap(
    values: np.ndarray,
    learners: pd.DataFrame,
    attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
    *,
    learner_ids: Sequence[str] | None = None,
    min_size: int = 20,
    per_need: bool = False,
    n_resamples: int = 1000,
    seed: int = 0,
) -> LargestGap:
    """The largest relative best-worst group gap of each row of ``values`` ((n,) or (m, n),
    one per-learner metric per row, the same learners), with its bootstrap distribution and the
    distribution it has under shuffled group labels (:class:`LargestGap`).

    Learners NaN in any row are left out of every row (pairing); groups and eligibility
    (``min_size`` scored learners) are as in :func:`group_accuracy`. Group means are
    resampled with :func:`~recommender.evaluation.significance.bootstrap_means`, each group on
    its own seed, so a group's size sets its own noise.
    """
    check_min_size(min_size)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or (
            n_resamples < 1):
        raise InvalidParameterError("n_resamples", n_resamples, "a positive integer")
    matrix = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if matrix.ndim != 2:
        raise InvalidParameterError("values", matrix.shape, "(n,) or (m, n): one value per learner")
    frame = aligned_learners(learners, matrix.shape[1], learner_ids)
    scored = np.isfinite(matrix).all(axis=0)
    m = len(matrix)
    observed = np.full(m, np.nan)
    draws = np.full((m, n_resamples), np.nan)
    null_draws = np.full((m, n_resamples), np.nan)
    rng = np.random.default_rng(seed)
    for number, (_, groups) in enumerate(memberships(frame, attributes, per_need)):
        positions, members = groups.index.to_numpy(), groups.to_numpy().astype(str)
        keep = scored[positions]
        positions, members = positions[keep], members[keep]
        labels, counts = np.unique(members, return_counts=True)
        eligible = labels[counts >= min_size]
        if len(eligible) < 2:
            continue
        picks = [positions[members == label] for label in eligible]
        means = np.stack([matrix[:, pick].mean(axis=1) for pick in picks], axis=-1)
        boot = np.stack([bootstrap_means(matrix[:, pick], n_resamples,
                                         seed + 7919 * (number + 1) + g)
                         for g, pick in enumerate(picks)], axis=-1)
        pooled = np.concatenate(picks)
        starts = np.cumsum([0, *map(len, picks[:-1])])
        sizes = np.array([len(pick) for pick in picks])
        null = np.empty((m, n_resamples, len(picks)))
        for draw in range(n_resamples):
            shuffled = matrix[:, rng.permutation(pooled)]
            null[:, draw, :] = np.add.reduceat(shuffled, starts, axis=1) / sizes
        observed = np.fmax(observed, _relative_gap(means))
        draws = np.fmax(draws, _relative_gap(boot))
        null_draws = np.fmax(null_draws, _relative_gap(null))
    return LargestGap(observed=observed, draws=draws, null_draws=null_draws)


def _relative_gap(means: np.ndarray) -> np.ndarray:
    """``(best - worst) / best`` over the last axis (group means); NaN when the best is 0."""
    best, worst = means.max(axis=-1), means.min(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(best > 0, (best - worst) / best, np.nan)
