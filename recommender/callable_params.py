"""Check config keys against a callable's signature (model constructors, data loaders).

Models and loaders are added by other people; deriving the accepted keys and their types from
the signature keeps the config honest without a second list to maintain.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from pydantic import ConfigDict, PydanticSchemaGenerationError, TypeAdapter, ValidationError


def accepted_params(func: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """Keyword-settable parameters of ``func`` (for a class: of its constructor)."""
    target = func.__init__ if inspect.isclass(func) else func  # type: ignore[misc]
    params = inspect.signature(target).parameters
    return {
        name: p for name, p in params.items()
        if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


@lru_cache(maxsize=None)
def _adapters(func: Callable[..., Any]) -> dict[str, TypeAdapter[Any]]:
    """A pydantic adapter per annotated parameter; unresolvable hints are not type-checked."""
    target = func.__init__ if inspect.isclass(func) else func  # type: ignore[misc]
    try:
        hints = typing.get_type_hints(target)
    except (NameError, TypeError):
        return {}
    adapters = {}
    for name, hint in hints.items():
        if name == "return":
            continue
        try:
            adapters[name] = TypeAdapter(hint, config=ConfigDict(arbitrary_types_allowed=True))
        except (PydanticSchemaGenerationError, TypeError, NameError):
            continue
    return adapters


def check_params(
    func: Callable[..., Any], params: dict[str, Any], section: str, skip: Iterable[str] = ()
) -> list[str]:
    """Problems with ``params`` for ``func``, each naming ``[section]`` and the key."""
    accepted = accepted_params(func)
    adapters = _adapters(func)
    skipped = set(skip)
    problems = []
    for key, value in params.items():
        if key not in accepted or key in skipped:
            allowed = sorted(set(accepted) - skipped)
            problems.append(f"[{section}] unknown key {key!r} (accepted: {allowed})")
            continue
        adapter = adapters.get(key)
        if adapter is None:
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as error:
            message = error.errors()[0]["msg"]
            problems.append(f"[{section}] key {key!r}: {message} (got {value!r})")
    return problems


def coerce_params(func: Callable[..., Any], params: dict[str, Any]) -> dict[str, Any]:
    """``params`` converted to ``func``'s annotated types (lists to tuples where it wants them).

    Call after :func:`check_params` found no problems.
    """
    adapters = _adapters(func)
    return {
        key: adapters[key].validate_python(value) if key in adapters else value
        for key, value in params.items()
    }
