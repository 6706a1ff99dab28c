"""Is model B really better than model A? A paired comparison over the same learners.

Both models are scored on the same split, so each learner gives one paired difference; pairing
removes the (large) learner-to-learner variation that an unpaired comparison would drown in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from recommender.errors import InvalidParameterError

# Bootstrap index draws held in memory at once (int64): bounds memory at ~32 MB.
_MAX_DRAWS_PER_CHUNK = 4_000_000


@dataclass(frozen=True)
class PairedComparison:
    """Result of :func:`paired_comparison`; ``difference`` always means candidate - baseline."""

    n_learners: int  # learners with a value in both models
    n_dropped: int  # learners NaN in either model (no test items), left out pairwise
    mean_baseline: float
    mean_candidate: float
    mean_difference: float
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float
    test: str  # "wilcoxon" (signed-rank) or "ttest_rel" (paired t-test)
    n_resamples: int
    seed: int
    significant: bool  # the bootstrap CI excludes 0


def _check_arrays(baseline: np.ndarray, candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    baseline = np.asarray(baseline, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    if baseline.ndim != 1:
        raise InvalidParameterError("baseline", f"shape {baseline.shape}", "a 1-D array")
    if candidate.shape != baseline.shape:
        raise InvalidParameterError(
            "candidate", f"shape {candidate.shape}",
            f"shape {baseline.shape}: one value per learner, aligned with baseline",
        )
    return baseline, candidate


def bootstrap_means(values: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """The means of ``n_resamples`` bootstrap resamples of the last axis of ``values``.

    ``values`` of shape ``(n,)`` gives ``(n_resamples,)``; ``(m, n)`` (m arrays over the same n
    learners) gives ``(m, n_resamples)``, every row resampled with the same learner draws, so
    statistics comparing the rows stay paired. Vectorised in chunks of resamples; costs
    O(n_resamples * m * n). Deterministic per seed.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[-1]
    rng = np.random.default_rng(seed)
    means = np.empty((*values.shape[:-1], n_resamples))
    rows = values.size // n if n else 1  # arrays resampled together
    chunk = max(1, _MAX_DRAWS_PER_CHUNK // max(n * rows, 1))
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(size, n))
        means[..., start : start + size] = values[..., idx].mean(axis=-1)
    return means


def bootstrap_mean_ci(
    values: np.ndarray, n_resamples: int, confidence: float, seed: int
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (resampling learners with replacement).

    Vectorised in chunks of resamples; costs O(n_resamples * n_values). Deterministic per seed.
    """
    means = bootstrap_means(np.asarray(values, dtype=np.float64).ravel(), n_resamples, seed)
    return percentile_interval(means, confidence)


def percentile_interval(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    """The central ``confidence`` interval of bootstrap ``draws`` (NaN draws left out)."""
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.nanpercentile(draws, [tail, 100.0 - tail])
    return float(low), float(high)


def _p_value(baseline: np.ndarray, candidate: np.ndarray, test: str) -> float:
    differences = candidate - baseline
    if not np.any(differences != 0):
        return 1.0  # identical on every learner: no evidence of any difference
    if test == "wilcoxon":
        # zero_method="wilcox": learners scored identically say nothing about direction.
        return float(stats.wilcoxon(differences, zero_method="wilcox").pvalue)
    if np.all(differences == differences[0]):
        return 0.0  # a constant non-zero shift: t is infinite
    return float(stats.ttest_rel(candidate, baseline).pvalue)


def paired_comparison(
    baseline: np.ndarray,
    candidate: np.ndarray,
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    test: Literal["wilcoxon", "ttest_rel"] = "wilcoxon",
) -> PairedComparison:
    """Compare two models' per-learner metric arrays (same learners, same order).

    Learners NaN in either array (no test items) are dropped pairwise. Reports the mean
    difference (candidate - baseline), a percentile paired-bootstrap CI of it, and a p-value
    from the Wilcoxon signed-rank test (default: per-learner ranking metrics are far from
    normal, with many zeros) or the paired t-test (``ttest_rel``). ``significant`` is decided
    by the CI alone: it excludes 0.
    """
    baseline, candidate = _check_arrays(baseline, candidate)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or (
        n_resamples < 1
    ):
        raise InvalidParameterError("n_resamples", n_resamples, "a positive integer")
    if not 0.0 < confidence < 1.0:
        raise InvalidParameterError("confidence", confidence, "a number strictly between 0 and 1")
    if test not in ("wilcoxon", "ttest_rel"):
        raise InvalidParameterError("test", test, "'wilcoxon' or 'ttest_rel'")
    keep = ~(np.isnan(baseline) | np.isnan(candidate))
    n = int(keep.sum())
    if n < 2:
        raise InvalidParameterError(
            "baseline", f"{n} learner(s) with values in both models", "at least 2"
        )
    baseline, candidate = baseline[keep], candidate[keep]
    differences = candidate - baseline
    ci_low, ci_high = bootstrap_mean_ci(differences, int(n_resamples), confidence, seed)
    return PairedComparison(
        n_learners=n,
        n_dropped=int((~keep).sum()),
        mean_baseline=float(baseline.mean()),
        mean_candidate=float(candidate.mean()),
        mean_difference=float(differences.mean()),
        ci_low=ci_low,
        ci_high=ci_high,
        confidence=confidence,
        p_value=_p_value(baseline, candidate, test),
        test=test,
        n_resamples=int(n_resamples),
        seed=seed,
        significant=bool(ci_low > 0.0 or ci_high < 0.0),
    )
