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
