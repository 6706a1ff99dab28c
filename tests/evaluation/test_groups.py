"""Group breakdowns and gap tables against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.errors import InvalidParameterError, UnknownIdError
from recommender.evaluation.groups import group_breakdown, group_gaps, group_report


def _world() -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """27 employees (20 x 1.0, 5 x 0.0, 2 NaN), 25 rural residents (10 x 1.0, 15 x 0.0),
    3 retirees (all 1.0)."""
    groups = ["employee"] * 27 + ["rural_resident"] * 25 + ["retiree"] * 3
    ndcg = np.array([1.0] * 20 + [0.0] * 5 + [np.nan] * 2 + [1.0] * 10 + [0.0] * 15 + [1.0] * 3)
    learners = pd.DataFrame(
        {
            "learner_id": [f"l{i}" for i in range(len(groups))],
            "group": groups,
            "urban_rural": ["urban"] * 27 + ["rural"] * 25 + [None] * 3,
        }
    )
    return learners, {"ndcg": ndcg, "recall": ndcg / 2}


def test_breakdown_means_and_counts() -> None:
    learners, metrics = _world()
    table = group_breakdown(metrics, learners, ["group"])
    row = table.set_index(["metric", "value"]).loc["ndcg"]
    # employee: 20 / 25 = 0.8 (2 NaN skipped, n = 25); rural: 10 / 25 = 0.4; retiree: 3 / 3 = 1
    assert row.loc["employee", "mean"] == pytest.approx(0.8)
    assert row.loc["employee", "n_learners"] == 25
    assert row.loc["rural_resident", "mean"] == pytest.approx(0.4)
    assert row.loc["retiree", "mean"] == pytest.approx(1.0)
    assert bool(row.loc["retiree", "too_small"]) and not row.loc["employee", "too_small"]
    assert list(table.columns) == [
        "attribute", "value", "metric", "mean", "n_learners", "too_small",
    ]


def test_gap_by_hand_ignores_too_small_groups_but_reports_them() -> None:
    learners, metrics = _world()
    _, gaps = group_report(metrics, learners, ["group"])
    ndcg = gaps.set_index("metric").loc["ndcg"]
    # retiree (1.0, n = 3) would be best but is too small: best employee 0.8, worst rural 0.4
    assert ndcg["best_value"] == "employee" and ndcg["worst_value"] == "rural_resident"
    assert ndcg["gap"] == pytest.approx(0.4)  # 0.8 - 0.4
    assert ndcg["ratio"] == pytest.approx(0.5)  # 0.4 / 0.8
    assert ndcg["n_groups"] == 2
    assert ndcg["too_small_groups"] == "retiree (n=3)"
    recall = gaps.set_index("metric").loc["recall"]
    assert recall["gap"] == pytest.approx(0.2)  # 0.4 - 0.2


def test_min_size_is_a_parameter() -> None:
    learners, metrics = _world()
    _, gaps = group_report(metrics, learners, ["group"], min_size=3)
    ndcg = gaps.set_index("metric").loc["ndcg"]
    assert ndcg["best_value"] == "retiree" and ndcg["gap"] == pytest.approx(0.6)  # 1.0 - 0.4
    assert ndcg["too_small_groups"] == ""


def test_missing_values_are_their_own_group() -> None:
    learners, metrics = _world()
    table = group_breakdown(metrics, learners, ["urban_rural"], min_size=1)
    assert set(table["value"]) == {"urban", "rural", "(missing)"}


def test_accessibility_any_need_and_per_need() -> None:
    learners = pd.DataFrame(
        {"accessibility_needs": ["captions|audio", "audio", "", None, "large_print"]}
    )
    metrics = {"ndcg": np.array([1.0, 0.5, 0.0, 0.2, 0.3])}
    table = group_breakdown(metrics, learners, ["accessibility_needs"], min_size=1, per_need=True)
    means = table.set_index(["attribute", "value"])["mean"]
    # any need: rows 0, 1, 4 -> (1 + 0.5 + 0.3) / 3 = 0.6; none: rows 2, 3 -> 0.1
    assert means[("accessibility_needs", "any_need")] == pytest.approx(0.6)
    assert means[("accessibility_needs", "no_need")] == pytest.approx(0.1)
    # per need (groups overlap): audio rows 0, 1 -> 0.75; captions row 0; large_print row 4
    assert means[("accessibility_need", "audio")] == pytest.approx(0.75)
    assert means[("accessibility_need", "captions")] == pytest.approx(1.0)
    assert means[("accessibility_need", "large_print")] == pytest.approx(0.3)


def test_single_eligible_group_has_no_gap() -> None:
    learners = pd.DataFrame({"group": ["a"] * 25 + ["b"] * 2})
    _, gaps = group_report({"ndcg": np.ones(27)}, learners, ["group"])
    assert np.isnan(gaps.loc[0, "gap"]) and gaps.loc[0, "too_small_groups"] == "b (n=2)"


def test_learner_ids_pick_rows_from_the_frame() -> None:
    learners, _ = _world()
    table = group_breakdown(
        {"ndcg": np.array([0.2, 0.6])}, learners, ["group"], learner_ids=["l30", "l0"], min_size=1
    )
    means = table.set_index("value")["mean"]
    assert means["rural_resident"] == pytest.approx(0.2) and means["employee"] == pytest.approx(0.6)
    with pytest.raises(UnknownIdError):
        group_breakdown({"ndcg": np.ones(1)}, learners, ["group"], learner_ids=["nobody"])


def test_bad_input_names_the_parameter() -> None:
    learners, metrics = _world()
    with pytest.raises(InvalidParameterError) as info:
        group_breakdown({"ndcg": np.ones(3)}, learners, ["group"])
    assert info.value.name == "learners"
    with pytest.raises(InvalidParameterError) as info:
        group_breakdown({**metrics, "map": np.ones(2)}, learners, ["group"])
    assert info.value.name == "per_learner"
    with pytest.raises(InvalidParameterError) as info:
        group_breakdown(metrics, learners, ["shoe_size"])
    assert info.value.name == "attributes"
    with pytest.raises(InvalidParameterError) as info:
        group_breakdown(metrics, learners, ["group"], min_size=0)
    assert info.value.name == "min_size"
