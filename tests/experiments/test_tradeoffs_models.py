"""``experiments.tradeoffs`` compares models built from a spec (``auto`` with its objective
among them) with today's lists in one run: the first model with every knob 0 is the baseline."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from experiments.config import load_config
from experiments.tradeoffs import choose_row, main, model_spec
from recommender.delivery.rerank import DEFAULT_EQUAL_SERVICE
from recommender.errors import InvalidParameterError

TINY = """
name = "tiny"
[data]
source = "sample"
n_learners = 240
n_resources = 60
seed = 3
as_of = "2024-12-31"

[split]
kind = "temporal"
cut = "2024-10-01"

[[models]]
name = "popularity"
"""
AUTO = 'auto_w05=auto{candidates = ["popularity"], hybrid_parts = 0, worst_weight = 0.5}'


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_a_model_spec_is_a_label_of_the_file_or_a_name_with_parameters(config: Path) -> None:
    experiment, _ = load_config(config)
    assert model_spec("popularity", experiment) is experiment.models[0]
    spec = model_spec(AUTO, experiment)
    assert (spec.key, spec.name) == ("auto_w05", "auto")
    assert spec.params == {"candidates": ["popularity"], "hybrid_parts": 0, "worst_weight": 0.5}
    with pytest.raises(InvalidParameterError, match="--model.*unknown key 'nope'"):
        model_spec("x=auto{nope = 1}", experiment)
    with pytest.raises(InvalidParameterError, match="--model"):
        model_spec("auto{worst_weight = }", experiment)


def test_models_from_specs_are_compared_with_today_in_one_run(config: Path, tmp_path: Path,
                                                              capsys) -> None:
    out = tmp_path / "out"
    main(["--config", str(config), "--model", "popularity", "--model", "same=popularity",
          "--model", AUTO, "--grid", "shipped", "--min-group-size", "5", "--out", str(out)])
    table = pd.read_csv(out / "tradeoffs.csv")
    assert list(table["model"]) == ["popularity"] * 2 + ["same"] * 2 + ["auto_w05"] * 2
    assert list(table["equal_service"]) == [0.0, DEFAULT_EQUAL_SERVICE] * 3  # 0, the shipped
    today, same = table.iloc[0], table.iloc[2]
    assert today["ndcg_diff"] == 0 and same["ndcg_diff"] == 0  # the same lists as today's
    assert same["ndcg@10"] == today["ndcg@10"]
    assert table.iloc[3]["ndcg_diff"] == pytest.approx(table.iloc[1]["ndcg_diff"])
    # the largest gap sits in its bootstrap CI; the same lists cut it by exactly 0 (paired)
    assert (table["gap_ci_low"] <= table["largest_relative_gap"]).all()
    assert (table["largest_relative_gap"] <= table["gap_ci_high"]).all()
    assert same["gap_cut_ci_low"] == 0 and same["gap_cut_ci_high"] == 0
    assert (table["gap_noise"] > 0).all() and (table["gap_noise"] <= table["gap_noise_p95"]).all()
    report = (out / "tradeoffs.md").read_text(encoding="utf-8")
    assert "model auto_w05: FamilySearch" in report and "chose {'candidate':" in report
    assert (out / "tradeoffs.png").exists()
    tried = pd.read_csv(out / "search_auto_w05.csv")  # the search's candidates and objective
    assert list(tried["candidate"]) == ["als", "popularity"]
    assert tried.loc[tried["chosen"], "objective"].item() == tried["objective"].max()
    assert "chosen by the rule:" in capsys.readouterr().out


def test_ties_between_models_go_to_the_one_listed_first() -> None:
    table = pd.DataFrame({
        "model": ["als", "auto_w0", "auto_w05"], "model_position": [0, 1, 2],
        "equal_service": [0.0, 0.5, 0.5], "calibration": 0.0, "diversity": 0.0,
        "cost_pct_worst": [0.0, 0.5, 1.0], "largest_relative_gap": [0.30, 0.202, 0.200],
        "local_vs_reachable": [0.1, 0.5, 0.5],
    })
    assert choose_row(table) == 1  # within 0.005 of the smallest gap, same touch, listed first
    assert choose_row(table.assign(largest_relative_gap=[0.30, 0.25, 0.20])) == 2
