"""Training's MLflow plumbing: where a run is logged, its parameters and table artifacts.

Experiments are laid out by :mod:`recommender.tracking` (shared with ``experiments/``).

MLflow is imported inside the functions that use it, so commands that never touch it (data,
serve, --help) start fast.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dataclasses import dataclass

import pandas as pd

MAX_PARAM_LENGTH = 6000  # MLflow's limit on a parameter value


@dataclass(frozen=True)
class Tracking:
    """Where a run is logged: the store URI and, for a local store, the artifact directory."""

    uri: str
    artifact_root: Path | None = None


def is_local(tracking_uri: str) -> bool:
    """A store on this machine (SQLite or a directory), whose artifacts we place ourselves."""
    return tracking_uri.startswith(("sqlite:", "file:")) or "://" not in tracking_uri


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables -> ``{"model.factors": 64, ...}``; lists become JSON text."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            flat[name] = json.dumps(list(value), default=str)
        else:
            flat[name] = value
    return {k: (str(v)[:MAX_PARAM_LENGTH] if isinstance(v, str) else v) for k, v in flat.items()}


def log_frame(frame: pd.DataFrame, artifact_path: str) -> None:
    """Log ``frame`` as a CSV artifact at ``artifact_path`` (e.g. ``groups/breakdown.csv``)."""
    import mlflow

    directory, _, filename = artifact_path.rpartition("/")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / filename
        frame.to_csv(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=directory or None)


MLFLOW_LOGGERS = ("mlflow", "alembic", "sqlalchemy")


def quiet_mlflow_logs() -> None:
    """Keep CLI output clean: no MLflow INFO lines (DB migrations, "registered model ...") and no
    artifact download bars. For entry points only: it sets process environment variables,
    which MLflow reads when it is first imported, unless the operator set them already."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in MLFLOW_LOGGERS:  # in case MLflow was imported already
        logging.getLogger(name).setLevel(logging.WARNING)


def use_registry(tracking_uri: str) -> None:
    """Point MLflow's tracking and registry at ``tracking_uri`` (one store holds both)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
