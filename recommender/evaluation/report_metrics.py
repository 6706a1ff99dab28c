"""Everything an operator report needs for one model on one split, from the library's metrics.

:func:`evaluate` (``recommender.evaluation.evaluate``) answers "how accurate, on average?". A
report also needs the per-learner values (for group breakdowns and paired significance), the
candidate lists themselves (for coverage, novelty, diversity, popularity bias and exposure) and
the test learners' ids. The lists come from the caller: the delivery core's, so a report
scores what the API would serve. It defines no metric; every number comes from
:mod:`~recommender.evaluation.metrics`, :mod:`~recommender.evaluation.beyond_accuracy`,
:mod:`~recommender.evaluation.groups` or :mod:`~recommender.evaluation.significance`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.features.catalog import CatalogArrays, RequestFilters
from recommender.errors import InvalidParameterError
from recommender.evaluation.beyond_accuracy import (
    attribute_by_index,
    catalog_coverage,
    category_diversity_at_k,
    exposure_share,
    novelty_at_k,
    popularity_bias_at_k,
    vector_diversity_at_k,
)
from recommender.evaluation.equity import equity_gaps, group_accuracy, history_lengths
from recommender.evaluation.evaluate import TestSet
from recommender.evaluation.groups import (
    DEFAULT_ATTRIBUTES,
    group_breakdown,
    group_gaps,
    group_list_breakdown,
)
from recommender.checks import check_k
from recommender.evaluation.metrics import METRICS, metrics_at_k
from recommender.evaluation.significance import paired_comparison
from recommender.features import ContentEncoder, FeatureSet

ACCURACY_METRICS: tuple[str, ...] = tuple(METRICS)
BEYOND_ACCURACY_METRICS: tuple[str, ...] = (
    "coverage", "novelty", "category_diversity", "vector_diversity", "popularity_bias",
)
# Beyond-accuracy metrics with a value per learner (coverage and exposure are of a set of lists).
PER_LEARNER_BEYOND_METRICS: tuple[str, ...] = (
    "novelty", "category_diversity", "vector_diversity", "popularity_bias",
)
# The one metric where a lower group mean serves the group better.
LOWER_IS_BETTER: tuple[str, ...] = ("popularity_bias",)
Candidates = Literal["all", "open", "active", "cold"]


def candidate_exclusions(
    train: FeatureSet,
    candidates: Candidates,
    *,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    active_days: float = 28.0,
) -> np.ndarray | None:
    """Resource indices dropped for every learner (``None`` = the whole catalog is a candidate).

    ``"open"``: keep resources whose availability (``available_from`` .. ``available_until``,
    empty = always) overlaps the test ``window``; ``"active"``: keep resources with a training
    event in the last ``active_days`` before ``window[0]`` (a retired course's pages are not
    offered); ``"cold"``: keep only resources without any training interaction (the held-out
    resources of a cold-resource split). Per-learner exclusions (completed, dismissed) apply on
    top, as in serving.
    """
    if candidates == "all":
        return None
    if candidates == "cold":
        seen = np.asarray((sp.csr_matrix(train.interactions) != 0).sum(axis=0)).ravel() > 0
        keep = ~seen
    elif candidates in ("open", "active"):
        if window is None:
            raise InvalidParameterError("window", window, f"a (start, end) test window for {candidates!r}")
        start, end = window
        if candidates == "open":
            # the serving availability rule, so evaluation offers what the API would
            catalog = CatalogArrays.build(train.resources)
            keep = catalog.mask(RequestFilters(open_between=(start, end)), now=None)
        else:
            keep = _active_before(train, start, active_days)
    else:
        raise InvalidParameterError("candidates", candidates, "'all', 'open', 'active' or 'cold'")
    if not keep.any():
        raise InvalidParameterError("candidates", candidates, "a rule that leaves at least one resource")
    return np.flatnonzero(~keep).astype(np.int64) if not keep.all() else None


def _active_before(train: FeatureSet, start: pd.Timestamp, days: float) -> np.ndarray:
    events = train.events
    recent = events[events["timestamp"] >= start - pd.Timedelta(days=days)]
    idx = train.resource_map.indices_of(recent["resource_id"], strict=False)
    keep = np.zeros(len(train.resource_map), dtype=bool)
    keep[idx[idx >= 0]] = True
    return keep


def content_vectors(resources: pd.DataFrame, n_components: int = 128) -> np.ndarray:
    """One content vector per resource row (text + categorical fields), a shared yardstick for
    vector diversity so every model's lists are judged in the same space."""
    return ContentEncoder(n_components=n_components).fit(resources).transform(resources)


@dataclass(frozen=True)
class ModelReport:
    """One model's lists and every metric on one test set.

    ``per_learner`` holds per-learner arrays aligned with ``learner_ids`` (accuracy and
    per-learner beyond-accuracy metrics at every k); ``summary`` their means plus coverage and
    counts; ``exposure`` the share of top-``main_k`` slots per attribute value; ``groups`` and
    ``gaps`` the breakdown by learner group of every metric at ``main_k``: the per-learner ones
    (accuracy, novelty, diversity, popularity bias) as group means, and the list-level ones
    computed on each group's lists (``coverage_at_k``; ``exposure_at_k.<attribute>.<value>``,
    the share of the group's slots going to that value). ``equity`` holds the equity metric
    (ndcg at ``main_k`` unless asked otherwise) per group with bootstrap CIs and the gap to the
    best group, over all learners and within history-length strata
    (:func:`~recommender.evaluation.equity.group_accuracy`); ``equity_gaps`` its best-worst
    gap per (attribute, stratum).
    """

    learner_ids: np.ndarray
    recommended: np.ndarray
    per_learner: dict[str, np.ndarray]
    summary: dict[str, float]
    exposure: pd.DataFrame
    groups: pd.DataFrame
    gaps: pd.DataFrame
    main_k: int
    equity: pd.DataFrame = field(default_factory=pd.DataFrame)
    equity_gaps: pd.DataFrame = field(default_factory=pd.DataFrame)


def report_metrics(
    recommended: np.ndarray,
    train: FeatureSet,
    test: TestSet,
    k_values: Sequence[int] = (5, 10, 20),
    *,
    resource_vectors: np.ndarray,
    main_k: int = 10,
    exclude_resources: np.ndarray | None = None,
    category_column: str = "category",
    exposure_columns: Sequence[str] = ("provider_type", "mode"),
    group_attributes: Sequence[str] = DEFAULT_ATTRIBUTES,
    min_group_size: int = 20,
    equity_metric: str = "ndcg",
    equity_resamples: int = 1000,
    seed: int = 0,
) -> ModelReport:
    """Accuracy at every k, beyond-accuracy, exposure and group breakdowns for one model's
    lists.

    ``recommended`` holds the test learners' lists (rows aligned with ``test.learner_idx``, at
    least ``max(k_values)`` wide): the delivery core's, as the API would serve them
    (:func:`recommender.delivery.batch.delivered_matrix`). ``resource_vectors`` (e.g.
    :func:`content_vectors`, or the model's own) define intra-list vector diversity;
    ``exclude_resources`` is what the candidate rule left out, for the candidate count;
    ``equity_metric`` at ``main_k`` is broken down by group with ``equity_resamples`` bootstrap
    draws (seeded), within history strata of training events. Raises when the test set has no
    learner to score.
    """
    k_values = sorted({check_k(k) for k in k_values})
    main_k = check_k(main_k)
    if main_k not in k_values:
        raise InvalidParameterError("main_k", main_k, f"one of k_values {k_values}")
    if len(test.learner_idx) == 0:
        raise InvalidParameterError("test", "a test set without learners", "at least one test learner")
    recommended = np.asarray(recommended, dtype=np.int64)
    if recommended.ndim != 2 or recommended.shape[0] != len(test.learner_idx) or (
            recommended.shape[1] < max(k_values)):
        raise InvalidParameterError(
            "recommended", recommended.shape,
            f"({len(test.learner_idx)}, >= {max(k_values)}): one list per test learner")
    per_learner = {name: np.asarray(v) for name, v in metrics_at_k(recommended, test.relevant, k_values).items()}
    categories = attribute_by_index(train.resources, train.resource_map, category_column)
    vectors = resource_vectors
    for k in k_values:
        per_learner[f"novelty_at_{k}"] = novelty_at_k(recommended, train.interactions, k)
        per_learner[f"category_diversity_at_{k}"] = category_diversity_at_k(recommended, categories, k)
        per_learner[f"vector_diversity_at_{k}"] = vector_diversity_at_k(recommended, vectors, k)
        per_learner[f"popularity_bias_at_{k}"] = popularity_bias_at_k(recommended, train.interactions, k)
    summary = {name: _mean(values) for name, values in per_learner.items()}
    for k in k_values:
        summary[f"coverage_at_{k}"] = catalog_coverage(recommended, len(train.resource_map), k)
    summary["n_test_learners"] = float(len(test.learner_idx))
    summary["n_cold_test_learners"] = float(test.n_cold_learners)
    n_excluded = 0 if exclude_resources is None else len(np.unique(exclude_resources))
    summary["n_candidates"] = float(len(train.resource_map) - n_excluded)

    exposure_attributes = {
        column: attribute_by_index(train.resources, train.resource_map, column)
        for column in exposure_columns if column in train.resources.columns
    }
    attributes = [a for a in group_attributes if a in train.learners.columns]
    groups = _group_table(
        recommended, per_learner, train, test, exposure_attributes, main_k, attributes,
        min_group_size,
    )
    key = f"{equity_metric}_at_{main_k}"
    if key not in per_learner:
        raise InvalidParameterError("equity_metric", equity_metric, f"one of {list(METRICS)}")
    equity = group_accuracy(
        per_learner[key], train.learners, attributes, learner_ids=list(test.learner_ids),
        history=history_lengths(train.events, test.learner_ids), min_size=min_group_size,
        n_resamples=equity_resamples, seed=seed,
    )
    return ModelReport(
        learner_ids=test.learner_ids,
        recommended=recommended,
        per_learner=per_learner,
        summary=summary,
        exposure=_exposure_table(recommended, train, exposure_attributes, main_k),
        groups=groups,
        gaps=group_gaps(groups, lower_is_better=[f"{name}_at_{main_k}" for name in LOWER_IS_BETTER]),
        main_k=main_k,
        equity=equity.assign(metric=key),
        equity_gaps=equity_gaps(equity).assign(metric=key),
    )


def _group_table(
    recommended: np.ndarray,
    per_learner: Mapping[str, np.ndarray],
    train: FeatureSet,
    test: TestSet,
    exposure_attributes: Mapping[str, np.ndarray],
    k: int,
    attributes: Sequence[str],
    min_size: int,
) -> pd.DataFrame:
    """Every metric at ``k`` by learner group: per-learner means, then the group lists' values."""
    n_resources = len(train.resource_map)

    def list_metrics(rows: np.ndarray) -> dict[str, float]:
        values = {f"coverage_at_{k}": catalog_coverage(rows, n_resources, k)}
        for column, attribute in exposure_attributes.items():
            for value, share in exposure_share(rows, attribute, k).items():
                values[f"exposure_at_{k}.{column}.{_label(value)}"] = share
        return values

    names = (*ACCURACY_METRICS, *PER_LEARNER_BEYOND_METRICS)
    options = {"learner_ids": list(test.learner_ids), "min_size": min_size, "per_need": True}
    means = group_breakdown(
        {f"{name}_at_{k}": per_learner[f"{name}_at_{k}"] for name in names},
        train.learners, attributes, **options,
    )
    lists = group_list_breakdown(recommended, list_metrics, train.learners, attributes, **options)
    return pd.concat([means, lists], ignore_index=True)


def _label(value: object) -> str:
    return "(missing)" if value is None else str(value)


def _mean(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _exposure_table(
    recommended: np.ndarray, train: FeatureSet, attributes: Mapping[str, np.ndarray], k: int
) -> pd.DataFrame:
    """Tidy (attribute, value, share, share_rank_discounted) rows; catalog_share for reference."""
    rows = []
    for column, attribute in attributes.items():
        plain = exposure_share(recommended, attribute, k)
        discounted = exposure_share(recommended, attribute, k, discount="log2")
        catalog = pd.Series(attribute, dtype=object).value_counts(normalize=True, dropna=False)
        catalog.index = [None if pd.isna(v) else v for v in catalog.index]
        for value in plain:
            rows.append({
                "attribute": column, "value": _label(value),
                "share": plain[value], "share_rank_discounted": discounted[value],
                "catalog_share": float(catalog.get(value, 0.0)),
            })
    return pd.DataFrame(rows, columns=["attribute", "value", "share", "share_rank_discounted", "catalog_share"])


def compare_to_baseline(
    baseline: ModelReport,
    candidate: ModelReport,
    metrics: Sequence[str],
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    test: Literal["wilcoxon", "ttest_rel"] = "wilcoxon",
    seed: int = 0,
) -> pd.DataFrame:
    """Paired comparison (candidate - baseline) per metric over the same test learners.

    ``metrics`` are per-learner keys such as ``"ndcg_at_10"``; one row per metric with every
    field of :class:`~recommender.evaluation.significance.PairedComparison`.
    """
    if not np.array_equal(baseline.learner_ids, candidate.learner_ids):
        raise InvalidParameterError(
            "candidate", "a report on other test learners", "reports on the same test set"
        )
    rows = []
    for metric in metrics:
        if metric not in baseline.per_learner:
            raise InvalidParameterError("metrics", metric, f"one of {sorted(baseline.per_learner)}")
        result = paired_comparison(
            baseline.per_learner[metric], candidate.per_learner[metric],
            n_resamples=n_resamples, confidence=confidence, seed=seed, test=test,
        )
        rows.append({"metric": metric, **{f.name: getattr(result, f.name) for f in fields(result)}})
    return pd.DataFrame(rows)


def summary_table(reports: Mapping[str, ModelReport]) -> pd.DataFrame:
    """Models (rows, in the given order) x summary metrics (columns)."""
    return pd.DataFrame({label: report.summary for label, report in reports.items()}).T
