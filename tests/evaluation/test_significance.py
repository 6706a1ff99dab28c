"""Paired comparison: identical models, a clearly better model, determinism, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.errors import InvalidParameterError
from recommender.evaluation.significance import PairedComparison, paired_comparison


def _scores(n: int = 400, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random(n)


def test_identical_models_are_not_significant() -> None:
    a = _scores()
    result = paired_comparison(a, a.copy())
    assert result.mean_difference == 0.0
    assert result.ci_low <= 0.0 <= result.ci_high
    assert not result.significant and result.p_value == 1.0


@pytest.mark.parametrize("test", ["wilcoxon", "ttest_rel"])
def test_zero_mean_noise_is_not_significant(test: str) -> None:
    a = _scores()
    noise = np.random.default_rng(2).normal(0, 0.05, 200)
    b = a + np.concatenate([noise, -noise])  # mean difference exactly 0
    result = paired_comparison(a, b, test=test)  # type: ignore[arg-type]
    assert result.mean_difference == pytest.approx(0.0, abs=1e-12)
    assert result.ci_low < 0.0 < result.ci_high and not result.significant
    assert result.p_value > 0.05


@pytest.mark.parametrize("test", ["wilcoxon", "ttest_rel"])
def test_clearly_better_model_is_significant(test: str) -> None:
    a = _scores()
    b = a + 0.1 + np.random.default_rng(3).normal(0, 0.02, len(a))
    result = paired_comparison(a, b, test=test)  # type: ignore[arg-type]
    assert result.significant and result.ci_low > 0.05 and result.p_value < 1e-6
    assert result.mean_difference == pytest.approx(b.mean() - a.mean())
    assert result.test == test
    # the other way round it is significantly worse
    reverse = paired_comparison(b, a, test=test)  # type: ignore[arg-type]
    assert reverse.significant and reverse.ci_high < 0


def test_seeded_determinism() -> None:
    a, b = _scores(seed=4), _scores(seed=5)
    first = paired_comparison(a, b, seed=11, n_resamples=500)
    assert first == paired_comparison(a, b, seed=11, n_resamples=500)
    assert (first.ci_low, first.ci_high) != (
        (other := paired_comparison(a, b, seed=12, n_resamples=500)).ci_low,
        other.ci_high,
    )
    with pytest.raises(AttributeError):
        first.p_value = 0.0  # type: ignore[misc]  # frozen


def test_nan_learners_are_dropped_pairwise() -> None:
    a = np.array([0.1, np.nan, 0.3, 0.5, 0.2])
    b = np.array([0.2, 0.4, np.nan, 0.6, 0.4])
    result = paired_comparison(a, b, n_resamples=200)
    assert isinstance(result, PairedComparison)
    assert result.n_learners == 3 and result.n_dropped == 2
    # kept pairs: (0.1, 0.2), (0.5, 0.6), (0.2, 0.4) -> differences 0.1, 0.1, 0.2 -> mean 0.4/3
    assert result.mean_difference == pytest.approx(0.4 / 3)
    assert result.mean_baseline == pytest.approx(0.8 / 3)


def test_bad_input_names_the_parameter() -> None:
    with pytest.raises(InvalidParameterError) as info:
        paired_comparison(np.ones(3), np.ones(4))
    assert info.value.name == "candidate"
    with pytest.raises(InvalidParameterError) as info:
        paired_comparison(np.ones(3), np.ones(3), n_resamples=0)
    assert info.value.name == "n_resamples"
    with pytest.raises(InvalidParameterError) as info:
        paired_comparison(np.ones(3), np.ones(3), confidence=1.5)
    assert info.value.name == "confidence"
    with pytest.raises(InvalidParameterError) as info:
        paired_comparison(np.array([np.nan, 1.0]), np.array([1.0, np.nan]))
    assert info.value.name == "baseline"
