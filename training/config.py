"""The training config: one TOML (or YAML) file names everything a run depends on.

Data source, split, features and model are the spec's sections (:mod:`recommender.spec`),
shared with experiment files; this module adds what only training has: the seed, the hold-out
metrics and promotion rule (``[validation]``), tracking and registry names, and the ``[tune]``
search space. The file is validated whole before any work starts: an unknown key, a wrong type
or a missing data path raises :class:`ConfigError` naming the file, the section and the key.
The same config and seed give the same run.

Older files put the split inside ``[validation]`` (``split = "..."`` and its keys); they are
read as the ``[split]`` table they stand for (``split`` becomes ``kind``), and errors in them
still name ``[validation]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from recommender.evaluation.groups import DEFAULT_ATTRIBUTES
from recommender.evaluation.metrics import METRICS
from recommender.selection import AUTO
from recommender.selection.family import ColdResources
from recommender.spec import (
    HOLDOUT_KINDS,
    MOVED_KEYS,
    DataSection,
    EngineSection,
    FeaturesSection,
    LeaveLastFractionSplit,
    LocalEngine,
    ModelSection,
    RollingSplit,
    SampleData,
    Section,
    SplitSection,
    read_config_file,
    tag,
    validate_config,
)
from recommender.spec.features import check_time_and_split

# Keys of any hold-out split, which older files wrote inside [validation].
_SPLIT_KEYS = {name for cls in HOLDOUT_KINDS.values() for name in cls.model_fields} - {"kind"}


class TrainModelSection(ModelSection):
    """The model to train; without a ``name``, ``auto``: the family and its main
    hyper-parameters chosen on a validation split (:class:`recommender.selection.FamilySearch`)."""

    name: str = AUTO


class ValidationSection(Section):
    """The hold-out evaluation: which metrics at which k, the promotion metric, groups."""

    enabled: bool = True
    k: list[Annotated[int, Field(ge=1)]] = Field([5, 10, 20], min_length=1)
    metric: str = "ndcg_at_10"
    higher_is_better: bool = True
    group_attributes: list[str] = list(DEFAULT_ATTRIBUTES)
    min_group_size: int = Field(20, ge=1)
    # Resources without training interactions (new to the hold-out, e.g. a cold-resource or a
    # new-course split): scored as the model fitted them, or with the vectors a bundle would
    # serve them, mapped from their content; the default model (auto) validates the same way.
    cold_resources: ColdResources = "as_fitted"

    @model_validator(mode="after")
    def _metric_is_computed(self) -> ValidationSection:
        computed = {f"{name}_at_{k}" for name in METRICS for k in self.k} | {
            f"coverage_at_{k}" for k in self.k
        }
        if self.metric not in computed:
            raise ValueError(
                f"key 'metric': {self.metric!r} is not computed; use <name>_at_<k> with name "
                f"in {sorted(METRICS)} and k in {self.k}"
            )
        return self

    @property
    def main_k(self) -> int:
        return int(self.metric.rsplit("_at_", 1)[1])


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


def _space_tag(value: Any) -> str:
    return tag("range" if isinstance(value, (dict, RangeSpec)) else "values")


SpaceValues = Annotated[
    Annotated[list[Any], Tag(tag("values"))] | Annotated[RangeSpec, Tag(tag("range"))],
    Discriminator(_space_tag),
]


class TuneSection(Section):
    """Random search: ``space`` maps a dotted config key to a list of values or a range."""

    space: dict[str, SpaceValues] = Field(min_length=1)
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
    model: TrainModelSection = TrainModelSection()
    split: SplitSection = LeaveLastFractionSplit()
    validation: ValidationSection = ValidationSection()
    tracking: TrackingSection = TrackingSection()
    engine: EngineSection = LocalEngine()
    tune: TuneSection | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_keys_in_validation(cls, raw: Any, info: ValidationInfo) -> Any:
        """Read an older file's ``[validation] split = ...`` (and that split's keys) as
        ``[split] kind = ...``; errors keep naming ``[validation]``."""
        if not isinstance(raw, dict) or not isinstance(raw.get("validation"), dict):
            return raw
        validation = dict(raw["validation"])
        moved = {key: validation.pop(key) for key in list(validation)
                 if key == "split" or key in _SPLIT_KEYS}
        if not moved:
            return raw
        if "split" in raw:
            names = ", ".join(sorted(moved))
            raise ValueError(f"[validation] keys {names} belong in [split] (with 'kind' for "
                             "'split'), which this file also has: write them there only")
        moved["kind"] = moved.pop("split", "leave_last_fraction")
        if isinstance(info.context, dict):
            info.context[MOVED_KEYS] = {("split",): ("validation",),
                                        ("split", "kind"): ("validation", "split")}
        return {**raw, "validation": validation, "split": moved}

    @model_validator(mode="after")
    def _time_fits_the_split(self) -> TrainConfig:
        check_time_and_split(self.features, self.split)
        return self

    @model_validator(mode="after")
    def _scores_every_resource(self) -> TrainConfig:
        if isinstance(self.split, RollingSplit):
            extra = [key for key in ("scopes", "baseline", "target")
                     if getattr(self.split, key) is not None]
            if extra:
                raise ValueError(f"[split] keys {extra} compare models or courses in an "
                                 "experiment file; a training run validates its one model "
                                 "over the whole catalog")
            return self
        if self.split.candidates != "all":
            raise ValueError(f"[split] key 'candidates': {self.split.candidates!r} is an "
                             "experiment setting; the training hold-out scores every resource")
        return self

    @model_validator(mode="after")
    def _engine_fits_the_model(self) -> TrainConfig:
        if "solver_form" in self.model.params:
            raise ValueError("[model] key 'solver_form': set by [engine] kind, not by hand")
        if self.engine.kind == "spark":
            if self.model.name != "als":
                raise ValueError(f"[engine] kind 'spark' fits ALS only; [model] name is "
                                 f"{self.model.name!r} (use kind = 'local' for it)")
            if self.engine.events is not None and self.features.time == "ordinal":
                raise ValueError("[engine] key 'events': the Parquet events keep their clock "
                                 "times; with [features] time = 'ordinal' leave it out (the "
                                 "driver's events, made ordinal, go to Spark)")
            if float(self.model.params.get("alpha", 2.0)) <= 0:
                raise ValueError("[model] key 'alpha': must be > 0 for [engine] kind 'spark'")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain nested data (TOML-able: no None), from which the same config validates."""
        return _drop_none(self.model_dump(mode="json"))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


# --- reading -----------------------------------------------------------------------------------

def load_config(path: Path) -> TrainConfig:
    """Read and validate the config at ``path`` (relative data paths: from its directory)."""
    return parse_config(read_config_file(path), source=str(path), base_dir=path.parent)


def parse_config(
    raw: dict[str, Any], *, source: str, base_dir: Path | None = None
) -> TrainConfig:
    """Validate raw tables into a :class:`TrainConfig`; every problem names ``source``."""
    return validate_config(TrainConfig, raw, source=source, context={"base_dir": base_dir})

