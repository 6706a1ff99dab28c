"""Group breakdowns and gap tables against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.errors import InvalidParameterError, UnknownIdError
from recommender.evaluation.groups import (
    group_breakdown,
    group_list_breakdown,
    group_report,
)


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


def test_lower_is_better_turns_best_and_worst_round_but_not_the_gap_sign() -> None:
    learners = pd.DataFrame({"group": ["a"] * 2 + ["b"] * 2})
    metrics = {"popularity_bias": np.array([0.1, 0.3, 0.5, 0.7]), "ndcg": np.array([0.1, 0.3, 0.5, 0.7])}
    _, gaps = group_report(metrics, learners, ["group"], min_size=1, lower_is_better=["popularity_bias"])
    rows = gaps.set_index("metric")
    # a: 0.2, b: 0.6. Popularity bias: lower serves better, so a is best; nDCG: b is best.
    assert rows.loc["popularity_bias", "best_value"] == "a" and rows.loc["popularity_bias", "worst_value"] == "b"
    assert rows.loc["popularity_bias", "gap"] == pytest.approx(0.4)
    assert rows.loc["popularity_bias", "ratio"] == pytest.approx(3.0)  # worst / best = 0.6 / 0.2
    assert rows.loc["ndcg", "best_value"] == "b" and rows.loc["ndcg", "gap"] == pytest.approx(0.4)


def test_list_breakdown_computes_each_group_on_its_own_lists() -> None:
    learners = pd.DataFrame({"learner_id": ["u1", "u2", "u3"], "group": ["a", "b", "a"],
                             "accessibility_needs": ["audio", None, "audio|captions"]})
    recommended = np.array([[0, 1], [2, 3], [1, -1]])
    seen: list[list[list[int]]] = []

    def distinct(rows: np.ndarray) -> dict[str, float]:
        seen.append(rows.tolist())
        return {"n_distinct": float(len(set(rows[rows >= 0].tolist()))), "n_lists": float(len(rows))}

    table = group_list_breakdown(recommended, distinct, learners, ["group", "accessibility_needs"],
                                 min_size=2, per_need=True)
    values = table.set_index(["attribute", "value", "metric"])
    # group a = u1 + u3: lists [0, 1] and [1]: two distinct resources; b = u2 alone: two.
    assert [[0, 1], [1, -1]] in seen and [[2, 3]] in seen
    assert values.loc[("group", "a", "n_distinct"), "mean"] == 2.0
    assert values.loc[("group", "a", "n_lists"), "n_learners"] == 2
    assert bool(values.loc[("group", "b", "n_distinct"), "too_small"])  # 1 learner < 2
    assert values.loc[("accessibility_needs", "any_need", "n_lists"), "mean"] == 2.0  # u1, u3
    assert values.loc[("accessibility_need", "captions", "n_distinct"), "mean"] == 1.0  # u3: [1]
    assert list(table.columns) == ["attribute", "value", "metric", "mean", "n_learners", "too_small"]
    with pytest.raises(InvalidParameterError) as info:
        group_list_breakdown(recommended[:2], distinct, learners, ["group"])
    assert info.value.name == "learners"


def _report_world():
    """Resources r0..r3: category A A B B, provider cs ou cs ou, mode on on on off.
    Training: u1 r0; u2 r0 r1; u3 r0; u4 r2 (4 training learners: popularity r0 3/4, r1 1/4,
    r2 1/4, r3 0). Test: u1 r3, u2 r2, u3 r1, u4 r3. Rural u1, u2; urban u3, u4."""
    from recommender.data import validate_dataset
    from recommender.evaluation.evaluate import build_test_set
    from recommender.features import build_feature_set

    learners = pd.DataFrame({"learner_id": ["u1", "u2", "u3", "u4"],
                             "group": ["rural_resident"] * 2 + ["employee"] * 2})
    resources = pd.DataFrame({
        "resource_id": ["r0", "r1", "r2", "r3"], "title": ["t0", "t1", "t2", "t3"],
        "category": ["A", "A", "B", "B"], "language": ["zh"] * 4,
        "provider_type": ["cs", "ou", "cs", "ou"], "mode": ["online"] * 3 + ["offline"],
        "region": [None] * 3 + ["R1"],
    })
    train = [("u1", "r0"), ("u2", "r0"), ("u2", "r1"), ("u3", "r0"), ("u4", "r2")]
    test = [("u1", "r3"), ("u2", "r2"), ("u3", "r1"), ("u4", "r3")]
    rows = [(f"e{i}", lid, rid, "view", "", f"2024-01-{i + 1:02d}T10:00:00Z") for i, (lid, rid) in enumerate(train)]
    rows += [(f"t{i}", lid, rid, "view", "", f"2024-03-{i + 1:02d}T10:00:00Z") for i, (lid, rid) in enumerate(test)]
    events = pd.DataFrame(rows, columns=["event_id", "learner_id", "resource_id", "event_type", "value", "timestamp"])
    dataset = validate_dataset(learners, resources, events)
    cut = pd.Timestamp("2024-02-01", tz="UTC")
    features = build_feature_set(dataset, dataset.events[dataset.events["timestamp"] < cut])
    return features, build_test_set(features, dataset.events[dataset.events["timestamp"] >= cut])


def test_report_breaks_every_metric_down_by_group_by_hand() -> None:
    from recommender.evaluation.report_metrics import report_metrics

    features, test = _report_world()
    lists = {"u1": [3, 1], "u2": [2, 3], "u3": [0, 1], "u4": [0, 1]}
    recommended = np.array([lists[str(lid)] for lid in test.learner_ids], dtype=np.int64)
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    report = report_metrics(recommended, features, test, (2,), main_k=2,
                            resource_vectors=vectors, group_attributes=("group",),
                            min_group_size=1)
    means = report.groups.set_index(["metric", "value"])["mean"]
    rural, urban = "rural_resident", "employee"
    # precision@2: u1 hits r3, u2 hits r2, u3 hits r1, u4 misses r3 -> rural 1/2, urban 1/4
    assert means[("precision_at_2", rural)] == pytest.approx(0.5)
    assert means[("precision_at_2", urban)] == pytest.approx(0.25)
    # novelty: -log2 p, p = r0 3/4, r1 1/4, r2 1/4, r3 unseen -> counted as 1/4
    assert means[("novelty_at_2", rural)] == pytest.approx(2.0)  # r3 r1, r2 r3: 2 bits each
    assert means[("novelty_at_2", urban)] == pytest.approx((2 - np.log2(0.75)) / 2)  # r0 r1 twice
    # popularity bias: rural (0 + 1/4) / 2 twice = 1/8; urban (3/4 + 1/4) / 2 = 1/2
    assert means[("popularity_bias_at_2", rural)] == pytest.approx(0.125)
    assert means[("popularity_bias_at_2", urban)] == pytest.approx(0.5)
    # category diversity: u1 B A -> 1, u2 B B -> 0; u3, u4 A A -> 0
    assert means[("category_diversity_at_2", rural)] == pytest.approx(0.5)
    assert means[("category_diversity_at_2", urban)] == pytest.approx(0.0)
    # vector diversity (1 - cosine): u1 [1,1]·[0,1], u2 [1,0]·[1,1]: 1 - 1/sqrt2; u3, u4 orthogonal: 1
    assert means[("vector_diversity_at_2", rural)] == pytest.approx(1 - 1 / np.sqrt(2))
    assert means[("vector_diversity_at_2", urban)] == pytest.approx(1.0)
    # coverage of the group's lists: rural {r1, r2, r3} = 3/4; urban {r0, r1} = 2/4
    assert means[("coverage_at_2", rural)] == pytest.approx(0.75)
    assert means[("coverage_at_2", urban)] == pytest.approx(0.5)
    # exposure of the group's 4 slots: rural r3 r1 r2 r3 = cs 1/4, ou 3/4, offline 2/4;
    # urban r0 r1 r0 r1 = cs 1/2, ou 1/2, offline 0
    assert means[("exposure_at_2.provider_type.cs", rural)] == pytest.approx(0.25)
    assert means[("exposure_at_2.provider_type.ou", rural)] == pytest.approx(0.75)
    assert means[("exposure_at_2.provider_type.cs", urban)] == pytest.approx(0.5)
    assert means[("exposure_at_2.mode.offline", rural)] == pytest.approx(0.5)
    assert means[("exposure_at_2.mode.offline", urban)] == pytest.approx(0.0)
    assert means[("exposure_at_2.mode.online", urban)] == pytest.approx(1.0)
    assert (report.groups.loc[report.groups["metric"] == "coverage_at_2", "n_learners"] == 2).all()

    gaps = report.gaps[report.gaps["attribute"] == "group"].set_index("metric")
    expected = {  # metric: (best group, gap)
        "precision_at_2": (rural, 0.25),
        "novelty_at_2": (rural, 2 - (2 - np.log2(0.75)) / 2),
        "popularity_bias_at_2": (rural, 0.375),  # lower is better
        "category_diversity_at_2": (rural, 0.5),
        "vector_diversity_at_2": (urban, 1 / np.sqrt(2)),
        "coverage_at_2": (rural, 0.25),
        "exposure_at_2.provider_type.cs": (urban, 0.25),
        "exposure_at_2.mode.offline": (rural, 0.5),
    }
    for metric, (best, gap) in expected.items():
        assert gaps.loc[metric, "best_value"] == best, metric
        assert gaps.loc[metric, "gap"] == pytest.approx(gap), metric
    assert gaps.loc["popularity_bias_at_2", "worst_value"] == urban
    # the whole-test-set numbers are unchanged: every resource is in someone's top 2
    assert report.summary["coverage_at_2"] == pytest.approx(1.0)
