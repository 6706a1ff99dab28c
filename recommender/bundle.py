"""The model bundle: a versioned directory of arrays, id lists and a JSON manifest.

Everything serving needs and nothing it must rebuild: the id maps, learner and resource vectors
(their inner product is the score), which resources each learner is done with, and the catalog
fields the API shows. Not a pickle: loading checks the format version, every file's sha256 and
every shape, and refuses what it does not understand.

Format 2 adds the fitted model and its cold start (``state.json`` + ``state.npz``: JSON params
and named arrays, see :mod:`recommender.models.state`) so serving can fold in new events, embed
new resources from their content and place new learners from their profile without retraining,
and the region adjacency table (``regions.parquet``) for the place filter. Format 1 bundles
(vectors only) still load, without those powers.

Format 3 covers the manifest itself: ``manifest_sha256`` is the sha256 of the rest of the
manifest in canonical JSON, so an edited ``version``, ``dim`` or count is refused like an edited
array. Formats 1 and 2 have no such field; for them (and for every format) loading checks what
the manifest says against the arrays (counts, id-list lengths, dimension, model state). The
bundle's content checksum (:attr:`Bundle.checksum`: that same digest, which covers every file's
sha256) is what serving records as the accepted bundle.

An optional ``completions.npz`` (any format from 3 on) holds when each learner first completed
each resource, so the credit ledger can count the bundle's history by year; a bundle without it
still loads, and its ledger counts only what the serving store holds.
"""

from __future__ import annotations

import copy
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

from recommender.errors import BundleError, RecommenderError
from recommender.features import (
    Consumption,
    FeatureSet,
    IdMap,
    InteractionWeights,
    build_completion_matrix,
)
from recommender.models import ColdStart, EmbeddingModel
from recommender.models.cold_start import PROFILE_COLUMNS  # the profile fields a bundle carries
from recommender.models.state import FACTOR_ARRAYS, jsonable, model_state, restore_model
from recommender.selection.base import SearchCV

FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
COVERED_SINCE = 3  # the first format whose manifest carries its own checksum
MANIFEST = "manifest.json"
MANIFEST_CHECKSUM = "manifest_sha256"
_FILES = (
    "learners.parquet", "resources.parquet", "vectors.npz", "exclusions.npz", "interactions.npz",
)
STATE_FILES = ("state.json", "state.npz")
REGIONS_FILE = "regions.parquet"
COMPLETIONS_FILE = "completions.npz"
STATE_FORMAT = 1  # version of the state.json layout inside a format-2 bundle

# Catalog fields a bundle carries (titles, filters, reasons).
CATALOG_COLUMNS = (
    "resource_id", "title", "language", "category", "tags", "provider", "provider_type", "mode",
    "region", "duration_minutes", "credit_hours", "level", "accessibility", "available_from",
    "available_until",
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
    model: EmbeddingModel | None = None
    cold_start: ColdStart | None = None
    regions: pd.DataFrame | None = None
    # learners x resources, int64 microseconds (UTC) of the first completion; None: not carried
    completions: sp.csr_matrix | None = None

    @property
    def can_cold_start(self) -> bool:
        """Does the bundle carry the fitted model (fold-in, new resources, new learners)?"""
        return self.model is not None and self.cold_start is not None

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "unversioned"))

    @property
    def consumption(self) -> Consumption:
        """The consumption rule ``exclusions`` was built with, for the events stored since
        (a bundle from before the rule was recorded: complete and dismiss, as it excluded)."""
        return Consumption.from_dict(self.manifest.get("consumption"))

    @property
    def checksum(self) -> str:
        """The content checksum: sha256 of the manifest (which holds every file's sha256), so
        two bundles with the same checksum are the same bundle, byte for byte."""
        return manifest_checksum(self.manifest)

    def check(self) -> None:
        """Raise :class:`BundleError` if the parts do not line up."""
        n_l, n_r = len(self.learner_map), len(self.resource_map)
        expected = {
            "learner_factors": (n_l, None),
            "resource_factors": (n_r, None),
            "exclusions": (n_l, n_r),
            "interactions": (n_l, n_r),
        }
        if self.completions is not None:
            expected["completions"] = (n_l, n_r)
        for name, (rows, cols) in expected.items():
            shape = getattr(self, name).shape
            if shape[0] != rows or (cols is not None and shape[1] != cols):
                raise BundleError(
                    f"bundle part {name} has shape {shape}, expected ({rows}, {cols})")
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
        if (self.model is None) != (self.cold_start is None):
            raise BundleError("a bundle carries both the model and its cold start, or neither")
        if self.model is not None:
            self._check_model()

    def _check_model(self) -> None:
        """The model's vectors are the bundle's, and its cold start embeds a catalog row in the
        same space (a mismatched state fails here, not on the first request)."""
        model, cold_start = self.model, self.cold_start
        for name, mine in (("learner_factors", self.learner_factors),
                           ("resource_factors", self.resource_factors)):
            theirs = getattr(model, f"{name}_")
            if theirs is not mine and (theirs.shape != mine.shape or not np.array_equal(
                    theirs, mine)):
                raise BundleError(f"the bundled model's {name} differ from the bundle's")
        if cold_start.model is not model:
            raise BundleError("the bundled cold start belongs to another model")
        try:
            probe = cold_start.resource_vectors(self.resources.iloc[:1]).vectors
        except (RecommenderError, KeyError, ValueError, TypeError, IndexError) as exc:
            raise BundleError(f"the bundled cold start cannot embed a resource: {exc}") from exc
        if probe.shape[1] != self.resource_factors.shape[1]:
            raise BundleError(
                f"the bundled cold start embeds resources in {probe.shape[1]} dimensions, "
                f"the bundle's vectors have {self.resource_factors.shape[1]}"
            )


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """sha256 of ``manifest`` without its own checksum field, in canonical JSON (sorted keys,
    no spaces): the same for the manifest written and the manifest read back."""
    body = {key: value for key, value in manifest.items() if key != MANIFEST_CHECKSUM}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    # Uncompressed: zlib would cost more time than the few MB it saves on disk.
    sp.save_npz(directory / "exclusions.npz", sp.csr_matrix(bundle.exclusions, dtype=bool),
                compressed=False)
    sp.save_npz(directory / "interactions.npz",
                sp.csr_matrix(bundle.interactions, dtype=np.float32), compressed=False)
    if bundle.regions is not None:
        bundle.regions.to_parquet(directory / REGIONS_FILE, index=False)
    if bundle.completions is not None:
        sp.save_npz(directory / COMPLETIONS_FILE,
                    sp.csr_matrix(bundle.completions, dtype=np.int64), compressed=False)
    if bundle.model is not None:
        _write_state(bundle, directory)


def _write_state(bundle: Bundle, directory: Path) -> None:
    """Model and cold-start state; the model's own vectors are the bundle's, stored once."""
    params, arrays = model_state(bundle.model)
    for name in FACTOR_ARRAYS:
        arrays.pop(name, None)
    cold_params, cold_arrays = bundle.cold_start.state()
    named = {**{f"model.{k}": v for k, v in arrays.items()},
             **{f"cold_start.{k}": v for k, v in cold_arrays.items()}}
    for name, value in named.items():
        if not isinstance(value, np.ndarray) or value.dtype == object:
            raise BundleError(f"model state array {name} is not a plain numeric array")
    state = {"state_format": STATE_FORMAT, "model": params, "cold_start": cold_params}
    (directory / "state.json").write_text(json.dumps(state, ensure_ascii=False))
    np.savez(directory / "state.npz", **named)


def _present(directory: Path) -> list[str]:
    optional = (*STATE_FILES, REGIONS_FILE, COMPLETIONS_FILE)
    return [*_FILES, *(name for name in optional if (directory / name).is_file())]


def save_bundle(bundle: Bundle, path: str | os.PathLike[str]) -> Path:
    """Write ``bundle`` to ``path`` atomically; an existing bundle there is replaced whole."""
    bundle.check()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        _write_parts(bundle, staging)
        manifest = dict(bundle.manifest)
        manifest.pop(MANIFEST_CHECKSUM, None)  # a loaded bundle's, for other contents
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
            model_state=bundle.model is not None,
            files={name: _sha256(staging / name) for name in _present(staging)},
        )
        manifest = json.loads(json.dumps(manifest, default=str))  # exactly what is read back
        manifest[MANIFEST_CHECKSUM] = manifest_checksum(manifest)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
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
    if version not in READABLE_VERSIONS:
        raise BundleError(
            f"bundle {path} has format_version {version!r}; this code reads "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )
    if version >= COVERED_SINCE:
        stored = manifest.get(MANIFEST_CHECKSUM)
        if stored is None:
            raise BundleError(f"bundle {path}: the format {version} manifest has no "
                              f"{MANIFEST_CHECKSUM}")
        if stored != manifest_checksum(manifest):
            raise BundleError(f"bundle {path}: {MANIFEST} does not match its checksum "
                              f"({MANIFEST_CHECKSUM}): the manifest was edited")
    return manifest


def _check_manifest(path: Path, manifest: dict[str, Any], bundle: Bundle) -> None:
    """What the manifest says about the arrays is what the arrays are (any format): counts,
    id-list lengths, dimension and whether a model is carried."""
    said = {"n_learners": manifest.get("n_learners"), "n_resources": manifest.get("n_resources"),
            "dim": manifest.get("dim")}
    found = {
        "n_learners": {"learner ids": len(bundle.learners),
                       "learner vectors": bundle.learner_factors.shape[0]},
        "n_resources": {"resource ids": len(bundle.resources),
                        "resource vectors": bundle.resource_factors.shape[0]},
        "dim": {"learner vectors": bundle.learner_factors.shape[1],
                "resource vectors": bundle.resource_factors.shape[1]},
    }
    for key, value in said.items():
        if type(value) is not int:
            raise BundleError(f"bundle {path}: the manifest's {key} is {value!r}, not an integer")
        for part, actual in found[key].items():
            if actual != value:
                raise BundleError(f"bundle {path}: the manifest says {key}={value}, but its "
                                  f"{part} have {actual}")
    carried = bool(manifest.get("model_state"))
    if carried != all(name in manifest.get("files", {}) for name in STATE_FILES):
        raise BundleError(f"bundle {path}: the manifest's model_state={carried} disagrees with "
                          "its list of files")
    version = manifest.get("version")
    if version is not None and (not isinstance(version, str) or not version):
        raise BundleError(f"bundle {path}: the manifest's version {version!r} is not a "
                          "non-empty string")


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Load and verify the bundle at ``path``; any mismatch raises :class:`BundleError`."""
    path = Path(path)
    manifest = read_manifest(path)
    files = manifest.get("files", {})
    if not isinstance(files, dict):
        raise BundleError(f"bundle {path}: the manifest's files entry is not a mapping")
    wanted = list(_FILES)
    if manifest.get("model_state"):
        wanted += STATE_FILES
    wanted += [name for name in files if name not in wanted]
    for name in wanted:
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
        regions = pd.read_parquet(path / REGIONS_FILE) if REGIONS_FILE in files else None
        completions = (sp.load_npz(path / COMPLETIONS_FILE).tocsr()
                       if COMPLETIONS_FILE in files else None)
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
        regions=regions,
        completions=completions,
    )
    _check_manifest(path, manifest, bundle)
    if manifest.get("model_state"):
        bundle.model, bundle.cold_start = _read_state(path, bundle)
    bundle.check()
    return bundle


def _read_state(path: Path, bundle: Bundle) -> tuple[EmbeddingModel, ColdStart]:
    """Rebuild the model around the bundle's vectors, and its cold start."""
    try:
        state = json.loads((path / "state.json").read_text())
        with np.load(path / "state.npz", allow_pickle=False) as stored:
            named = {name: stored[name] for name in stored.files}
    except (OSError, ValueError) as exc:
        raise BundleError(f"bundle {path}: model state cannot be read: {exc}") from exc
    if not isinstance(state, dict) or state.get("state_format") != STATE_FORMAT:
        found = state.get("state_format") if isinstance(state, dict) else None
        raise BundleError(
            f"bundle {path}: model state has state_format {found!r}; this code reads "
            f"{STATE_FORMAT}"
        )
    model_arrays = {k[6:]: v for k, v in named.items() if k.startswith("model.")}
    model_arrays.update(learner_factors_=bundle.learner_factors,
                        resource_factors_=bundle.resource_factors)
    cold_arrays = {k[11:]: v for k, v in named.items() if k.startswith("cold_start.")}
    try:
        model = restore_model(state["model"], model_arrays)
        cold_start = ColdStart.from_state(
            state["cold_start"], cold_arrays, model=model, learner_map=bundle.learner_map,
            resource_map=bundle.resource_map, interactions=bundle.interactions,
            learners=bundle.learners,
        )
    except BundleError:
        raise
    except (RecommenderError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise BundleError(f"bundle {path}: model state does not rebuild: {exc!r}") from exc
    return model, cold_start


def build_bundle(
    model: EmbeddingModel,
    cold_start: ColdStart | None,
    features: FeatureSet,
    manifest: dict[str, Any],
    *,
    regions: pd.DataFrame | None = None,
    weights: InteractionWeights | None = None,
) -> Bundle:
    """The served artifact of a fitted ``model``: vectors, id maps, exclusions, history,
    catalog, profiles, the model's state and its cold start (fitted here on ``features`` with
    ``weights``, the interaction weights the features were built with, when not given).

    A fitted search is stored as the estimator it chose (a registered model with the chosen
    parameters, named in the manifest's ``selection``), so a loaded bundle is that plain model.
    """
    if cold_start is not None and cold_start.model is not model:
        raise BundleError("the cold start given to build_bundle was fitted for another model")
    manifest = dict(manifest)
    manifest["consumption"] = features.consumption.to_dict()
    if isinstance(model, SearchCV):
        model._check_fitted()
        manifest["selection"] = {
            "search": type(model).__name__,
            "best_params": jsonable(type(model).__name__, "best_params_", model.best_params_),
        }
        if cold_start is not None:  # the same fitted mappings, around the chosen estimator
            cold_start = copy.copy(cold_start)
            cold_start.model = model.best_estimator_
        model = model.best_estimator_
    if cold_start is None:
        cold_start = ColdStart(model, weights=weights).fit(features)
    resources, learners = features.resources, features.learners
    bundle = Bundle(
        learner_map=features.learner_map,
        resource_map=features.resource_map,
        learner_factors=model.learner_factors_,
        resource_factors=model.resource_factors_,
        exclusions=features.exclusions,
        interactions=features.interactions,
        resources=resources[[c for c in CATALOG_COLUMNS if c in resources]].reset_index(drop=True),
        learners=learners[[c for c in PROFILE_COLUMNS if c in learners]].reset_index(drop=True),
        manifest=manifest,
        model=model,
        cold_start=cold_start,
        regions=None if regions is None else regions.reset_index(drop=True),
        # Under ordinal time the events carry steps, not dates: no year to count credit by.
        completions=None if weights is not None and weights.ordinal_time else
        build_completion_matrix(features.events, features.learner_map, features.resource_map,
                                indices=features.event_indices),
    )
    bundle.check()
    return bundle
