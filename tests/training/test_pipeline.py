"""A training run against a temporary MLflow store: params, metrics, bundle artifact."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from recommender.bundle import load_bundle
from training.pipeline import TrainSpec, train


def test_train_logs_run_and_writes_loadable_bundle(tiny_world, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    spec = TrainSpec(model_params={"factors": 4, "iterations": 5}, k_values=(1, 3))
    steps: list[str] = []
    result = train(
        tiny_world, tmp_path / "bundle", spec, tracking_uri=uri, experiment_name="test",
        artifact_root=tmp_path / "artifacts", on_step=steps.append,
    )
    assert steps and steps[-1] == "writing the bundle"

    run = MlflowClient(uri).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["model"] == "als"
    assert run.data.params["model.factors"] == "4"
    assert run.data.params["weights.event_weights.complete"] == "5.0"
    assert run.data.params["data.n_events"] == str(len(tiny_world.events))
    for name in ("ndcg_at_3", "recall_at_1", "fit_seconds", "n_test_learners"):
        assert name in run.data.metrics
    assert 0.0 <= run.data.metrics["ndcg_at_3"] <= 1.0
    artifacts = {a.path for a in MlflowClient(uri).list_artifacts(result.run_id, "bundle")}
    assert "bundle/manifest.json" in artifacts and "bundle/vectors.npz" in artifacts

    bundle = load_bundle(result.bundle_path)
    assert bundle.manifest["run_id"] == result.run_id
    assert bundle.manifest["data"]["n_learners"] == 6
    assert bundle.learner_factors.shape == (6, 4)
