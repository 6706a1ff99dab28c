"""``[split] kind = "rolling"`` in a training config: train and tune validate with the rolling
protocol (one implementation: recommender.evaluation.rolling), and refuse its experiment-only
keys."""

from __future__ import annotations

import pytest

from recommender.errors import ConfigError, InvalidParameterError
from recommender.evaluation.rolling import rolling_cuts, rolling_evaluate
from recommender.features import build_feature_set
from training.config import load_config
from training.pipeline import train, validate

ROLLING = {"kind": "rolling", "start": "2024-01-01", "cut_days": [240, 300],
           "horizon_days": 14}


@pytest.fixture
def rolling_config(write_config, config_tree):
    """A small config validated by the rolling protocol (``split`` keys replace ROLLING's;
    a None value drops the key)."""
    def make(model: str, name: str = "config.toml", **split):
        merged = {k: v for k, v in {**ROLLING, **split}.items() if v is not None}
        tree = config_tree()
        tree["split"], tree["model"] = merged, {"name": model}
        return load_config(write_config(name, tree=tree))

    return make


def test_rolling_validation_is_the_rolling_protocols_mean(rolling_config, small_world):
    config = rolling_config("recent_popularity")
    validated = validate(config, small_world)
    metrics = validated.result.metrics
    features = build_feature_set(small_world, weights=config.features.build())
    expected = rolling_evaluate(
        features, {"m": config.model.build(random_state=0)},
        rolling_cuts("2024-01-01", [240, 300]), 14, "first_access", k_values=(3, 10),
        metric_names=None, interaction_weights=config.features.build()).scores
    assert metrics["n_test_learners"] == len(expected) > 0
    assert metrics["ndcg_at_10"] == pytest.approx(expected["ndcg_at_10"].mean())
    assert metrics["recall_at_3"] == pytest.approx(expected["recall_at_3"].mean())
    assert validated.split_counts["n_cuts"] == 2
    again = validate(config, small_world)
    assert again.fingerprint == validated.fingerprint
    assert again.result.metrics == metrics  # deterministic for the run's seed
    other = rolling_config("recent_popularity", "other.toml", horizon_days=7)
    assert validate(other, small_world).fingerprint != validated.fingerprint


def test_a_training_run_logs_its_rolling_validation(rolling_config, small_world, tracking,
                                                    tmp_path):
    config = rolling_config("popularity")
    result = train(config, small_world, tracking, bundle_root=tmp_path / "bundles")
    assert 0.0 < result.metrics["ndcg_at_10"] <= 1.0
    assert result.bundle.manifest["split"].startswith("rolling(2 cuts")


def test_experiment_only_keys_and_a_missing_start_are_named(rolling_config, small_world):
    with pytest.raises(ConfigError, match=r"\['scopes'\].*experiment file"):
        rolling_config("popularity", scopes=["AAA-2013J"])
    config = rolling_config("popularity", start=None)
    with pytest.raises(InvalidParameterError, match="split.start.*course_start"):
        validate(config, small_world)



def test_tune_chooses_by_the_rolling_validation(write_config, config_tree, empty_store,
                                                 small_world, tmp_path):
    """``recommender tune`` with a rolling split: every trial is the rolling protocol with the
    trial's parameters, and the best trial is the one whose rolling validation scores best."""
    import shutil

    from mlflow.tracking import MlflowClient
    from typer.testing import CliRunner

    from training.cli import app
    from training.tune import with_params

    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copy(empty_store, workdir / "mlflow.db")
    tree = config_tree(tune={"space": {"model.window_days": [2.0, 90.0]}})
    tree["split"], tree["model"] = dict(ROLLING), {"name": "recent_popularity"}
    path = write_config("tune.toml", tree=tree)
    result = CliRunner().invoke(app, ["tune", "--config", str(path), "--trials", "2",
                                      "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output
    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("test").experiment_id])
    trials = {float(r.data.params["model.window_days"]): r.data.metrics["ndcg_at_10"]
              for r in runs if "mlflow.parentRunId" in r.data.tags}
    assert set(trials) == {2.0, 90.0} and trials[2.0] != trials[90.0]
    for window, score in trials.items():
        single = with_params(load_config(path), {"model.window_days": window}, str(path))
        assert score == pytest.approx(validate(single, small_world).result.metrics["ndcg_at_10"])
