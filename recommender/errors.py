"""One exception tree for the whole library.

Every error the library raises on purpose derives from :class:`RecommenderError`, so entry
points (the CLI, the API) can map the tree to exit codes and HTTP statuses in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


class RecommenderError(Exception):
    """Base of every error this library raises deliberately."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one cell (or one column) of one input table."""

    table: str
    column: str
    row: int | None
    value: object
    message: str
    source: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        row = f", row {self.row}" if self.row is not None else ""
        value = "" if self.value is None else f", value {self.value!r}"
        return f"{where}table {self.table!r}, column {self.column!r}{row}{value}: {self.message}"


class DataValidationError(RecommenderError, ValueError):
    """Input tables break the data contract.

    Holds every problem found (``problems``) plus how many occurrences each check saw
    (``counts``), so a validate run can report all of them rather than the first.
    Rows are 1-based data rows (the header is not counted).
    """

    def __init__(self, problems: list[Problem], total: int | None = None) -> None:
        self.problems = list(problems)
        self.total = total if total is not None else len(self.problems)
        head = "; ".join(str(p) for p in self.problems[:5])
        more = self.total - min(5, len(self.problems))
        suffix = f" (and {more} more)" if more > 0 else ""
        super().__init__(f"invalid input: {head}{suffix}")


class UnknownIdError(RecommenderError, LookupError):
    """An id that the fitted model, bundle or catalog does not know."""

    def __init__(self, kind: str, external_id: object) -> None:
        self.kind = kind
        self.external_id = external_id
        super().__init__(f"unknown {kind} id {external_id!r}")

    def __str__(self) -> str:  # LookupError would otherwise quote the message
        return f"unknown {self.kind} id {self.external_id!r}"


class InvalidParameterError(RecommenderError, ValueError):
    """A parameter value outside what the function accepts; names the parameter."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"parameter {name!r}={value!r}: expected {expected}")


class NotFittedError(RecommenderError, RuntimeError):
    """A model was used before ``fit()``."""

    def __init__(self, model: object) -> None:
        super().__init__(f"{type(model).__name__} is not fitted yet: call fit() first")


class BundleError(RecommenderError):
    """A model bundle is missing, incomplete, or in a format this version does not read."""


class ModelNotLoadedError(RecommenderError):
    """The service has no usable model bundle loaded."""


class ConfigError(RecommenderError, ValueError):
    """A configuration file or setting is wrong; names the key and the file."""
