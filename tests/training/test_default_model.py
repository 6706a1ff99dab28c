"""A config that names only the data trains the default: the family chosen on a validation split
within the time budget, every candidate printed and logged to MLflow (issue 15)."""

from __future__ import annotations

import shutil

import pandas as pd
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from recommender.bundle import load_bundle
from training import toml_writer
from training.cli import app
from training.config import load_config


def test_a_config_naming_only_the_data_chooses_its_model(empty_store, tmp_path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copy(empty_store, workdir / "mlflow.db")
    path = tmp_path / "data_only.toml"
    path.write_text(toml_writer.dumps({"data": {  # the small sample world, nothing else
        "source": "sample", "n_learners": 200, "n_resources": 60, "events_per_learner": 20.0}}))
    assert load_config(path).model.name == "auto"

    result = CliRunner().invoke(app, ["train", "--config", str(path), "--workdir", str(workdir),
                                      "--out", str(tmp_path / "bundle")])
    assert result.exit_code == 0, result.output
    assert "model selection on a validation split" in result.output
    for candidate in ("ease", "als", "bpr", "sequence", "co_occurrence", "hybrid"):
        assert f"│ {candidate}" in result.output
    assert "x one default ALS fit" in result.output

    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    run = client.search_runs([client.get_experiment_by_name("lifelong-recommender")
                              .experiment_id])[0]
    local = client.download_artifacts(run.info.run_id, "selection/candidates.csv", str(tmp_path))
    table = pd.read_csv(local)
    chosen = table[table["chosen"]]
    assert len(chosen) == 1
    assert run.data.tags["selection.best"] == chosen["candidate"].item()
    assert f"chose {chosen['candidate'].item()}:" in result.output
    scored = table[table["status"] == "scored"]
    assert chosen["ndcg_at_10"].item() == scored["ndcg_at_10"].max()
    assert run.data.metrics["selection_budget_seconds"] > 0
    bundle = load_bundle(tmp_path / "bundle")
    assert bundle.manifest["selection"]["best_params"]["candidate"] == chosen["candidate"].item()


def _train_cold_resource_split(empty_store, tmp_path, cold_resources: str):
    """``train`` on a cold-resource split (held-out resources have no training events),
    validating as ``cold_resources`` says; the run's MLflow metrics and the CLI output."""
    workdir = tmp_path / cold_resources
    workdir.mkdir()
    shutil.copy(empty_store, workdir / "mlflow.db")
    path = tmp_path / f"{cold_resources}.toml"
    path.write_text(toml_writer.dumps({
        "data": {"source": "sample", "n_learners": 300, "n_resources": 80,
                 "events_per_learner": 20.0},
        "split": {"kind": "cold_resource", "resource_share": 0.25, "seed": 0},
        "model": {"candidates": ["als", "popularity"], "hybrid_parts": 0},
        "validation": {"cold_resources": cold_resources},
    }))
    result = CliRunner().invoke(app, ["train", "--config", str(path), "--workdir", str(workdir),
                                      "--out", str(tmp_path / f"bundle_{cold_resources}")])
    assert result.exit_code == 0, result.output
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    run = client.search_runs([client.get_experiment_by_name("lifelong-recommender")
                              .experiment_id])[0]
    return run.data.metrics, result.output


def test_train_validates_new_resources_as_a_bundle_would_serve_them(empty_store,
                                                                     tmp_path) -> None:
    """With ``[validation] cold_resources = "content_mapping"`` the hold-out's unseen resources
    are scored with their content-mapped vectors, and the default search validates the same
    way (its record names the content reader); as fitted, ALS has no vector for them."""
    as_fitted, plain_output = _train_cold_resource_split(empty_store, tmp_path, "as_fitted")
    mapped, mapped_output = _train_cold_resource_split(empty_store, tmp_path, "content_mapping")
    assert "for the content reader" in mapped_output
    assert "for the content reader" not in plain_output
    # 0.21 against 0.01: as fitted, the held-out quarter of the catalog has no ALS vector
    assert mapped["ndcg_at_10"] > as_fitted["ndcg_at_10"] + 0.1
