"""Per-group accuracy with CIs, gaps to the best group and history strata, worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.errors import InvalidParameterError
from recommender.evaluation.equity import (
    equity_gaps,
    group_accuracy,
    history_lengths,
    history_strata,
    largest_gap,
)


def _world() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """40 urban learners (ndcg 0.8, long histories) and 40 rural ones: 20 with long histories
    scored 0.8 like the urban ones and 20 with no history scored 0.2. The whole urban-rural gap
    is history: within each stratum with both groups there is none."""
    learners = pd.DataFrame({
        "learner_id": [f"l{i}" for i in range(80)],
        "urban_rural": ["urban"] * 40 + ["rural"] * 40,
    })
    ndcg = np.array([0.8] * 40 + [0.8] * 20 + [0.2] * 20)
    history = np.array([25] * 40 + [30] * 20 + [0] * 20)
    return learners, ndcg, history


def test_strata_bands() -> None:
    assert history_strata(np.array([0, 1, 4, 5, 19, 20, 300])).tolist() == [
        "0", "1-4", "1-4", "5-19", "5-19", "20+", "20+"]
    with pytest.raises(InvalidParameterError, match="n_events"):
        history_strata(np.array([-1]))


def test_history_lengths_count_training_events() -> None:
    events = pd.DataFrame({"learner_id": ["a", "a", "b"]})
    assert history_lengths(events, ["b", "c", "a"]).tolist() == [1, 0, 2]


def test_gap_overall_is_history_within_strata() -> None:
    learners, ndcg, history = _world()
    table = group_accuracy(ndcg, learners, ["urban_rural"], history=history, min_size=10,
                           n_resamples=200)
    overall = table[table["stratum"] == "all"].set_index("value")
    assert overall.loc["rural", "mean"] == pytest.approx(0.5)
    assert overall.loc["rural", "best_value"] == "urban"
    assert overall.loc["rural", "gap_to_best"] == pytest.approx(0.3)
    assert overall.loc["rural", "relative_gap_to_best"] == pytest.approx(0.3 / 0.8)
    assert overall.loc["urban", "gap_to_best"] == pytest.approx(0.0)
    # a constant group has a zero-width CI; a mixed one brackets its mean
    assert overall.loc["urban", "ci_low"] == pytest.approx(0.8)
    assert overall.loc["urban", "ci_high"] == pytest.approx(0.8)
    assert overall.loc["rural", "ci_low"] < 0.5 < overall.loc["rural", "ci_high"]

    gaps = equity_gaps(table).set_index("stratum")
    assert gaps.loc["all", "relative_gap"] == pytest.approx(0.375)
    assert gaps.loc["20+", "gap"] == pytest.approx(0.0)  # same history, same service
    assert gaps.loc["20+", "n_groups"] == 2
    # only rural learners have no history: one group, no gap to speak of
    assert gaps.loc["0", "n_groups"] == 1 and np.isnan(gaps.loc["0", "gap"])


def test_small_groups_listed_never_ranked() -> None:
    learners, ndcg, _ = _world()
    table = group_accuracy(ndcg, learners, ["urban_rural"], min_size=41, n_resamples=10)
    assert table["too_small"].all()
    assert table["best_value"].isna().all()
    assert equity_gaps(table)["gap"].isna().all()


def test_bad_history_raises() -> None:
    learners, ndcg, history = _world()
    with pytest.raises(InvalidParameterError, match="history"):
        group_accuracy(ndcg, learners, ["urban_rural"], history=history[:3])


def _eight_groups(n_per_group: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Eight groups of ``n_per_group`` learners whose ndcg comes from one distribution (a
    third score 0.9, the rest 0.1): any gap between them is sampling noise."""
    rng = np.random.default_rng(seed)
    n = 8 * n_per_group
    learners = pd.DataFrame({"learner_id": [f"l{i}" for i in range(n)],
                             "group": np.repeat([f"g{g}" for g in range(8)], n_per_group)})
    return learners, np.where(rng.random(n) < 1 / 3, 0.9, 0.1)


def test_largest_gap_is_what_equity_gaps_reports() -> None:
    learners, ndcg = _eight_groups(60, seed=1)
    ndcg[:3] = np.nan  # nothing to score: left out of both
    table = group_accuracy(ndcg, learners, ["group"], min_size=20, n_resamples=50)
    reported = equity_gaps(table).set_index("stratum").loc["all", "relative_gap"]
    found = largest_gap(ndcg, learners, ["group"], min_size=20, n_resamples=200)
    assert found.observed[0] == pytest.approx(reported)
    low, high = found.interval()[0]
    assert low < reported < high


def test_noise_alone_makes_a_large_gap_between_small_groups() -> None:
    """Eight identical groups of 60: the largest relative gap reads well above 0 (its
    expected value under shuffled labels is about a third), and the observed one sits inside
    the shuffled distribution; with 600 per group the same statistic shrinks about threefold."""
    learners, ndcg = _eight_groups(60, seed=2)
    small = largest_gap(ndcg, learners, ["group"], n_resamples=400, seed=3)
    noise_mean, noise_high = small.noise()[0]
    assert 0.2 < noise_mean < 0.5
    assert small.observed[0] < noise_high
    learners, ndcg = _eight_groups(600, seed=2)
    large = largest_gap(ndcg, learners, ["group"], n_resamples=400, seed=3)
    assert large.noise()[0, 0] < noise_mean / 2.5


def test_a_real_gap_stands_above_noise_and_its_cut_is_paired() -> None:
    """Group g0 scores 0.1 against about 0.63 for the others; raising g0 to 0.3 on the same
    learners cuts the gap by 0.2 / 0.53 (about 0.37), and the paired CI of the cut brackets it
    tightly (the others' noise is shared by both lists)."""
    learners, ndcg = _eight_groups(200, seed=4)
    weak = (learners["group"] == "g0").to_numpy()
    today = np.where(weak, 0.1, ndcg + 0.4 * (ndcg < 0.5))  # others: 0.9 or 0.5
    better = np.where(weak, 0.3, today)
    found = largest_gap(np.vstack([today, better]), learners, ["group"], n_resamples=400)
    assert found.interval()[0, 0] > found.noise()[0, 1]  # far above what shuffling gives
    cut_low, cut_high = found.cut_interval(base=0)[1]
    assert cut_low < 1 - found.observed[1] / found.observed[0] < cut_high
    assert 0.3 < cut_low and cut_high < 0.45
    assert found.cut_interval(base=0)[0] == pytest.approx([0.0, 0.0])
