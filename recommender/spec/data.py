"""The ``[data]`` section: where a run's three tables come from, and how to get them.

One definition for training and experiment files: the generated sample world, a directory of
contract tables, or a real data set read by one of :data:`recommender.data.loaders.LOADERS`
(its options checked against the loader's signature). Relative paths are resolved from the
config file's directory, once, while the file is validated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from recommender.callable_params import coerce_params
from recommender.data import Dataset, load_directory
from recommender.data.loaders import LOADERS
from recommender.data.sample_world import DEFAULT_SIZE, generate_world
from recommender.spec.base import OptionsSection, Section, signature_problems
from recommender.spec.reader import relative_to_config
from recommender.spec.reader import tag

# Where each real data set lives under a data root (as shipped in ``../shared/data``).
DATA_FOLDERS: dict[str, str] = {
    "oulad": "oulad",
    "mars": "mars_mandarine_academy_en",
    "canvas": "canvas_network_cnpc",
}
DATA_SOURCES = ("sample", "directory", *LOADERS)


class SampleData(Section):
    """The generated sample world (:func:`recommender.data.sample_world.generate_world`)."""

    source: Literal["sample"] = "sample"
    n_learners: int = Field(DEFAULT_SIZE["n_learners"], ge=1)
    n_resources: int = Field(DEFAULT_SIZE["n_resources"], ge=1)
    events_per_learner: float = Field(30.0, ge=1)
    days: int = Field(365, ge=1)
    as_of: str | None = Field(None, description="the world's last day (ISO 8601); default: "
                              "today, so its courses are open now")
    start: str | None = Field(None, description="older configs: the first day instead "
                              "(as_of = start + days)")
    seed: int | None = Field(None, ge=0, description="default: the run's seed")

    @field_validator("as_of", "start")
    @classmethod
    def _a_date(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                bad = pd.isna(pd.Timestamp(value))
            except (TypeError, ValueError):
                bad = True
            if bad:
                raise ValueError("must be an ISO 8601 date or date-time such as '2025-06-01'")
        return value

    @model_validator(mode="after")
    def _one_anchor(self) -> SampleData:
        if self.as_of is not None and self.start is not None:
            raise ValueError("set as_of or start, not both")
        return self

    def build(self, seed: int) -> Dataset:
        """The world; ``seed`` (the run's) unless the section sets its own."""
        return generate_world(
            self.n_learners, self.n_resources, seed if self.seed is None else self.seed,
            events_per_learner=self.events_per_learner, as_of=self.as_of, start=self.start,
            days=self.days,
        )


def _resolve(value: Path | None, info: ValidationInfo) -> Path:
    """The one data-path rule: ``data_root`` (a command-line override) wins for a real data
    set, then the file's ``path`` (relative to the file), then ``default_root``; the
    directory must exist. The roots and the file's directory come from the validation context."""
    context = info.context or {}
    source = info.data.get("source")
    folder = DATA_FOLDERS.get(source) if isinstance(source, str) else None
    data_root, default_root = context.get("data_root"), context.get("default_root")
    if folder is not None and data_root is not None:
        resolved, origin = Path(data_root) / folder, f"--data-root {data_root}"
    elif value is not None:
        resolved = relative_to_config(value, info)
        origin = f"path = {str(value)!r}, relative to the config file"
    elif folder is not None and default_root is not None:
        resolved = Path(default_root) / folder
        origin = f"the default {default_root}; set [data] path or --data-root"
    else:
        raise PydanticCustomError("missing", "Field required")
    resolved = resolved.resolve()
    if not resolved.is_dir():
        raise ValueError(f"data directory {resolved} does not exist (from {origin})")
    return resolved


class DirectoryData(Section):
    """Contract tables (CSV or Parquet) in one directory."""

    source: Literal["directory"]
    path: Path

    _resolve_path = field_validator("path")(_resolve)

    def build(self, seed: int) -> Dataset:
        """The validated tables (``seed`` unused: nothing is drawn)."""
        return load_directory(self.path)


class LoaderData(OptionsSection):
    """A real data set read by its loader. ``path`` may be left out when the front end knows
    a data root; other keys (OULAD's ``presentations``, Canvas's ``min_courses``) are the
    loader's options, checked against its signature."""

    source: Literal["oulad", "mars", "canvas"]
    path: Path | None = Field(None, validate_default=True)

    _resolve_path = field_validator("path")(_resolve)

    @model_validator(mode="after")
    def _known_options(self) -> LoaderData:
        problems = signature_problems(LOADERS[self.source], self.options, skip=("path",))
        if problems:
            raise ValueError(problems)
        return self

    def build(self, seed: int) -> Dataset:
        """The loaded data set (``seed`` unused: loaders read, they do not draw)."""
        loader = LOADERS[self.source]
        return loader(self.path, **coerce_params(loader, self.options))


def _data_tag(value: Any) -> str | None:
    source = value.get("source", "sample") if isinstance(value, dict) else getattr(
        value, "source", None)
    return tag("loader" if source in LOADERS else str(source))


DataSection = Annotated[
    Annotated[SampleData, Tag(tag("sample"))]
    | Annotated[DirectoryData, Tag(tag("directory"))]
    | Annotated[LoaderData, Tag(tag("loader"))],
    Discriminator(_data_tag, custom_error_type="unknown_variant",
                  custom_error_message="unknown value",
                  custom_error_context={"key": "source", "choices": ", ".join(DATA_SOURCES)}),
]
"""``source`` picks the variant (``sample`` when absent); each variant's ``build(seed)``
returns the validated :class:`~recommender.data.Dataset`."""
