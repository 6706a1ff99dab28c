"""The given split (a file of held-out learner-resource pairs): which events it holds out, the
errors a bad file gets, and a training validation on it worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from recommender.data import validate_dataset
from recommender.errors import ConfigError, DataValidationError
from recommender.evaluation.splits import given_split, read_held_out_pairs
from training import toml_writer
from training.config import load_config
from training.pipeline import validate

# Every event is a completion (consumed): train completions leave the lists.
TRAIN = {"u1": ["r1", "r2", "r3", "r4"], "u2": ["r1", "r2", "r3"], "u3": ["r1", "r2"],
         "u4": ["r1"]}
HELD_OUT = [("u2", "r4"), ("u3", "r3"), ("u4", "r5"), ("u2", "r4")]  # a pair twice: once


def _dataset():
    rows = [(learner, resource) for learner, used in TRAIN.items() for resource in used]
    rows += list(dict.fromkeys(HELD_OUT))
    events = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(rows))],
        "learner_id": [r[0] for r in rows], "resource_id": [r[1] for r in rows],
        "event_type": "complete",
        # Held-out events are not the latest: a given split ignores time.
        "timestamp": [f"2024-01-{10 - (i % 9):02d}T10:00:00Z" for i in range(len(rows))],
    })
    learners = pd.DataFrame({"learner_id": list(TRAIN), "group": "employee"})
    resources = pd.DataFrame({"resource_id": [f"r{i}" for i in range(1, 7)],
                              "title": [f"course {i}" for i in range(1, 7)],
                              "category": "digital_literacy", "mode": "online",
                              "language": "zh"})
    return validate_dataset(learners, resources, events)


def _write(path, rows, header=("learner_id", "resource_id")):
    path.write_text("\n".join([",".join(header), *(",".join(r) for r in rows)]) + "\n")
    return path


def test_the_listed_pairs_and_nothing_else_are_held_out(tmp_path):
    dataset = _dataset()
    pairs = read_held_out_pairs(_write(tmp_path / "test.csv", HELD_OUT))
    split = given_split(dataset.events, pairs, str(tmp_path / "test.csv"))
    held = set(zip(split.test["learner_id"], split.test["resource_id"]))
    assert held == set(HELD_OUT)
    assert len(split.train) + len(split.test) == len(dataset.events) and len(split.test) == 3
    assert split.report["n_held_out_pairs"] == 3 and split.name == "given(test.csv)"


def test_given_split_validation_equals_the_hand_computation(tmp_path):
    """Popularity on train: r1 4/4, r2 3/4, r3 2/4, r4 1/4, r5 and r6 none (r5 first by
    index). Lists without each learner's train completions: u2 r4 r5 r6 (r4 held out: rank
    1); u3 r3 r4 r5 (r3: rank 1); u4 r2 r3 r4 r5 (r5: rank 4). u1 holds nothing out."""
    _write(tmp_path / "test.csv", HELD_OUT)
    dataset = _dataset()
    config_path = tmp_path / "config.toml"
    config_path.write_text(toml_writer.dumps({
        "seed": 0, "data": {"source": "sample", "n_learners": 20},
        "split": {"kind": "given", "path": "test.csv"},
        "model": {"name": "popularity"},
        "validation": {"k": [3, 5], "metric": "ndcg_at_5", "min_group_size": 1},
        "tracking": {"experiment": "test", "registered_model": "test-model"},
    }))
    config = load_config(config_path)
    metrics = validate(config, dataset).result.metrics
    assert metrics["n_test_learners"] == 3
    assert metrics["hit_rate_at_3"] == pytest.approx(2 / 3)
    assert metrics["recall_at_5"] == pytest.approx(1.0)
    assert metrics["ndcg_at_5"] == pytest.approx((1 + 1 + 1 / math.log2(5)) / 3)
    assert metrics["mrr_at_5"] == pytest.approx((1 + 1 + 1 / 4) / 3)


def test_a_missing_column_names_the_file_and_the_column(tmp_path):
    path = _write(tmp_path / "test.csv", [("u2", "r4")], header=("user", "resource_id"))
    with pytest.raises(DataValidationError) as caught:
        read_held_out_pairs(path)
    message = str(caught.value)
    assert str(path) in message and "column 'learner_id'" in message and "user" in message
    assert len(read_held_out_pairs(path, learner_column="user")) == 1  # named columns


def test_blank_cells_and_unknown_pairs_name_their_rows(tmp_path):
    path = _write(tmp_path / "test.csv", [("u2", "r4"), ("", "r3"), ("u3", " ")])
    with pytest.raises(DataValidationError) as caught:
        read_held_out_pairs(path)
    rows = {(p.column, p.row) for p in caught.value.problems}
    assert rows == {("learner_id", 2), ("resource_id", 3)}
    path = _write(tmp_path / "other.csv", [("u2", "r4"), ("u9", "r1"), ("u1", "r6")])
    with pytest.raises(DataValidationError) as caught:
        given_split(_dataset().events, read_held_out_pairs(path), str(path))
    assert [(p.row, p.value) for p in caught.value.problems] == [(2, "u9, r1"), (3, "u1, r6")]
    assert str(path) in str(caught.value) and "no event of this pair" in str(caught.value)


def test_a_missing_file_fails_when_the_config_is_read(tmp_path):
    config_path = tmp_path / "config.toml"
    config_path.write_text(toml_writer.dumps({
        "data": {"source": "sample", "n_learners": 20},
        "split": {"kind": "given", "path": "nowhere.csv"}, "model": {"name": "popularity"}}))
    with pytest.raises(ConfigError, match=r"\[split\] key 'path'.*nowhere.csv"):
        load_config(config_path)


def test_an_experiment_file_reads_the_same_given_split(tmp_path):
    from experiments.config import load_config as load_experiment

    _write(tmp_path / "test.csv", HELD_OUT)
    path = tmp_path / "exp.toml"
    path.write_text(toml_writer.dumps({
        "name": "x", "data": {"source": "sample", "n_learners": 20},
        "split": {"kind": "given", "path": "test.csv"}, "models": [{"name": "popularity"}]}))
    config, _ = load_experiment(path)
    split = config.split.build(_dataset().events)
    assert set(zip(split.test["learner_id"], split.test["resource_id"])) == set(HELD_OUT)
