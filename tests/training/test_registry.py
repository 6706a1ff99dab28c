"""Promotion through the CLI: a run worse than production on the same split is flagged (output
and run tag) and needs --force; on a different split no verdict is given."""

from __future__ import annotations

import shutil

import pandas as pd
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from recommender.bundle import load_bundle
from training.cli import app
from training.deliver import export_delivery_lists
from recommender.registry import WORSE_TAG

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args))


def test_promote_guard_and_force(write_config, config_tree, empty_store, tmp_path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copy(empty_store, workdir / "mlflow.db")
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    common = ["--workdir", str(workdir)]
    good = write_config("good.toml")
    bad_tree = config_tree(model={"factors": 1, "iterations": 1})
    bad = write_config("bad.toml", tree=bad_tree)
    other_split = write_config("other.toml", tree=config_tree(
        model={"factors": 1, "iterations": 1}, validation={"fraction": 0.3}))

    first = _invoke("train", "--config", str(good), *common)
    assert first.exit_code == 0, first.output
    assert "registered test-model version 1" in first.output
    assert _invoke("models", "promote", "test-model", "1", *common).exit_code == 0

    worse = _invoke("train", "--config", str(bad), *common)
    assert worse.exit_code == 0, worse.output
    assert "WORSE THAN PRODUCTION" in worse.output and "--force" in worse.output
    worse_run = client.get_model_version("test-model", "2").run_id
    assert client.get_run(worse_run).data.tags[WORSE_TAG] == "true"

    elsewhere = _invoke("train", "--config", str(other_split), *common)
    assert elsewhere.exit_code == 0 and "PRODUCTION" not in elsewhere.output
    other_run = client.get_model_version("test-model", "3").run_id
    assert WORSE_TAG not in client.get_run(other_run).data.tags

    refused = _invoke("models", "promote", "test-model", "2", *common)
    assert refused.exit_code == 1
    assert "worse than production version 1" in refused.output and "--force" in refused.output
    assert client.get_model_version_by_alias("test-model", "production").version in (1, "1")

    forced = _invoke("models", "promote", "test-model", "2", "--force", *common)
    assert forced.exit_code == 0, forced.output
    assert "version 2 (was version 1) (forced)" in forced.output
    assert str(client.get_model_version_by_alias("test-model", "production").version) == "2"

    listed = _invoke("models", "list", "--name", "test-model", *common)
    assert listed.exit_code == 0 and "production" in listed.output
    staged = _invoke("models", "promote", "test-model", "1", "--alias", "staging", *common)
    assert staged.exit_code == 0
    assert str(client.get_model_version_by_alias("test-model", "staging").version) == "1"

    # batch delivery from the registry: the production version's bundle, as served
    lists_path = tmp_path / "lists.parquet"
    delivered = _invoke("deliver", "--model", "test-model@production", "--out", str(lists_path),
                        "--k", "5", *common)
    assert delivered.exit_code == 0, delivered.output
    expected = tmp_path / "expected.parquet"
    export_delivery_lists(load_bundle(workdir / "bundles" / worse_run), expected, k=5)
    pd.testing.assert_frame_equal(pd.read_parquet(lists_path), pd.read_parquet(expected))


def test_promote_unknown_version_is_a_clean_error(empty_store, tmp_path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copy(empty_store, workdir / "mlflow.db")
    result = _invoke("models", "promote", "nothing", "3", "--workdir", str(workdir))
    assert result.exit_code == 1 and "no version '3'" in result.output
