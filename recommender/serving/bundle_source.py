"""Where the served bundle comes from: a directory, or the registered MLflow model version an
alias points at (``models:/<name>@<alias>``), downloaded and verified like any bundle."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from recommender.bundle import MANIFEST, Bundle, load_bundle
from recommender.errors import BundleError


@dataclass(frozen=True)
class BundleSource:
    """A bundle directory, or a registered model name + alias on an MLflow tracking server."""

    path: Path | None = None
    registered_model: str | None = None
    alias: str = "production"
    tracking_uri: str | None = None

    @property
    def configured(self) -> bool:
        return self.path is not None or self.registered_model is not None

    def describe(self) -> str:
        if self.registered_model is not None:
            return f"models:/{self.registered_model}@{self.alias}"
        return str(self.path) if self.path is not None else "(none configured)"

    def load(self) -> Bundle:
        """The bundle, loaded and verified; anything wrong raises :class:`BundleError`."""
        if self.registered_model is not None:
            return self._load_registered()
        if self.path is None:
            raise BundleError("no bundle source is configured (bundle_path or registered_model)")
        return load_bundle(self.path)

    def _load_registered(self) -> Bundle:
        import mlflow
        from mlflow.exceptions import MlflowException

        uri = self.describe()
        target = Path(tempfile.mkdtemp(prefix="served-bundle-"))
        try:
            if self.tracking_uri is not None:
                mlflow.set_tracking_uri(self.tracking_uri)
                mlflow.set_registry_uri(self.tracking_uri)
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri,
                                                             dst_path=str(target)))
        except (MlflowException, OSError) as exc:
            raise BundleError(f"cannot download {uri}: {exc}") from None
        manifests = sorted(local.rglob(MANIFEST)) if local.is_dir() else []
        if not manifests:
            raise BundleError(f"{uri} holds no bundle ({MANIFEST} not found in its artifacts)")
        return load_bundle(manifests[0].parent)
