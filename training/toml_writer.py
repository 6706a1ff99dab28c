"""Write a config back out as TOML (``tomllib`` only reads): tables of scalars and lists."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as TOML")


def dumps(tree: Mapping[str, Any]) -> str:
    """TOML text for nested mappings (None values are left out: TOML has no null)."""
    lines: list[str] = []
    _table(tree, [], lines)
    return "\n".join(lines).strip() + "\n"


def _table(tree: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in tree.items() if v is not None and not isinstance(v, Mapping)}
    tables = {k: v for k, v in tree.items() if isinstance(v, Mapping)}
    if path and (scalars or not tables):
        lines.append(f"\n[{'.'.join(_key(p) for p in path)}]")
    lines.extend(f"{_key(str(k))} = {_value(v)}" for k, v in scalars.items())
    for key, sub in tables.items():
        _table(sub, [*path, str(key)], lines)
