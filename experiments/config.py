"""An experiment file (TOML): which data, which split, which models, how to judge them.

Validated once, before any work: unknown keys, wrong types, unknown model names or parameters,
a ``main_k`` missing from ``k_values``, a candidate rule the split cannot support and a data
directory that does not exist all raise :class:`~recommender.errors.ConfigError` naming the key
and the file. See ``experiments/README.md`` for every key.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from recommender.data.schema import EVENT_TYPES
from recommender.errors import ConfigError
from recommender.evaluation.groups import DEFAULT_ATTRIBUTES
from recommender.evaluation.metrics import METRICS
from recommender.callable_params import check_params
from training.config import FeaturesSection  # one [features] section for training and experiments

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_ROOT = REPO_ROOT.parent / "shared" / "data"
# Where each real data set lives under the data root, as shipped in ../shared/data.
DATA_FOLDERS: dict[str, str] = {
    "oulad": "oulad",
    "mars": "mars_mandarine_academy_en",
    "canvas": "canvas_network_cnpc",
}
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

Timestamp = datetime | date | str
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
AccuracyMetric = Literal[tuple(METRICS)]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- data --------------------------------------------------------------------------------------

class _Options(BaseModel):
    """A section whose extra keys are a function's keyword arguments (checked by signature)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SampleData(_Options):
    """The generated sample world; other keys (n_learners, seed, ...) go to ``generate_world``."""

    source: Literal["sample"]


class LoaderData(_Options):
    """A real data set read by its loader; ``path`` defaults to ``../shared/data/<folder>``;
    other keys (e.g. ``min_courses``, ``presentations``) are the loader's options."""

    source: Literal["oulad", "mars", "canvas"]
    path: str | None = None


class DirectoryData(_Strict):
    """A directory of contract tables (learners, resources, events[, regions])."""

    source: Literal["directory"]
    path: str


DataConfig = Annotated[SampleData | LoaderData | DirectoryData, Field(discriminator="source")]


# --- split -------------------------------------------------------------------------------------

class _Split(_Strict):
    test_event_types: list[EventType] | None = Field(
        None, description="Keep only these test events as relevance (e.g. new enrolments)"
    )
    candidates: Literal["all", "open", "active", "cold"] = "all"
    active_days: float = Field(28.0, gt=0)


class TemporalSplit(_Split):
    kind: Literal["temporal"]
    cut: Timestamp
    horizon_end: Timestamp | None = None


class LeaveLastNSplit(_Split):
    kind: Literal["leave_last_n"]
    n: int = Field(1, ge=1)
    min_train_events: int = Field(1, ge=0)


class LeaveLastFractionSplit(_Split):
    kind: Literal["leave_last_fraction"]
    fraction: float = Field(0.2, gt=0, lt=1)
    min_events: int = Field(3, ge=1)


class RandomSplit(_Split):
    kind: Literal["random"]
    test_ratio: float = Field(0.2, gt=0, lt=1)
    seed: int = Field(0, ge=0)
    min_events: int = Field(3, ge=1)


class ColdResourceSplit(_Split):
    kind: Literal["cold_resource"]
    resource_share: float = Field(0.1, gt=0, lt=1)
    seed: int = Field(0, ge=0)


class RollingSplit(_Strict):
    """The rolling protocol (:mod:`recommender.evaluation.rolling`): cuts on course days
    ``cut_days`` after ``start`` (default: each scope's ``course_start`` resource column), a
    fixed ``horizon_days``, first accesses only (``mode = "repeat"``: repeats count too).

    ``scopes`` evaluates each course separately (its resources, their events and its learners;
    a scope is the ``scope_columns`` values of a resource joined with ``-``, e.g. OULAD's
    ``"AAA-2013J"``); none: the whole catalog at once. ``baseline`` (default: the first model)
    is what every model is compared with, pairwise over (cut, learner); ``target`` the shipped
    default whose gain is checked against ``target_gain``.
    """

    kind: Literal["rolling"]
    cut_days: list[float] = Field(min_length=1)
    horizon_days: float = Field(7.0, gt=0)
    mode: Literal["first_access", "repeat"] = "first_access"
    start: Timestamp | None = None
    scopes: list[Annotated[str, Field(min_length=1)]] | None = Field(None, min_length=1)
    scope_columns: list[str] = Field(default_factory=lambda: ["code_module", "code_presentation"],
                                     min_length=1)
    baseline: str | None = None
    target: str | None = None
    target_gain: float = Field(0.10, ge=0)
    ceiling: bool = True


SplitConfig = Annotated[
    TemporalSplit | LeaveLastNSplit | LeaveLastFractionSplit | RandomSplit | ColdResourceSplit
    | RollingSplit,
    Field(discriminator="kind"),
]


# --- features, models, evaluation, tracking ------------------------------------------------------

class ModelSpec(_Options):
    """One model to train: a ``MODELS`` name, an optional label (to run a name twice); every
    other key is a constructor parameter, checked against the model's signature."""

    name: str
    label: str | None = Field(None, pattern=NAME_PATTERN)

    @property
    def key(self) -> str:
        return self.label or self.name

    @property
    def params(self) -> dict[str, Any]:
        return self.options


class EvaluationConfig(_Strict):
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
    cold_resources: Literal["as_fitted", "content_mapping"] = "as_fitted"


class TrackingConfig(_Strict):
    uri: str | None = None
    experiment_name: str | None = Field(None, min_length=1)


class ExperimentConfig(_Strict):
    """The whole experiment file. ``models[0]`` is the baseline every other model is tested
    against."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    data: DataConfig
    split: SplitConfig
    features: FeaturesSection = Field(default_factory=FeaturesSection)
    models: list[ModelSpec] = Field(min_length=1)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    @property
    def experiment_name(self) -> str:
        return self.tracking.experiment_name or self.name


# --- loading -------------------------------------------------------------------------------------

_TAGGED = {"data", "split"}  # discriminated unions: pydantic puts the tag into the error location


def _key(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    skip_next = False
    for i, item in enumerate(loc):
        if skip_next:
            skip_next = False
            continue
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
            continue
        parts.append(str(item))
        if i == 0 and item in _TAGGED and len(loc) > 2:
            skip_next = True
    return ".".join(parts) or "(top level)"


def _where(key: str) -> str:
    """``"models[1].factors"`` -> ``"[models[1]] key 'factors'"`` (the training config's style)."""
    section, _, name = key.rpartition(".")
    return f"[{section}] key {name!r}" if section else f"key {name!r}"


def _error(path: Path, key: str, message: str) -> ConfigError:
    return ConfigError(f"{path}: {_where(key)}: {message}")


def _problem(error: dict[str, Any]) -> str:
    key = _key(error["loc"])
    section, _, name = key.rpartition(".")
    where = f"[{section}] " if section else ""
    if error["type"] == "extra_forbidden":
        return f"{where}unknown key {name!r}"
    if error["type"] == "missing":
        return f"{where}missing key {name!r}"
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
    return f"{_where(key)}: {str(error['msg']).removeprefix('Value error, ')}{shown}"


def load_config(path: str | Path, data_root: str | Path | None = None) -> tuple[ExperimentConfig, Path | None]:
    """Read, validate and check an experiment file; returns it with its resolved data path.

    ``data_root`` (the ``--data-root`` option) is the directory holding the real data sets'
    folders; it overrides both the default ``../shared/data`` and a ``data.path`` in the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: experiment file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    try:
        config = ExperimentConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError("; ".join(f"{path}: {_problem(e)}" for e in error.errors())) from None
    _check(config, path)
    return config, resolve_data_path(config, path, data_root)


def _check(config: ExperimentConfig, path: Path) -> None:
    """Checks pydantic cannot express: names, parameters and combinations."""
    from recommender.data.loaders import LOADERS
    from recommender.data.sample_world import generate_world
    from recommender.models import MODELS

    evaluation = config.evaluation
    if evaluation.main_k not in evaluation.k_values:
        raise _error(path, "evaluation.main_k", f"{evaluation.main_k} is not one of k_values {evaluation.k_values}")
    split = config.split
    if isinstance(split, RollingSplit):
        labels = [spec.key for spec in config.models]
        for key in ("baseline", "target"):
            value = getattr(split, key)
            if value is not None and value not in labels:
                raise _error(path, f"split.{key}", f"{value!r} is not a model label {labels}")
    elif split.candidates in ("open", "active") and not isinstance(split, TemporalSplit):
        raise _error(path, "split.candidates", f"{split.candidates!r} needs a temporal split (a cut to look from)")

    data = config.data
    problems: list[str] = []
    if isinstance(data, SampleData):
        problems += check_params(generate_world, data.options, "data")
    elif isinstance(data, LoaderData):
        problems += check_params(LOADERS[data.source], data.options, "data", skip=("path",))
    keys = [spec.key for spec in config.models]
    for i, spec in enumerate(config.models):
        if spec.name not in MODELS:
            raise _error(path, f"models[{i}].name", f"unknown model {spec.name!r}; choose from {sorted(MODELS)}")
        if "interaction_weights" in spec.params:
            raise _error(path, f"models[{i}].interaction_weights", "set [features] instead")
        problems += check_params(MODELS[spec.name], spec.params, f"models[{i}]")
        if spec.key in keys[:i]:
            raise _error(path, f"models[{i}].label", f"{spec.key!r} is used twice; give each run its own label")
    if problems:
        raise ConfigError("; ".join(f"{path}: {problem}" for problem in problems))


def resolve_data_path(config: ExperimentConfig, path: Path, data_root: str | Path | None = None) -> Path | None:
    """The data directory (``None`` for the sample world), checked to exist."""
    data = config.data
    if isinstance(data, SampleData):
        return None
    if isinstance(data, LoaderData) and data_root is not None:
        resolved = Path(data_root) / DATA_FOLDERS[data.source]
        origin = f"--data-root {data_root}"
    elif data.path is not None:
        resolved = Path(data.path).expanduser()
        resolved = resolved if resolved.is_absolute() else path.resolve().parent / resolved
        origin = f"data.path = {data.path!r} (relative to the experiment file)"
    else:
        resolved = DEFAULT_DATA_ROOT / DATA_FOLDERS[data.source]
        origin = "the default ../shared/data next to the repository; set data.path or --data-root"
    if not resolved.is_dir():
        raise _error(path, "data.path", f"data directory {resolved} does not exist (from {origin})")
    return resolved


def config_digest(path: Path) -> str:
    """A short sha256 of the file's text, logged so a run is tied to the exact file."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def safe_name(value: object) -> str:
    """A value usable inside an MLflow metric key (letters, digits, _ - . / and spaces)."""
    return re.sub(r"[^\w\-./ ]", "_", str(value)).strip() or "_"
