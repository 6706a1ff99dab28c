"""Experiment files: validated before any work, every error naming the key and the file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from experiments.config import DATA_FOLDERS, REPO_ROOT, load_config
from recommender.errors import ConfigError
from recommender.models import MODELS, OPTION_PARTS
from recommender.selection import AUTO

BASE = """
name = "check"
[data]
source = "sample"
n_learners = 50
[split]
kind = "temporal"
cut = "2024-10-01"
[[models]]
name = "popularity"
"""
SHIPPED = sorted((REPO_ROOT / "experiments").glob("*.toml"))


def experiment_file(directory: Path, text: str, name: str = "tiny.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _fails(tmp_path: Path, text: str, *fragments: str) -> str:
    path = experiment_file(tmp_path, text, "broken.toml")
    with pytest.raises(ConfigError) as caught:
        load_config(path, data_root=tmp_path / "data")
    message = str(caught.value)
    assert "broken.toml" in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_valid_file_loads(tmp_path):
    config, data_path = load_config(experiment_file(tmp_path, BASE))
    assert config.models[0].key == "popularity" and data_path is None
    assert config.evaluation.main_k == 10 and config.experiment_name == "check"


@pytest.mark.parametrize(("text", "fragments"), [
    ("colour = 'blue'\n" + BASE, ("unknown key 'colour'",)),
    (BASE.replace('cut = "2024-10-01"', 'cut = "2024-10-01"\nhorizon = 3'), ("[split] unknown key 'horizon'",)),
    (BASE.replace('kind = "temporal"\ncut = "2024-10-01"', 'kind = "temporal"'), ("[split] missing key 'cut'",)),
    (BASE.replace('kind = "temporal"', 'kind = "sideways"'), ("[split] key 'kind'", "sideways")),
    (BASE + '[[models]]\nname = "magic"\n', ("[models[1]] key 'name'", "magic", "als")),
    (BASE + '[[models]]\nname = "als"\nfactor = 3\n', ("[models[1]] unknown key 'factor'",)),
    (BASE + '[[models]]\nname = "als"\nfactors = "many"\n', ("[models[1]] key 'factors'",)),
    (BASE + '[[models]]\nname = "popularity"\n', ("[models[1]] key 'label'", "twice")),
    (BASE.replace("n_learners = 50", "n_learner = 50"), ("[data] unknown key 'n_learner'",)),
    (BASE + "[evaluation]\nk_values = [5]\nmain_k = 10\n", ("[evaluation] key 'main_k'", "k_values")),
    (BASE + "[evaluation]\nreport_metric = 'accuracy'\n", ("[evaluation] key 'report_metric'",)),
    (BASE.replace('cut = "2024-10-01"', 'cut = "2024-10-01"\ncandidates = "everything"'),
     ("[split] key 'candidates'",)),
    (BASE.replace('kind = "temporal"\ncut = "2024-10-01"', 'kind = "leave_last_n"\ncandidates = "active"'),
     ("[split] key 'candidates'", "temporal")),
    (BASE.replace('cut = "2024-10-01"', 'cut = "2024-10-01"\ntest_event_types = ["click"]'),
     ("[split] key 'test_event_types[0]'",)),
    (BASE + "[features]\nlog_scale = 'sometimes'\n", ("[features] key 'log_scale'",)),
    (BASE + "[tracking]\nurl = 'x'\n", ("[tracking] unknown key 'url'",)),
    ("name = 'x'\n[data\n", ("not valid TOML",)),
])
def test_errors_name_the_key_and_the_file(tmp_path, text, fragments):
    _fails(tmp_path, text, *fragments)


def test_a_missing_data_directory_names_data_path(tmp_path):
    text = BASE.replace('source = "sample"\nn_learners = 50', 'source = "directory"\npath = "nowhere"')
    message = _fails(tmp_path, text, "[data] key 'path'", "nowhere")
    assert "does not exist" in message
    text = BASE.replace('source = "sample"\nn_learners = 50', 'source = "canvas"\nmin_courses = 5')
    message = _fails(tmp_path, text, "[data] key 'path'", "--data-root")
    assert str(tmp_path / "data" / "canvas_network_cnpc") in message


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nothing.toml"):
        load_config(tmp_path / "nothing.toml")


def test_data_root_overrides_the_default_location(tmp_path):
    (tmp_path / "data" / DATA_FOLDERS["mars"]).mkdir(parents=True)
    text = BASE.replace('source = "sample"\nn_learners = 50', 'source = "mars"\npath = "/not/here"')
    _, data_path = load_config(experiment_file(tmp_path, text), data_root=tmp_path / "data")
    assert data_path == tmp_path / "data" / DATA_FOLDERS["mars"]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_experiments_are_valid_and_list_every_registered_model(path, tmp_path):
    for folder in DATA_FOLDERS.values():
        (tmp_path / folder).mkdir()
    config, _ = load_config(path, data_root=tmp_path)
    assert config.name == path.stem
    if config.split.kind == "rolling":  # the time-aware protocol: its models beside recency
        labels = [spec.key for spec in config.models]
        assert config.split.baseline in labels and config.split.target in labels
        assert config.models[0].name == "recent_popularity", "recent popularity comes first"
        return
    assert config.models[0].name == "popularity", "the baseline comes first"
    # every registered model, except the parts only time_aware's options reach
    assert {spec.name for spec in config.models} == set(MODELS) - OPTION_PARTS | {AUTO}, \
        "include every registered model and the default (auto)"


def test_the_four_experiments_are_shipped():
    assert {p.stem for p in SHIPPED} >= {"sample_world", "oulad", "mars", "canvas"}
    for path in SHIPPED:
        tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "experiments" / "defaults").glob("*.toml")),
                         ids=lambda p: p.stem)
def test_default_comparisons_are_valid_and_hold_the_default(path, tmp_path):
    """experiments/defaults/: the default (auto) beside tuned single models (issue 15)."""
    for folder in DATA_FOLDERS.values():
        (tmp_path / folder).mkdir()
    config, _ = load_config(path, data_root=tmp_path)
    assert config.models[0].name == "popularity", "the baseline comes first"
    names = [spec.name for spec in config.models]
    assert AUTO in names and {"ease", "als"} <= set(names)
