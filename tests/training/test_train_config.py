"""Config validation: every problem names the file, the section and the key, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from recommender.errors import ConfigError
from training import toml_writer
from training.cli import app
from training.config import load_config, parse_config
from training.defaults import CONFIG_DIR, DEFAULT_CONFIG


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def test_shipped_configs_are_valid() -> None:
    config = load_config(DEFAULT_CONFIG)
    assert config.model.name == "als" and config.data.source == "sample"
    raw = toml_writer.dumps(load_config(DEFAULT_CONFIG).to_dict())
    assert parse_config(__import__("tomllib").loads(raw), source="roundtrip") == config
    oulad = CONFIG_DIR / "oulad.toml"
    if (CONFIG_DIR / "../../../shared/data/oulad").resolve().is_dir():
        assert load_config(oulad).data.source == "oulad"
    else:
        assert "[data] key 'path'" in _error(oulad)


def test_unknown_model_key_names_file_section_and_key(write_config) -> None:
    path = write_config(model={"name": "als", "factorz": 8})
    message = _error(path)
    assert f"{path}: [model] unknown key 'factorz'" in message
    assert "factors" in message  # says what is accepted


def test_unknown_key_in_a_fixed_section(write_config) -> None:
    path = write_config(features={"half_life": 30})
    assert f"{path}: [features] unknown key 'half_life'" in _error(path)


def test_unknown_event_type_weight(write_config) -> None:
    path = write_config(features={"event_weights": {"click": 1.0}})
    assert f"{path}: [features.event_weights] unknown key 'click'" in _error(path)


def test_wrong_type_names_key_and_value(write_config) -> None:
    path = write_config(data={"n_learners": "many"})
    message = _error(path)
    assert f"{path}: [data] key 'n_learners'" in message and "'many'" in message


def test_wrong_type_of_a_model_hyper_parameter(write_config) -> None:
    path = write_config(model={"name": "als", "factors": "big"})
    assert f"{path}: [model] key 'factors'" in _error(path)


def test_missing_data_path(write_config, config_tree) -> None:
    tree = config_tree()
    tree["data"] = {"source": "directory", "path": "no/such/dir"}
    path = write_config(tree=tree)
    message = _error(path)
    assert f"{path}: [data] key 'path'" in message and "does not exist" in message
    tree["data"] = {"source": "oulad"}
    assert "[data] missing key 'path'" in _error(write_config(tree=tree))


def test_loader_options_are_checked(write_config, config_tree, tmp_path) -> None:
    tree = config_tree()
    tree["data"] = {"source": "oulad", "path": str(tmp_path), "presentatons": ["AAA-2013J"]}
    assert "[data] unknown key 'presentatons'" in _error(write_config(tree=tree))


def test_split_kind_and_its_keys(write_config) -> None:
    message = _error(write_config(split={"kind": "sideways"}))
    assert "[split] key 'kind': unknown value 'sideways'" in message and "cold_resource" in message
    assert "[split] unknown key 'fraction'" in _error(
        write_config(split={"kind": "leave_last_n", "fraction": 0.2}))
    assert "[split] missing key 'cut'" in _error(write_config(split={"kind": "temporal"}))
    assert "[split] key 'candidates'" in _error(
        write_config(split={"kind": "temporal", "cut": "2024-06-01", "candidates": "active"}))


def test_split_written_inside_validation_still_reads(write_config) -> None:
    """Older files: ``[validation] split = ...`` is ``[split] kind = ...``, errors name it."""
    old = write_config("old.toml", validation={"split": "leave_last_n", "n": 2})
    new = write_config("new.toml", split={"kind": "leave_last_n", "n": 2})
    assert load_config(old).split == load_config(new).split
    assert load_config(old).validation == load_config(new).validation
    assert "[validation] key 'split': unknown value 'sideways'" in _error(
        write_config(validation={"split": "sideways"}))
    assert "[validation] unknown key 'fraction'" in _error(
        write_config(validation={"split": "leave_last_n", "fraction": 0.2}))
    assert "[validation] missing key 'cut'" in _error(
        write_config(validation={"split": "temporal"}))
    both = write_config(split={"kind": "leave_last_n"}, validation={"split": "temporal"})
    assert "[validation] keys split belong in [split]" in _error(both)


def test_promotion_metric_must_be_computed(write_config) -> None:
    message = _error(write_config(validation={"metric": "ndcg_at_7"}))
    assert "[validation]" in message and "ndcg_at_7" in message


def test_unknown_model_name(write_config) -> None:
    assert "[model] key 'name': unknown model 'alz'" in _error(write_config(model={"name": "alz"}))


def test_tune_space_keys_and_ranges(write_config) -> None:
    assert "[tune.space]" in _error(write_config(tune={"space": {"data.n_learners": [1, 2]}}))
    assert "low (2) must be below high (1)" in _error(
        write_config(tune={"space": {"model.alpha": {"low": 2, "high": 1}}}))


def test_not_toml(tmp_path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[model\nname = 'als'")
    assert f"{path}: not valid TOML" in _error(path)


def test_cli_fails_before_any_work(write_config, tmp_path) -> None:
    path = write_config(model={"name": "als", "factorz": 8})
    workdir = tmp_path / "work-cli"
    result = CliRunner().invoke(app, ["train", "--config", str(path), "--workdir", str(workdir)])
    assert result.exit_code == 1
    assert "[model] unknown key 'factorz'" in result.output
    assert not workdir.exists()  # no store, no bundle, no run
