"""MLflow experiments as every front end (training, experiments) lays them out.

MLflow is imported inside the functions, so importing this module stays cheap for commands
that never log a run.
"""

from __future__ import annotations

from pathlib import Path


def default_tracking_uri(workdir: Path) -> str:
    """A local SQLite store (it also backs the model registry) under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(workdir / 'mlflow.db').resolve()}"


def use_experiment(tracking_uri: str, name: str, artifact_root: Path | None = None) -> str:
    """Point MLflow at ``tracking_uri`` and make ``name`` the active experiment; returns its id.

    A new experiment stores artifacts under ``artifact_root`` (when given), so a local run never
    scatters ``mlruns`` folders into whatever directory the command was started from.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = artifact_root.resolve().as_uri() if artifact_root is not None else None
        experiment_id = client.create_experiment(name, artifact_location=location)
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id
