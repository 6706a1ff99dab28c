"""The MLflow Model Registry: register versions, compare with production, promote, list.

In the library (not ``training``) so that training, the command line and the operator console
(``recommender.serving.console``) share one implementation of the promotion guard.

A run is compared with the current production version only when both were validated on the same
split (same data content and split parameters: the ``split_fingerprint`` tag); on a different
split their numbers mean different things and no verdict is given.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models.model import ModelInfo
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

from recommender.bundle import Bundle
from recommender.errors import RecommenderError

# Run and model-version tags this module writes and reads.
SPLIT_TAG = "split_fingerprint"
METRIC_TAG = "promotion_metric"
DIRECTION_TAG = "higher_is_better"
WORSE_TAG = "worse_than_production"
COMPARISON_TAG = "production_comparison"


class RegistryError(RecommenderError):
    """A registry lookup or change that cannot be done (unknown model, version or alias)."""


class PromotionRefusedError(RegistryError):
    """Promotion would replace a better model judged on the same split; needs ``--force``."""


@dataclass(frozen=True)
class Comparison:
    """A candidate against the version holding the alias, on the same split."""

    alias: str
    version: str
    metric: str
    candidate: float
    current: float
    higher_is_better: bool

    @property
    def worse(self) -> bool:
        if self.higher_is_better:
            return self.candidate < self.current
        return self.candidate > self.current

    def describe(self) -> str:
        verdict = "worse than" if self.worse else "not worse than"
        return (f"{self.metric}={self.candidate:.4f} is {verdict} {self.alias} version "
                f"{self.version} ({self.current:.4f}) on the same split")


def current_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version holding ``alias`` of model ``name``, or None (no model or no alias)."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def compare_with_alias(
    client: MlflowClient, name: str, alias: str, *, fingerprint: str, metric: str,
    value: float | None, higher_is_better: bool = True, exclude_run: str | None = None,
) -> Comparison | None:
    """A :class:`Comparison` with the alias holder when both sides are comparable, else None."""
    if value is None or not math.isfinite(value):
        return None
    holder = current_version(client, name, alias)
    if holder is None or holder.run_id is None or holder.run_id == exclude_run:
        return None
    run = client.get_run(holder.run_id)
    if run.data.tags.get(SPLIT_TAG) != fingerprint or metric not in run.data.metrics:
        return None
    return Comparison(alias=alias, version=str(holder.version), metric=metric,
                      candidate=float(value), current=float(run.data.metrics[metric]),
                      higher_is_better=higher_is_better)


def register(
    client: MlflowClient, name: str, model_info: ModelInfo, tags: dict[str, str]
) -> ModelVersion:
    """A new version of ``name`` (created if needed) pointing at the logged model.

    The client calls ``mlflow.register_model`` makes, minus its console prints; the logged
    model is tagged with the version, as MLflow does, so its page links to the registry.
    """
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    version = client.create_model_version(
        name, source=model_info.model_uri, run_id=model_info.run_id, tags=tags,
        model_id=model_info.model_id,
    )
    link = [{"name": version.name, "version": version.version}]
    existing = client.get_logged_model(model_info.model_id).tags.get(MLFLOW_MODEL_VERSIONS)
    client.set_logged_model_tags(
        model_info.model_id,
        {MLFLOW_MODEL_VERSIONS: json.dumps((json.loads(existing) if existing else []) + link)},
    )
    return version


@dataclass(frozen=True)
class Promotion:
    """What ``promote`` did: the alias now on ``version``, replacing ``previous`` (if any)."""

    name: str
    version: str
    alias: str
    previous: str | None
    comparison: Comparison | None
    forced: bool


def promote(
    client: MlflowClient, name: str, version: str, alias: str = "production",
    *, force: bool = False,
) -> Promotion:
    """Point ``alias`` at ``version``; refuse a version worse than the alias holder on the same
    split (or from a run that did not finish) unless ``force``."""
    candidate = _version(client, name, version)
    run = client.get_run(candidate.run_id) if candidate.run_id else None
    if run is not None and run.info.status != "FINISHED" and not force:
        raise PromotionRefusedError(
            f"{name} version {version} comes from run {run.info.run_id} with status "
            f"{run.info.status}; use --force to promote it anyway")
    comparison = None
    if run is not None:
        tags = run.data.tags
        metric = tags.get(METRIC_TAG)
        comparison = compare_with_alias(
            client, name, alias, fingerprint=tags.get(SPLIT_TAG, ""), metric=metric or "",
            value=run.data.metrics.get(metric) if metric else None,
            higher_is_better=tags.get(DIRECTION_TAG, "true") == "true",
            exclude_run=run.info.run_id,
        )
    if comparison is not None and comparison.worse and not force:
        raise PromotionRefusedError(
            f"{name} version {version}: {comparison.describe()}; use --force to promote it")
    previous = current_version(client, name, alias)
    client.set_registered_model_alias(name, alias, str(candidate.version))
    return Promotion(name=name, version=str(candidate.version), alias=alias,
                     previous=str(previous.version) if previous else None,
                     comparison=comparison, forced=force)


def _version(client: MlflowClient, name: str, version: str) -> ModelVersion:
    try:
        return client.get_model_version(name, str(version))
    except MlflowException:
        raise RegistryError(f"no version {version!r} of registered model {name!r}") from None


@dataclass(frozen=True)
class VersionRow:
    """One line of ``recommender models list``."""

    name: str
    version: str
    aliases: tuple[str, ...]
    metric: str | None
    value: float | None
    split: str | None
    worse_than_production: str | None
    run_id: str | None
    run_status: str | None


def list_versions(client: MlflowClient, name: str | None = None) -> list[VersionRow]:
    """Every version (of ``name``, or of every registered model), newest first per model."""
    names = [name] if name else sorted(m.name for m in client.search_registered_models())
    rows = []
    for model_name in names:
        try:
            aliases = client.get_registered_model(model_name).aliases or {}
        except MlflowException:
            raise RegistryError(f"no registered model {model_name!r}") from None
        by_version: dict[str, list[str]] = {}
        for alias, number in aliases.items():
            by_version.setdefault(str(number), []).append(alias)
        versions = client.search_model_versions(f"name='{model_name}'")
        for v in sorted(versions, key=lambda v: int(v.version), reverse=True):
            run = client.get_run(v.run_id) if v.run_id else None
            metric = run.data.tags.get(METRIC_TAG) if run else None
            rows.append(VersionRow(
                name=model_name, version=str(v.version),
                aliases=tuple(sorted(by_version.get(str(v.version), []))),
                metric=metric,
                value=run.data.metrics.get(metric) if run and metric else None,
                split=run.data.tags.get(SPLIT_TAG) if run else None,
                worse_than_production=run.data.tags.get(WORSE_TAG) if run else None,
                run_id=v.run_id, run_status=run.info.status if run else None,
            ))
    return rows


def load_registered_bundle(model_uri: str) -> Bundle:
    """The verified bundle inside a registered pyfunc model (``models:/name@alias`` or
    ``models:/name/version``), loaded the MLflow way."""
    try:
        model = mlflow.pyfunc.load_model(model_uri)
    except MlflowException as exc:
        raise RegistryError(f"cannot load {model_uri}: {exc.message}") from None
    python_model = model.unwrap_python_model()
    bundle = getattr(python_model, "bundle", None)
    if not isinstance(bundle, Bundle):
        raise RegistryError(f"{model_uri} is not a delivery-list model with a bundle")
    return bundle
