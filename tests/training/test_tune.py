"""Tuning: seeded random search, one nested MLflow run per trial, the best config written out."""

from __future__ import annotations

import shutil

from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from training.cli import app
from training.config import RangeSpec, load_config
from training.tune import plan_trials, sample_space

# Hybrid parts as a table (part name -> hyper-parameters): tune.space addresses them by name.
TABLE = {"ease": {"regularization": 50.0},
         "als_small": {"model": "als", "factors": 4, "iterations": 30, "regularization": 0.01}}


def test_sampling_is_seeded_and_covers_small_grids() -> None:
    space = {"model.factors": [4, 8, 16], "model.alpha": RangeSpec(low=0.5, high=4.0, log=True),
             "model.iterations": RangeSpec(low=2, high=9)}
    first = sample_space(space, 5, seed=3)
    assert first == sample_space(space, 5, seed=3) and first != sample_space(space, 5, seed=4)
    assert all(0.5 <= d["model.alpha"] <= 4.0 and isinstance(d["model.iterations"], int)
               for d in first)
    grid = sample_space({"model.factors": [4, 8], "model.iterations": [1, 2]}, 10, seed=0)
    assert len(grid) == 4 and len({tuple(sorted(d.items())) for d in grid}) == 4


def test_tune_writes_best_config_and_nested_runs(write_config, empty_store, tmp_path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copy(empty_store, workdir / "mlflow.db")
    config = write_config(tune={"space": {
        "model.factors": [2, 8],
        "model.regularization": {"low": 0.01, "high": 0.1, "log": True},
    }})
    best_path = tmp_path / "best.toml"
    result = CliRunner().invoke(app, ["tune", "--config", str(config), "--trials", "3",
                                      "--out", str(best_path), "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output
    assert "best config written" in result.output

    best = load_config(best_path)
    assert best.tune is None and best.model.name == "als"

    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    client = MlflowClient(uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("test").experiment_id
    runs = client.search_runs([experiment])
    parents = [r for r in runs if r.data.tags.get("kind") == "tune"]
    assert len(parents) == 1
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 3 and all(r.info.status == "FINISHED" for r in children)
    scores = {r.info.run_id: r.data.metrics["ndcg_at_10"] for r in children}
    winner = client.get_run(parent.data.tags["best_run_id"])
    assert scores[winner.info.run_id] == max(scores.values())
    assert parent.data.metrics["best_ndcg_at_10"] == max(scores.values())
    assert str(best.model.params["factors"]) == winner.data.params["model.factors"]
    assert repr(best.model.params["regularization"]) == winner.data.params[
        "model.regularization"]
    assert client.search_registered_models() == []  # trials never register models


def test_tune_space_addresses_part_parameters_and_blend_weights(write_config,
                                                                 config_tree) -> None:
    tree = config_tree(tune={"space": {"model.parts.ease.regularization": [10.0, 500.0],
                                       "model.weights.ease": [0.25, 0.75]}})
    tree["model"] = {"name": "hybrid", "parts": TABLE, "weights": {"ease": 0.5, "als_small": 0.5}}
    path = write_config(tree=tree)
    config = load_config(path)
    trials = plan_trials(config, 4, str(path))
    seen = set()
    for trial in trials:
        model = trial.config.model.build(random_state=0)
        ease = dict(model.parts)["ease"]
        assert ease.regularization == trial.params["model.parts.ease.regularization"]
        assert model.weights["ease"] == trial.params["model.weights.ease"]
        assert dict(model.parts)["als_small"].factors == 4  # untouched parts stay as written
        seen.add((ease.regularization, model.weights["ease"]))
    assert seen == {(10.0, 0.25), (10.0, 0.75), (500.0, 0.25), (500.0, 0.75)}
