"""The base of every config section: unknown keys are errors, values are frozen."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from recommender.callable_params import check_params

# A problem message may hold several problems, one per line; the formatter prefixes each with
# the file and the section it belongs to.
PROBLEM_SEPARATOR = "\n"


class Section(BaseModel):
    """A config table: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionsSection(BaseModel):
    """A table whose extra keys are a callable's keyword arguments (checked by signature)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def signature_problems(
    func: Callable[..., Any], params: dict[str, Any], skip: Iterable[str] = ()
) -> str | None:
    """``params`` checked against ``func``'s signature, as one message for a validator to raise
    (the section is named by the error formatter, which knows where the table is)."""
    problems = check_params(func, params, "", skip=skip)
    if not problems:
        return None
    return PROBLEM_SEPARATOR.join(p.removeprefix("[] ") for p in problems)
