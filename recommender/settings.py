"""The one settings object. Built only by entry points (CLI, server); library code takes
explicit arguments and never reads the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob an operator may turn, read from ``RECOMMENDER_*`` variables or a ``.env``."""

    model_config = SettingsConfigDict(env_prefix="RECOMMENDER_", env_file=".env", extra="ignore")

    workdir: Path = Field(Path("work"), description="Where the demo writes data, bundles, runs")
    bundle_path: Path | None = Field(None, description="Bundle directory the API serves")
    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI; default: a SQLite store under workdir"
    )
    experiment_name: str = "lifelong-recommender"
    index_factory: str = Field("Flat", description="FAISS index factory string")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    default_k: int = Field(10, ge=1, le=1000)
    max_k: int = Field(200, ge=1)

    def resolved_tracking_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{(self.workdir / 'mlflow.db').resolve()}"
