"""A tracked training run: params, metrics (overall and per group), artifacts, a registered
version, and a bundle that loads; a crash mid-run leaves a FAILED run and registers nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from recommender.bundle import load_bundle
from recommender.errors import BundleError
from recommender.evaluation.evaluate import evaluate
from recommender.delivery.batch import core_for_fit, delivered_matrix
from recommender.delivery.core import ListRequest
from recommender.evaluation.evaluate import build_test_set
from recommender.evaluation.metrics import metrics_at_k
from recommender.features import build_feature_set
from recommender.models import ALSModel
from training import pipeline
from training.pipeline import train
from recommender.registry import METRIC_TAG, SPLIT_TAG


def test_run_logs_params_metrics_artifacts_and_registers(small_config, small_world, tracking,
                                                         tmp_path) -> None:
    result = train(small_config, small_world, tracking, bundle_root=tmp_path / "bundles")
    client = MlflowClient(tracking.uri, registry_uri=tracking.uri)
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"

    params = run.data.params
    assert params["model.name"] == "als" and params["model.factors"] == "8"
    assert params["features.event_weights.complete"] == "5.0"
    assert params["split.kind"] == "leave_last_fraction"  # [split] is logged as written
    assert params["data.n_events"] == str(len(small_world.events))
    assert params["data.content_hash"] == small_world.content_hash()
    assert int(params["split.n_test"]) > 0 and "split.n_learners_only_in_test" in params

    metrics = run.data.metrics
    for name in ("ndcg_at_3", "ndcg_at_10", "recall_at_10", "coverage_at_10", "fit_seconds",
                 "fit_seconds_holdout", "features_seconds", "bundle_seconds", "n_test_learners"):
        assert name in metrics, name
    assert 0.0 < metrics["ndcg_at_10"] <= 1.0
    group_keys = [m for m in metrics if m.startswith("ndcg_at_10.group.")]
    assert group_keys and "ndcg_at_10.gap.group" in metrics
    assert "ndcg_at_10.age_band.65plus" in metrics  # "+" is not allowed in MLflow names
    assert run.data.tags[SPLIT_TAG] == result.split_fingerprint
    assert run.data.tags[METRIC_TAG] == "ndcg_at_10"

    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"bundle", "groups", "config.json"} <= artifacts
    bundle_files = {a.path for a in client.list_artifacts(result.run_id, "bundle")}
    assert {"bundle/manifest.json", "bundle/vectors.npz"} <= bundle_files
    breakdown = pd.read_csv(client.download_artifacts(result.run_id, "groups/breakdown.csv"))
    assert {"attribute", "value", "metric", "mean", "n_learners"} <= set(breakdown.columns)

    versions = client.search_model_versions("name='test-model'")
    assert [str(v.version) for v in versions] == [result.version] == ["1"]
    assert versions[0].run_id == result.run_id

    bundle = load_bundle(result.bundle_path)
    assert bundle.manifest["run_id"] == result.run_id
    assert bundle.manifest["split_fingerprint"] == result.split_fingerprint
    assert bundle.learner_factors.shape == (len(small_world.learners), 8)
    # The served bundle can react without retraining: model state and cold start travel in it.
    assert bundle.model is not None and bundle.cold_start is not None
    learner = bundle.cold_start.learner_vector(profile={"group": "retiree", "interests": "智能手机"})
    assert learner.cold_start == "profile" and learner.vector.shape == (8,)


def test_holdout_scores_the_lists_the_api_would_serve(small_config, small_world) -> None:
    """The hold-out's metrics are the library's metrics of the delivery core's lists for a
    bundle of the hold-out fit (hard constraints, exclusions, served index), not of the bare
    model's top-k; in this world the constraints bind, so the two differ."""
    validated = pipeline.validate(small_config, small_world)
    split = small_config.split.build(small_world.events)
    features = build_feature_set(small_world, split.train, small_config.features.build())
    model = ALSModel(factors=8, iterations=5, random_state=0).fit(features)
    test = build_test_set(features, split.test)
    core = core_for_fit(model, features, regions=small_world.regions,
                        weights=small_config.features.build())
    lists, _ = delivered_matrix(core, test.learner_ids, ListRequest(k=10, now=None))
    for name, values in metrics_at_k(lists, test.relevant, (3, 10)).items():
        assert validated.result.metrics[name] == pytest.approx(float(np.nanmean(values)),
                                                               abs=1e-6), name
    bare = evaluate(model, features, split.test, (10,))
    assert validated.result.metrics["ndcg_at_10"] != pytest.approx(bare["ndcg_at_10"], abs=1e-6)


def test_same_config_same_run(small_config, small_world) -> None:
    first = pipeline.validate(small_config, small_world).result.metrics
    second = pipeline.validate(small_config, small_world).result.metrics
    assert first == second


def test_holdout_can_be_skipped(write_config, small_world, tracking, tmp_path) -> None:
    from training.config import load_config

    config = load_config(write_config(validation={"enabled": False}))
    result = train(config, small_world, tracking, bundle_root=tmp_path / "bundles")
    metrics = MlflowClient(tracking.uri, registry_uri=tracking.uri).get_run(result.run_id).data.metrics
    assert "fit_seconds" in metrics and "ndcg_at_10" not in metrics
    assert result.version == "1" and result.split_fingerprint is None


@pytest.mark.parametrize("target", ["log_pyfunc", "load_bundle"])
def test_failure_mid_run_marks_failed_and_registers_nothing(
    small_config, small_world, tracking, tmp_path, monkeypatch, target
) -> None:
    def crash(*args, **kwargs):
        raise BundleError(f"injected failure in {target}")

    monkeypatch.setattr(pipeline, target, crash)
    with pytest.raises(BundleError, match="injected"):
        train(small_config, small_world, tracking, bundle_root=tmp_path / "bundles")
    client = MlflowClient(tracking.uri, registry_uri=tracking.uri)
    runs = client.search_runs([client.get_experiment_by_name("test").experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]
    assert client.search_registered_models() == [] or not client.search_model_versions(
        "name='test-model'")


def test_models_are_built_generically(small_world, write_config, config_tree) -> None:
    """Any MODELS key builds from its name and params; the run seed becomes random_state."""
    from training.config import load_config

    tree = config_tree()
    tree["model"] = {"name": "popularity"}
    config = load_config(write_config("popularity.toml", tree=tree))
    model, _ = pipeline.fit_model(config, build_feature_set(small_world), pipeline.NO_PROGRESS,
                                  "test")
    assert model.resource_factors_.shape[0] == len(small_world.resources)
    assert np.isfinite(model.resource_factors_).all()
    tree = config_tree()
    tree["seed"] = 7
    als = load_config(write_config("als.toml", tree=tree))
    model, _ = pipeline.fit_model(als, build_feature_set(small_world), pipeline.NO_PROGRESS, "test")
    assert model.get_params()["random_state"] == 7
