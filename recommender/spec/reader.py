"""Reading a config file and saying what is wrong with it, once for every front end.

Every problem becomes one line ``file: [section] key 'x': message`` (or ``unknown key``,
``missing key``), joined with ``; `` into one :class:`~recommender.errors.ConfigError`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError, ValidationInfo

from recommender.errors import ConfigError
from recommender.spec.base import PROBLEM_SEPARATOR

ConfigT = TypeVar("ConfigT", bound=BaseModel)
# Context key under which a before-validator records that it moved keys (old spellings), so
# errors name the key where the file wrote it: {("split", "kind"): ("validation", "split")}.
MOVED_KEYS = "moved_keys"
Location = tuple[str, ...]


def tag(name: str) -> str:
    """A discriminated union's tag, marked so the formatter leaves it out of locations."""
    return f"<{name}>"


def read_config_file(path: Path) -> dict[str, Any]:
    """The raw tables of a TOML (or ``.yaml``/``.yml``) file; unreadable input raises
    :class:`ConfigError` naming the file."""
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


def relative_to_config(value: Path, info: ValidationInfo) -> Path:
    """A path a config file names, absolute: relative ones are read from the file's directory
    (the validation context's ``base_dir``, when the config came from a file)."""
    resolved = value.expanduser()
    base = (info.context or {}).get("base_dir")
    if not resolved.is_absolute() and base is not None:
        resolved = Path(base) / resolved
    return resolved.resolve()


def validate_config(
    model: type[ConfigT], raw: Mapping[str, Any], *, source: str,
    context: Mapping[str, Any] | None = None,
) -> ConfigT:
    """``raw`` validated as ``model``; every problem names ``source``, the section and the key.

    ``context`` carries what validators need from the front end (``base_dir`` of the file,
    ``data_root`` / ``default_root`` for real data sets)."""
    state = dict(context or {})
    try:
        return model.model_validate(raw, context=state)
    except ValidationError as error:
        raise ConfigError(describe(error, source, state.get(MOVED_KEYS, {}))) from None


def describe(error: ValidationError, source: str,
             moved: Mapping[Location, Location] | None = None) -> str:
    """One ``file: [section] ...`` line per problem, joined with ``; ``."""
    lines: list[str] = []
    for item in error.errors():
        parts = _relocate(_parts(item["loc"]), moved or {})
        kind, got, context = item["type"], item.get("input"), item.get("ctx") or {}
        if kind == "unknown_variant":
            key = str(context["key"])
            value = got.get(key) if isinstance(got, dict) else None
            parts = _relocate((*_parts(item["loc"]), key), moved or {})
            choices = f"choose from [{context['choices']}]"
            text = (f"missing key {parts[-1]!r}; {choices}" if value is None
                    else f"key {parts[-1]!r}: unknown value {value!r}; {choices}")
            lines.append(f"{source}: {_where(parts[:-1])}{text}")
        elif kind in ("extra_forbidden", "missing"):
            word = "unknown" if kind == "extra_forbidden" else "missing"
            lines.append(f"{source}: {_where(parts[:-1])}{word} key {parts[-1]!r}")
        elif isinstance(got, dict) or not parts:  # a check of a whole table
            for text in _message(item).split(PROBLEM_SEPARATOR):
                lines.append(f"{source}: {_where(parts)}{text}")
        else:
            shown = "" if isinstance(got, (list, tuple)) else f" (got {got!r})"
            lines.append(f"{source}: {_where(parts[:-1])}key {parts[-1]!r}: "
                         f"{_message(item)}{shown}")
    return "; ".join(lines)


def _parts(loc: tuple[int | str, ...]) -> Location:
    """Location -> names: union tags dropped, list indices attached (``models[1]``)."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            if parts:
                parts[-1] = f"{parts[-1]}[{item}]"
            else:
                parts.append(f"[{item}]")
        elif not (item.startswith("<") and item.endswith(">")):
            parts.append(item)
    return tuple(parts)


def _relocate(parts: Location, moved: Mapping[Location, Location]) -> Location:
    """``parts`` where the file wrote them, for keys a before-validator moved."""
    for old, new in sorted(moved.items(), key=lambda pair: -len(pair[0])):
        if parts[:len(old)] == old:
            return (*new, *parts[len(old):])
    return parts


def _where(section: Location) -> str:
    return f"[{'.'.join(section)}] " if section else ""


def _message(item: Mapping[str, Any]) -> str:
    return str(item["msg"]).removeprefix("Value error, ")
