"""Where the served bundle comes from: a registered MLflow model's alias (what admin reload
follows), and the production settings (keys required, handed to every worker)."""

from __future__ import annotations

import pytest

from recommender.errors import BundleError, ConfigError
from recommender.serving.app import options_from_settings
from recommender.serving.bundle_source import BundleSource
from recommender.serving.server import settings_environment
from recommender.settings import Settings


def test_registered_alias_is_downloaded_and_verified(bundle_dir, tmp_path):
    mlflow = pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("serving", artifact_location=str(tmp_path / "art"))
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_artifacts(str(bundle_dir), artifact_path="bundle")
    client = MlflowClient(uri, registry_uri=uri)
    client.create_registered_model("recs")
    version = client.create_model_version(
        "recs", source=f"{run.info.artifact_uri}/bundle", run_id=run.info.run_id)
    client.set_registered_model_alias("recs", "production", version.version)

    bundle = BundleSource(registered_model="recs", alias="production", tracking_uri=uri).load()
    assert bundle.version == "als-serving-1" and bundle.can_cold_start
    with pytest.raises(BundleError, match="models:/recs@staging"):
        BundleSource(registered_model="recs", alias="staging", tracking_uri=uri).load()


def test_production_settings_need_keys_and_reach_every_worker(tmp_path):
    with pytest.raises(ConfigError, match="RECOMMENDER_API_KEYS"):
        options_from_settings(Settings(workdir=tmp_path))
    settings = Settings(workdir=tmp_path, api_keys="a,b", admin_keys="c", workers=3,
                        index_factory="HNSW32,Flat", database_url="sqlite:///x.db")
    options, source = options_from_settings(settings)
    assert options.api_keys == ("a", "b") and options.admin_keys == ("c",)
    assert options.index_factory == "HNSW32,Flat" and options.database_url == "sqlite:///x.db"
    env = settings_environment(settings)
    assert env["RECOMMENDER_API_KEYS"] == "a,b" and env["RECOMMENDER_WORKERS"] == "3"
    assert "a,b" not in repr(settings)  # keys are secrets: never in a repr or a log
