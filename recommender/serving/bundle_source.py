"""Where the served bundle comes from: a directory, or the registered MLflow model version an
alias points at (``models:/<name>@<alias>``), downloaded and verified like any bundle.

A source also says exactly what it served (:meth:`BundleSource.load_pinned`): for a path, the
path (its content can change under it, so serving compares the bundle's checksum); for an
alias, the version it pointed at (``models:/<name>/<version>``), which can be loaded again after
the alias moved on. That is how a restarted worker gets back the last accepted bundle.
"""

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
        return self.load_pinned()[0]

    def load_pinned(self, pinned: str | None = None) -> tuple[Bundle, str]:
        """The bundle and exactly where it came from (the path, or ``models:/<name>/<version>``
        the alias pointed at). ``pinned``, a value this source returned before: load exactly
        that (an alias is not looked up again; a path is the path, whatever it holds now)."""
        if self.registered_model is not None:
            uri = self._pin_registered() if pinned is None else pinned
            if not uri.startswith(f"models:/{self.registered_model}/"):
                raise BundleError(f"{uri} is not a version of {self.describe()}")
            return self._load_registered(uri), uri
        if self.path is None:
            raise BundleError("no bundle source is configured (bundle_path or registered_model)")
        if pinned is not None and pinned != str(self.path):
            raise BundleError(f"{pinned} is not this source's path ({self.path})")
        return load_bundle(self.path), str(self.path)

    def _pin_registered(self) -> str:
        """``models:/<name>/<version>`` of the version the alias points at now."""
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        try:
            client = MlflowClient(self.tracking_uri, registry_uri=self.tracking_uri)
            version = client.get_model_version_by_alias(self.registered_model, self.alias)
        except (MlflowException, OSError) as exc:
            raise BundleError(f"cannot resolve {self.describe()}: {exc}") from None
        return f"models:/{self.registered_model}/{version.version}"

    def _load_registered(self, uri: str) -> Bundle:
        import mlflow
        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory(prefix="served-bundle-") as target:  # read whole
            try:
                if self.tracking_uri is not None:
                    mlflow.set_tracking_uri(self.tracking_uri)
                    mlflow.set_registry_uri(self.tracking_uri)
                local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri,
                                                                 dst_path=target))
            except (MlflowException, OSError) as exc:
                raise BundleError(f"cannot download {uri} ({self.describe()}): {exc}") from None
            manifests = sorted(local.rglob(MANIFEST)) if local.is_dir() else []
            if not manifests:
                raise BundleError(
                    f"{uri} holds no bundle ({MANIFEST} not found in its artifacts)")
            try:
                return load_bundle(manifests[0].parent)
            except BundleError as error:  # name the version, not the temporary download
                raise BundleError(f"{uri} ({self.describe()}): {error}") from error
