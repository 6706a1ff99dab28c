"""The model bundle: a versioned directory of arrays, id lists and a JSON manifest.

Everything serving needs and nothing it must rebuild: the id maps, learner and resource vectors
(their inner product is the score), which resources each learner is done with, and the catalog
fields the API shows. Not a pickle: loading checks the format version, every file's sha256 and
every shape, and refuses what it does not understand.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.errors import BundleError
from recommender.features import IdMap

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_FILES = (
    "learners.parquet", "resources.parquet", "vectors.npz", "exclusions.npz", "interactions.npz",
)


@dataclass
class Bundle:
    """A trained model ready to serve. ``manifest`` carries params, metrics, data window, run id.

    ``interactions`` is the confidence matrix the model was fitted on: serving needs each
    learner's history for explanations and for folding in new events. ``learners`` holds the
    profile columns (group, region, ...) in learner index order, for reasons and cold start.
    """

    learner_map: IdMap
    resource_map: IdMap
    learner_factors: np.ndarray
    resource_factors: np.ndarray
    exclusions: sp.csr_matrix
    interactions: sp.csr_matrix
    resources: pd.DataFrame
    learners: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "unversioned"))

    def check(self) -> None:
        """Raise :class:`BundleError` if the parts do not line up."""
        n_l, n_r = len(self.learner_map), len(self.resource_map)
        expected = {
            "learner_factors": (n_l, None),
            "resource_factors": (n_r, None),
            "exclusions": (n_l, n_r),
            "interactions": (n_l, n_r),
        }
        for name, (rows, cols) in expected.items():
            shape = getattr(self, name).shape
            if shape[0] != rows or (cols is not None and shape[1] != cols):
                raise BundleError(f"bundle part {name} has shape {shape}, expected ({rows}, {cols})")
        if self.learner_factors.shape[1] != self.resource_factors.shape[1]:
            raise BundleError(
                "learner and resource vectors differ in dimension: "
                f"{self.learner_factors.shape[1]} vs {self.resource_factors.shape[1]}"
            )
        catalog_ids = self.resources["resource_id"].astype(str).to_numpy()
        if not np.array_equal(catalog_ids, self.resource_map.ids.astype(str)):
            raise BundleError("bundle catalog rows are not in resource index order")
        learner_ids = self.learners["learner_id"].astype(str).to_numpy()
        if not np.array_equal(learner_ids, self.learner_map.ids.astype(str)):
            raise BundleError("bundle learner rows are not in learner index order")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_parts(bundle: Bundle, directory: Path) -> None:
    bundle.learners.to_parquet(directory / "learners.parquet", index=False)
    bundle.resources.to_parquet(directory / "resources.parquet", index=False)
    np.savez(
        directory / "vectors.npz",
        learner_factors=np.asarray(bundle.learner_factors, dtype=np.float32),
        resource_factors=np.asarray(bundle.resource_factors, dtype=np.float32),
    )
    sp.save_npz(directory / "exclusions.npz", sp.csr_matrix(bundle.exclusions, dtype=bool))
    sp.save_npz(
        directory / "interactions.npz", sp.csr_matrix(bundle.interactions, dtype=np.float32)
    )


def save_bundle(bundle: Bundle, path: str | os.PathLike[str]) -> Path:
    """Write ``bundle`` to ``path`` atomically; an existing bundle there is replaced whole."""
    bundle.check()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        _write_parts(bundle, staging)
        manifest = dict(bundle.manifest)
        manifest.setdefault("created_at", datetime.now(UTC).isoformat())
        manifest.setdefault(
            "version", f"{manifest.get('model', {}).get('name', 'model')}-"
            f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
        )
        manifest.update(
            format_version=FORMAT_VERSION,
            n_learners=len(bundle.learner_map),
            n_resources=len(bundle.resource_map),
            dim=int(bundle.resource_factors.shape[1]),
            files={name: _sha256(staging / name) for name in _FILES},
        )
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
        bundle.manifest = manifest
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}-old-{os.getpid()}")
            os.replace(path, old)
        os.replace(staging, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return path


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the bundle at ``path``, checked for a format this code reads."""
    manifest_path = Path(path) / MANIFEST
    if not manifest_path.is_file():
        raise BundleError(f"no bundle at {path}: {MANIFEST} is missing")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"bundle manifest {manifest_path} is not readable JSON: {exc}") from exc
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        raise BundleError(
            f"bundle {path} has format_version {version!r}; this code reads {FORMAT_VERSION}"
        )
    return manifest


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Load and verify the bundle at ``path``; any mismatch raises :class:`BundleError`."""
    path = Path(path)
    manifest = read_manifest(path)
    files = manifest.get("files", {})
    for name in _FILES:
        part = path / name
        if not part.is_file():
            raise BundleError(f"bundle {path} is incomplete: {name} is missing")
        if files.get(name) != _sha256(part):
            raise BundleError(f"bundle {path}: {name} does not match its manifest checksum")
    try:
        learners = pd.read_parquet(path / "learners.parquet")
        resources = pd.read_parquet(path / "resources.parquet")
        with np.load(path / "vectors.npz") as vectors:
            learner_factors = np.ascontiguousarray(vectors["learner_factors"], dtype=np.float32)
            resource_factors = np.ascontiguousarray(vectors["resource_factors"], dtype=np.float32)
        exclusions = sp.load_npz(path / "exclusions.npz").tocsr()
        interactions = sp.load_npz(path / "interactions.npz").tocsr()
    except (OSError, KeyError, ValueError) as exc:
        raise BundleError(f"bundle {path} cannot be read: {exc}") from exc
    bundle = Bundle(
        learner_map=IdMap("learner", learners["learner_id"].astype(str)),
        resource_map=IdMap("resource", resources["resource_id"].astype(str)),
        learner_factors=learner_factors,
        resource_factors=resource_factors,
        exclusions=exclusions,
        interactions=interactions,
        resources=resources,
        learners=learners,
        manifest=manifest,
    )
    bundle.check()
    return bundle
