"""The training config: one TOML (or YAML) file names everything a run depends on.

Data source, feature settings, model and hyper-parameters, validation split, metrics, seed,
tracking and registry names. It is validated whole before any work starts: an unknown key, a
wrong type or a missing data path raises :class:`ConfigError` naming the file, the section and
the key. The same config and seed give the same run.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from recommender.data.loaders import LOADERS
from recommender.errors import ConfigError
from recommender.evaluation.groups import DEFAULT_ATTRIBUTES
from recommender.evaluation.metrics import METRICS
from recommender.features import InteractionWeights
from recommender.features.interactions import DEFAULT_EVENT_WEIGHTS
from recommender.models import MODELS
from recommender.callable_params import check_params



class Section(BaseModel):
    """A config table: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _existing_path(value: Path, info: ValidationInfo) -> Path:
    """Resolve ``value`` against the config file's directory and require that it exists."""
    base = (info.context or {}).get("base_dir")
    path = value if value.is_absolute() or base is None else Path(base) / value
    path = path.resolve()
    if not path.exists():
        raise ValueError(f"path does not exist: {path}")
    return path


class SampleData(Section):
    """The built-in sample world (:func:`recommender.data.sample_world.generate_world`)."""

    source: Literal["sample"] = "sample"
    n_learners: int = Field(2000, ge=1)
    n_resources: int = Field(400, ge=1)
    events_per_learner: float = Field(30.0, ge=1)
    days: int = Field(365, ge=1)
    start: str = "2024-01-01"
    seed: int | None = Field(None, ge=0, description="default: the config's seed")


class DirectoryData(Section):
    """Contract tables (CSV or Parquet) in one directory."""

    source: Literal["directory"]
    path: Path

    _check_path = field_validator("path")(_existing_path)


class LoaderData(Section):
    """A real data set read by one of :data:`recommender.data.loaders.LOADERS`.

    Keys besides ``source`` and ``path`` are the loader's options (e.g. OULAD's
    ``presentations``), checked against the loader's signature.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    source: Literal["oulad", "mars", "canvas"]
    path: Path

    _check_path = field_validator("path")(_existing_path)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def _data_tag(value: Any) -> str | None:
    source = value.get("source", "sample") if isinstance(value, dict) else getattr(
        value, "source", None)
    return "loader" if source in LOADERS else source


DataSection = Annotated[
    Annotated[SampleData, Tag("sample")]
    | Annotated[DirectoryData, Tag("directory")]
    | Annotated[LoaderData, Tag("loader")],
    Discriminator(_data_tag),
]


class EventWeights(Section):
    """Weight of each event type; unset types keep the library's defaults."""

    view: float = DEFAULT_EVENT_WEIGHTS["view"]
    enroll: float = DEFAULT_EVENT_WEIGHTS["enroll"]
    progress: float = DEFAULT_EVENT_WEIGHTS["progress"]
    complete: float = DEFAULT_EVENT_WEIGHTS["complete"]
    rate: float = DEFAULT_EVENT_WEIGHTS["rate"]
    bookmark: float = DEFAULT_EVENT_WEIGHTS["bookmark"]
    dismiss: float = DEFAULT_EVENT_WEIGHTS["dismiss"]


class FeaturesSection(Section):
    """How events become confidence (:class:`recommender.features.InteractionWeights`)."""

    event_weights: EventWeights = EventWeights()
    use_value_for: list[str] = ["view"]
    half_life_days: float | None = Field(None, gt=0)
    log_scale: bool = True

    def interaction_weights(self) -> InteractionWeights:
        return InteractionWeights(
            event_weights=self.event_weights.model_dump(),
            use_value_for=tuple(self.use_value_for),
            half_life_days=self.half_life_days,
            log_scale=self.log_scale,
        )


class ModelSection(Section):
    """``name`` is a key of :data:`recommender.models.MODELS`; every other key is a
    hyper-parameter of that model's constructor, checked against its signature."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = "als"

    @field_validator("name")
    @classmethod
    def _known_model(cls, name: str) -> str:
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; choose from {sorted(MODELS)}")
        return name

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ValidationBase(Section):
    """The hold-out evaluation: which metrics at which k, the promotion metric, groups."""

    enabled: bool = True
    k: list[Annotated[int, Field(ge=1)]] = Field([5, 10, 20], min_length=1)
    metric: str = "ndcg_at_10"
    higher_is_better: bool = True
    group_attributes: list[str] = list(DEFAULT_ATTRIBUTES)
    min_group_size: int = Field(20, ge=1)

    @model_validator(mode="after")
    def _metric_is_computed(self) -> ValidationBase:
        computed = {f"{name}_at_{k}" for name in METRICS for k in self.k} | {
            f"coverage_at_{k}" for k in self.k
        }
        if self.metric not in computed:
            raise ValueError(
                f"metric {self.metric!r} is not computed; use <name>_at_<k> with name in "
                f"{sorted(METRICS)} and k in {self.k}"
            )
        return self

    @property
    def main_k(self) -> int:
        return int(self.metric.rsplit("_at_", 1)[1])

    def split_params(self) -> dict[str, Any]:
        """The fields that decide which events are held out (the split's identity)."""
        return self.model_dump(exclude=set(ValidationBase.model_fields))


class LeaveLastFraction(ValidationBase):
    split: Literal["leave_last_fraction"] = "leave_last_fraction"
    fraction: float = Field(0.2, gt=0, lt=1)
    min_events: int = Field(3, ge=1)


class LeaveLastN(ValidationBase):
    split: Literal["leave_last_n"]
    n: int = Field(1, ge=1)
    min_train_events: int = Field(1, ge=0)


class Temporal(ValidationBase):
    split: Literal["temporal"]
    cut: str
    horizon_end: str | None = None


def _split_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("split", "leave_last_fraction")
    return getattr(value, "split", None)


ValidationSection = Annotated[
    Annotated[LeaveLastFraction, Tag("leave_last_fraction")]
    | Annotated[LeaveLastN, Tag("leave_last_n")]
    | Annotated[Temporal, Tag("temporal")],
    Discriminator(_split_tag),
]


class TrackingSection(Section):
    """Where runs go. ``uri`` unset: the operator's settings (a local SQLite store by default)."""

    uri: str | None = None
    experiment: str = "lifelong-recommender"
    registered_model: str = "lifelong-recommender"
    production_alias: str = "production"
    register_version: bool = True


class RangeSpec(Section):
    """A numeric range for random search; integers when both ends are integers."""

    low: int | float
    high: int | float
    log: bool = False

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


class TuneSection(Section):
    """Random search: ``space`` maps a dotted config key to a list of values or a range."""

    space: dict[str, list[Any] | RangeSpec] = Field(min_length=1)
    metric: str | None = Field(None, description="default: [validation] metric")
    trials: int = Field(10, ge=1)

    @field_validator("space")
    @classmethod
    def _tunable_keys(cls, space: dict[str, Any]) -> dict[str, Any]:
        for key, values in space.items():
            if key.split(".", 1)[0] not in ("model", "features"):
                raise ValueError(
                    f"key {key!r}: only model.* and features.* keys can be tuned "
                    "(data, split and tracking stay fixed so trials are comparable)"
                )
            if isinstance(values, list) and not values:
                raise ValueError(f"key {key!r}: an empty list of values")
        return space


class TrainConfig(Section):
    """One training run, fully described."""

    seed: int = Field(0, ge=0)
    data: DataSection = SampleData()
    features: FeaturesSection = FeaturesSection()
    model: ModelSection = ModelSection()
    validation: ValidationSection = LeaveLastFraction()
    tracking: TrackingSection = TrackingSection()
    tune: TuneSection | None = None

    def data_seed(self) -> int:
        seed = getattr(self.data, "seed", None)
        return self.seed if seed is None else int(seed)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested data (TOML-able: no None), from which the same config validates."""
        return _drop_none(self.model_dump(mode="json"))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


# --- reading and checking ----------------------------------------------------------------------

def read_config_file(path: Path) -> dict[str, Any]:
    """The raw tables of a TOML (or .yaml/.yml) file; unreadable input raises ConfigError."""
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable config file: {exc}") from None
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    else:
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a table of sections")
    return raw


def load_config(path: Path) -> TrainConfig:
    """Read and validate the config at ``path`` (relative data paths: from its directory)."""
    return parse_config(read_config_file(path), source=str(path), base_dir=path.parent)


def parse_config(
    raw: dict[str, Any], *, source: str, base_dir: Path | None = None
) -> TrainConfig:
    """Validate raw tables into a :class:`TrainConfig`; every problem names ``source``."""
    try:
        config = TrainConfig.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as error:
        raise ConfigError(_describe(error, source)) from None
    problems = check_params(MODELS[config.model.name], config.model.params, "model")
    if isinstance(config.data, LoaderData):
        problems += check_params(
            LOADERS[config.data.source], config.data.options, "data", skip=("path",)
        )
    if problems:
        raise ConfigError("; ".join(f"{source}: {p}" for p in problems))
    return config


_TAGS = {"sample", "directory", "loader", "leave_last_fraction", "leave_last_n", "temporal"}


def _describe(error: ValidationError, source: str) -> str:
    """One line per problem: ``file: [section] unknown key 'x'`` and the like."""
    lines = []
    for item in error.errors():
        if item["type"] == "list_type" and isinstance(item.get("input"), dict) and any(
            "[" in str(p) for p in item["loc"]
        ):
            continue  # a table where a list-or-range is allowed: the range branch's errors speak
        loc = [str(p) for p in item["loc"] if str(p) not in _TAGS and "[" not in str(p)]
        section, key = _split_location(loc, item["type"])
        where = f"[{section}] " if section else ""
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            key = "source" if loc[-1:] == ["data"] else "split"
            got = item.get("input", {})
            got = got.get(key) if isinstance(got, dict) else got
            choices = ["sample", "directory", *LOADERS] if key == "source" else [
                "leave_last_fraction", "leave_last_n", "temporal"]
            lines.append(f"{source}: [{'.'.join(loc)}] key {key!r}: unknown value {got!r}; "
                         f"choose from {choices}")
        elif item["type"] == "extra_forbidden":
            lines.append(f"{source}: {where}unknown key {key!r}")
        elif item["type"] == "missing":
            lines.append(f"{source}: {where}missing key {key!r}")
        elif key:
            got = item.get("input")
            shown = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"{source}: {where}key {key!r}: {_message(item)}{shown}")
        else:
            lines.append(f"{source}: {where}{_message(item)}")
    return "; ".join(lines)


def _split_location(loc: list[str], kind: str) -> tuple[str, str | None]:
    """(section path, key). A model-level check has no key: its whole loc is the section."""
    if not loc:
        return "", None
    if kind == "value_error" and loc[-1] in ("data", "validation", "tune", "space"):
        return ".".join(loc), None
    return ".".join(loc[:-1]), loc[-1]


def _message(item: dict[str, Any]) -> str:
    message = str(item["msg"])
    return message.removeprefix("Value error, ")
