"""An experiment file (TOML): which data, which split, which models, how to judge them.

Data, split, features and model entries are the spec's sections (:mod:`recommender.spec`),
shared with training configs; this module adds what only experiments have: a name, the list
of models (with labels), the evaluation settings and tracking. Validated once, before any
work: unknown keys, wrong types, unknown model names or parameters, a ``main_k`` missing from
``k_values``, a candidate rule the split cannot support and a data directory that does not
exist all raise :class:`~recommender.errors.ConfigError` naming the file, the section and the
key. See ``experiments/README.md`` for every key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from recommender.evaluation.groups import DEFAULT_ATTRIBUTES
from recommender.evaluation.metrics import METRICS
from recommender.selection.family import ColdResources
from recommender.spec import (
    DATA_FOLDERS,
    DataSection,
    FeaturesSection,
    ModelSection,
    RollingSplit,
    SampleData,
    Section,
    SplitSection,
    read_config_file,
    validate_config,
)
from recommender.spec.features import check_time_and_split

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_ROOT = REPO_ROOT.parent / "shared" / "data"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

AccuracyMetric = Literal[tuple(METRICS)]  # type: ignore[valid-type]

__all__ = ["DATA_FOLDERS", "DEFAULT_DATA_ROOT", "REPO_ROOT", "ExperimentConfig", "ModelSpec",
           "load_config"]


class ModelSpec(ModelSection):
    """One model to train: a ``MODELS`` name, an optional label (to run a name twice); every
    other key is a constructor parameter, checked against the model's signature."""

    label: str | None = Field(None, pattern=NAME_PATTERN)

    @property
    def key(self) -> str:
        return self.label or self.name


class EvaluationConfig(Section):
    k_values: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [5, 10, 20], min_length=1)
    main_k: int = Field(10, ge=1)
    report_metric: AccuracyMetric = "ndcg"
    significance_metrics: list[AccuracyMetric] = Field(default_factory=lambda: list(METRICS))
    n_resamples: int = Field(2000, ge=1)
    confidence: float = Field(0.95, gt=0, lt=1)
    test: Literal["wilcoxon", "ttest_rel"] = "wilcoxon"
    group_attributes: list[str] = Field(default_factory=lambda: list(DEFAULT_ATTRIBUTES))
    min_group_size: int = Field(20, ge=1)
    exposure_attributes: list[str] = Field(default_factory=lambda: ["provider_type", "mode"])
    diversity_vectors: Literal["content", "model"] = "content"
    cold_resources: ColdResources = "as_fitted"

    @model_validator(mode="after")
    def _main_k_is_computed(self) -> EvaluationConfig:
        if self.main_k not in self.k_values:
            raise ValueError(f"key 'main_k': {self.main_k} is not one of k_values {self.k_values}")
        return self


class TrackingConfig(Section):
    uri: str | None = None
    experiment_name: str | None = Field(None, min_length=1)


class ExperimentConfig(Section):
    """The whole experiment file. ``models[0]`` is the baseline every other model is tested
    against; ``seed`` seeds every model that takes a ``random_state`` (unless its entry sets
    one) and the sample world (unless ``[data]`` sets its own)."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    seed: int = Field(0, ge=0)
    data: DataSection
    split: SplitSection
    features: FeaturesSection = Field(default_factory=FeaturesSection)
    models: list[ModelSpec] = Field(min_length=1)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    @model_validator(mode="after")
    def _labels_differ(self) -> ExperimentConfig:
        keys = [spec.key for spec in self.models]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise ValueError(f"[models[{i}]] key 'label': {key!r} is used twice; give "
                                 "each run its own label")
        return self

    @model_validator(mode="after")
    def _time_fits_the_split(self) -> ExperimentConfig:
        check_time_and_split(self.features, self.split)
        return self

    @model_validator(mode="after")
    def _rolling_labels_exist(self) -> ExperimentConfig:
        if isinstance(self.split, RollingSplit):
            labels = [spec.key for spec in self.models]
            for key in ("baseline", "target"):
                value = getattr(self.split, key)
                if value is not None and value not in labels:
                    raise ValueError(f"[split] key {key!r}: {value!r} is not a model label {labels}")
        return self

    @property
    def experiment_name(self) -> str:
        return self.tracking.experiment_name or self.name

    @property
    def data_path(self) -> Path | None:
        """The resolved data directory (``None`` for the sample world)."""
        return None if isinstance(self.data, SampleData) else self.data.path


def load_config(path: str | Path, data_root: str | Path | None = None) -> tuple[ExperimentConfig, Path | None]:
    """Read and validate an experiment file; returns it with its resolved data directory.

    ``data_root`` (the ``--data-root`` option) is the directory holding the real data sets'
    folders; it overrides both the default ``../shared/data`` and a ``data.path`` in the file.
    """
    path = Path(path)
    config = validate_config(
        ExperimentConfig, read_config_file(path), source=str(path),
        context={"base_dir": path.resolve().parent, "data_root": data_root,
                 "default_root": DEFAULT_DATA_ROOT},
    )
    return config, config.data_path


def config_digest(path: Path) -> str:
    """A short sha256 of the file's text, logged so a run is tied to the exact file."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def safe_name(value: object) -> str:
    """A value usable inside an MLflow metric key (letters, digits, _ - . / and spaces)."""
    return re.sub(r"[^\w\-./ ]", "_", str(value)).strip() or "_"
