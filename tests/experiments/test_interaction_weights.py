"""The interaction-weights study on a tiny generated world: it writes its table, and it chooses
each model's setting from validation rows only, never from test rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from experiments.interaction_weights import (
    METRIC,
    Setting,
    choose,
    combine,
    main,
    one_factor_settings,
)
from recommender.spec import FeaturesSection

TINY = """
name = "tiny_weights"

[data]
source = "sample"
n_learners = 240
n_resources = 60
seed = 3
as_of = "2024-12-31"  # the cut below is a 2024 date

[split]
kind = "temporal"
cut = "2024-10-01"

[[models]]
name = "als"
factors = 8
iterations = 3

[[models]]
name = "content"
n_components = 16
"""


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("weights")
    config = root / "tiny_weights.toml"
    config.write_text(TINY, encoding="utf-8")
    main(["--config", str(config), "--out", str(root / "out"), "--content", "--n-resamples", "50"])
    return root / "out", pd.read_csv(root / "out" / "interaction_weights_tiny_weights.csv")


def test_writes_the_table_with_both_sides(study):
    out, table = study
    text = (out / "interaction_weights_tiny_weights.md").read_text(encoding="utf-8")
    assert "python -m experiments.interaction_weights --config" in text
    for model in ("als", "ease", "content"):
        assert f"### {model}: chosen on validation = `" in text
    assert "| setting | [features] | val ndcg@10 |" in text
    assert set(table["side"]) == {"validation", "test"}
    assert {"defaults", "events=flat", "events=steep", "dismiss=0", "log_scale=off",
            "half_life=30d"} <= set(table.loc[table["model"] == "als", "setting"])
    assert len(table[table["model"] == "content"]) == 12 * 2  # 4 half-lives x 3 strengths x 2 sides
    assert table[METRIC].between(0, 1).all()
    # one chosen setting per model, marked on both of its rows
    chosen = table[table["chosen"]]
    assert chosen.groupby("model")["setting"].nunique().eq(1).all()
    assert set(chosen["model"]) == {"als", "ease", "content"}


def test_the_choice_reads_validation_rows_only(study):
    _, table = study
    for model in table["model"].unique():
        picked = table.loc[(table["model"] == model) & table["chosen"], "setting"].iloc[0]
        assert choose(table, model) == picked
        assert choose(table[table["side"] == "validation"], model) == picked
        # making another setting the clear test winner changes nothing
        rigged = table.copy()
        other = rigged.loc[(rigged["model"] == model) & (rigged["setting"] != picked), "setting"].iloc[0]
        test_rows = (rigged["model"] == model) & (rigged["setting"] == other) & (rigged["side"] == "test")
        rigged.loc[test_rows, [METRIC, "delta", "significant"]] = [1.0, 0.9, True]
        assert choose(rigged, model) == picked


def _rows(side: str, values: dict[str, tuple[float, bool]]) -> list[dict]:
    return [{"model": "als", "setting": name, "side": side, METRIC: value, "delta": value - 0.2,
             "significant": significant, "baseline": "defaults"}
            for name, (value, significant) in values.items()]


def test_choose_takes_the_validation_winner_only_when_clear():
    table = pd.DataFrame(
        _rows("validation", {"defaults": (0.2, False), "a": (0.3, True), "b": (0.25, True)})
        + _rows("test", {"defaults": (0.2, False), "a": (0.1, True), "b": (0.5, True)})
    )
    assert choose(table, "als") == "a"
    within_noise = table.assign(significant=False)
    assert choose(within_noise, "als") == "defaults"


def test_settings_move_one_factor_and_combine():
    base = FeaturesSection()
    settings = {s.name: s for s in one_factor_settings(base, half_lives=(30.0,))}
    assert settings["defaults"].section(base) == base
    flat = settings["events=flat"].section(base).event_weights
    assert flat.dismiss == base.event_weights.dismiss and flat.complete == flat.view == 1.0
    both = combine([settings["events=flat"], settings["dismiss=0"], settings["half_life=30d"]])
    section = both.section(base)
    assert section.event_weights.dismiss == 0.0 and section.event_weights.complete == 1.0
    assert section.half_life_days == 30.0 and section.log_scale == base.log_scale
    assert Setting("x", "log_scale", {"log_scale": False}).describe() == "log_scale = false"


def test_mirror_validation_replays_the_test_window_inside_training(tmp_path):
    from experiments.config import load_config
    from experiments.interaction_weights import _Study

    config_path = tmp_path / "tiny_weights.toml"
    config_path.write_text(TINY, encoding="utf-8")
    config, _ = load_config(config_path)
    dataset = config.data.build(config.seed)
    split = config.split.build(dataset.events)
    inner_config, inner = _Study(config, dataset, split, "mirror")._inner()
    cut = split.train["timestamp"].max()
    assert inner.test["timestamp"].max() <= cut  # the real test period is never read
    assert inner.train["timestamp"].max() < inner.test["timestamp"].min()
    # the one replay rule, the default model search's: the same split, so the same events
    assert inner_config == config.split.validation_within(split, split.train)
    assert len(inner.test) > 0 and inner_config.candidates == config.split.candidates
