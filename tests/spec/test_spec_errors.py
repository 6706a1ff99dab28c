"""One formatter: an unknown key anywhere names the file, the section and the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from experiments.config import load_config as load_experiment
from recommender.errors import ConfigError
from training import toml_writer
from training.config import load_config as load_training

EXPERIMENT = {"name": "x", "data": {"source": "sample", "n_learners": 20},
              "split": {"kind": "leave_last_n"}, "models": [{"name": "popularity"}]}
TRAINING = {"data": {"source": "sample", "n_learners": 20}, "model": {"name": "als"}}


def _message(load, path: Path, tree: dict) -> str:
    path.write_text(toml_writer.dumps(tree), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(path)
    return str(caught.value)


def _with(tree: dict, dotted: str, value: object) -> dict:
    """``tree`` with ``value`` set at a dotted key (``models.0.colour``)."""
    tree = copy.deepcopy(tree)
    *parents, leaf = dotted.split(".")
    table = tree
    for part in parents:
        table = table[int(part)] if part.isdigit() else table.setdefault(part, {})
    table[leaf] = value
    return tree


@pytest.mark.parametrize(("dotted", "expected"), [
    ("colour", "unknown key 'colour'"),
    ("data.colour", "[data] unknown key 'colour'"),
    ("split.colour", "[split] unknown key 'colour'"),
    ("features.colour", "[features] unknown key 'colour'"),
    ("features.event_weights.click", "[features.event_weights] unknown key 'click'"),
    ("models.0.colour", "[models[0]] unknown key 'colour'"),
    ("evaluation.colour", "[evaluation] unknown key 'colour'"),
    ("tracking.colour", "[tracking] unknown key 'colour'"),
])
def test_experiment_file(tmp_path, dotted, expected) -> None:
    path = tmp_path / "exp.toml"
    message = _message(load_experiment, path, _with(EXPERIMENT, dotted, 1))
    assert message.startswith(f"{path}: ") and expected in message, message


@pytest.mark.parametrize(("dotted", "expected"), [
    ("colour", "unknown key 'colour'"),
    ("data.colour", "[data] unknown key 'colour'"),
    ("split.colour", "[split] unknown key 'colour'"),
    ("features.colour", "[features] unknown key 'colour'"),
    ("model.colour", "[model] unknown key 'colour'"),
    ("validation.colour", "[validation] unknown key 'colour'"),
    ("tracking.colour", "[tracking] unknown key 'colour'"),
    ("tune.colour", "[tune] unknown key 'colour'"),
])
def test_training_file(tmp_path, dotted, expected) -> None:
    path = tmp_path / "train.toml"
    tree = _with(TRAINING, "tune.space.model.factors", [4]) if dotted.startswith("tune") else TRAINING
    tree = _with(tree, "split.kind", "leave_last_n") if dotted.startswith("split") else tree
    message = _message(load_training, path, _with(tree, dotted, 1))
    assert message.startswith(f"{path}: ") and expected in message, message


def test_every_problem_is_reported_with_the_file(tmp_path) -> None:
    path = tmp_path / "exp.toml"
    tree = _with(_with(EXPERIMENT, "data.colour", 1), "models.0.factorz", 2)
    problems = _message(load_experiment, path, tree).split("; ")
    assert all(p.startswith(f"{path}: [") for p in problems) and len(problems) == 2
