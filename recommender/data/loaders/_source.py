"""Reading third-party source files so that every failure names the file, column and row.

The loaders read original files as shipped (gzip CSV/TSV). A missing directory or file, an
unreadable file, a missing column or a cell that does not parse all raise one
:class:`~recommender.errors.DataValidationError`, like :func:`recommender.data.io.read_table`.
Numeric columns are parsed by the C reader first (fast on a million rows); only when that fails
is the file read again as text to find the offending cells.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.errors import DataValidationError, Problem

MAX_EXAMPLES = 20
_READ_ERRORS = (OSError, EOFError, ValueError, UnicodeDecodeError, pd.errors.ParserError)


def source_name(path: Path) -> str:
    """A file's table-like name: ``studentVle_first1048575rows`` for ``...rows.tsv.gz``."""
    return path.name.split(".")[0]


def require_directory(path: str | os.PathLike[str], dataset: str) -> Path:
    """The directory as a Path; a missing one is a validation error naming it."""
    directory = Path(path)
    if not directory.is_dir():
        raise DataValidationError(
            [Problem(dataset, "-", None, str(directory), f"{dataset} directory not found",
                     str(directory))]
        )
    return directory


def require_file(directory: Path, names: Sequence[str], dataset: str) -> Path:
    """The first of ``names`` present in ``directory``; none present names the expected path."""
    for name in names:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    expected = directory / names[0]
    alternatives = f" (or {', '.join(names[1:])})" if len(names) > 1 else ""
    raise DataValidationError(
        [Problem(source_name(expected), "-", None, str(expected),
                 f"{dataset} file not found{alternatives}", str(expected))]
    )


def read_source(
    path: Path,
    text: Sequence[str] = (),
    integer: Sequence[str] = (),
    floating: Sequence[str] = (),
    sep: str = ",",
) -> pd.DataFrame:
    """Read the named columns of a delimited (optionally gzip) file.

    ``text`` columns stay strings (empty cells become missing; literal markers such as "N/A"
    are left for the caller, who knows what they mean). ``integer`` columns must be whole numbers
    in every row; ``floating`` columns may be empty. Anything else raises a validation error.
    """
    table = source_name(path)
    columns = [*text, *integer, *floating]
    try:
        header = pd.read_csv(path, sep=sep, nrows=0).columns
    except _READ_ERRORS as exc:
        raise _unreadable(path, exc) from exc
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataValidationError(
            [Problem(table, c, None, None, "required column is missing", str(path))
             for c in missing]
        )
    dtypes: dict[str, str] = {c: "str" for c in text}
    dtypes.update({c: "int64" for c in integer})
    dtypes.update({c: "float64" for c in floating})
    try:
        return pd.read_csv(
            path, sep=sep, usecols=columns, dtype=dtypes, keep_default_na=False, na_values=[""]
        )
    except ValueError as exc:  # a cell does not parse as its type: find and name it
        problems = _numeric_problems(path, sep, integer, floating)
        if problems:
            raise DataValidationError(problems[:MAX_EXAMPLES], total=len(problems)) from exc
        raise _unreadable(path, exc) from exc
    except _READ_ERRORS as exc:
        raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: BaseException) -> DataValidationError:
    return DataValidationError(
        [Problem(source_name(path), "-", None, str(path), f"cannot be read: {exc}", str(path))]
    )


def _numeric_problems(
    path: Path, sep: str, integer: Sequence[str], floating: Sequence[str]
) -> list[Problem]:
    """Every cell of the numeric columns that does not parse (rows are 1-based data rows)."""
    try:
        raw = pd.read_csv(
            path, sep=sep, usecols=[*integer, *floating], dtype=str,
            keep_default_na=False, na_values=[""],
        )
    except _READ_ERRORS as exc:
        raise _unreadable(path, exc) from exc
    problems: list[Problem] = []
    for column in [*integer, *floating]:
        cells = raw[column]
        parsed = pd.to_numeric(cells, errors="coerce")
        if column in integer:
            whole = parsed.notna() & np.isfinite(parsed) & (parsed == parsed.round())
            bad, message = ~whole, "is not a whole number"
        else:
            bad, message = cells.notna() & parsed.isna(), "is not a number"
        for position in np.flatnonzero(bad.to_numpy())[:MAX_EXAMPLES]:
            value = cells.iloc[position]
            problems.append(Problem(
                source_name(path), column, int(position) + 1,
                None if pd.isna(value) else str(value), message, str(path),
            ))
    return problems


def parse_timestamps(
    path: Path, column: str, cells: pd.Series, fmt: str
) -> pd.Series:
    """Parse naive text timestamps in ``fmt`` as UTC; a cell that does not parse is an error."""
    parsed = pd.to_datetime(cells, format=fmt, errors="coerce", utc=True)
    bad = cells.notna() & parsed.isna()
    raise_for_cells(path, column, cells, bad, f"does not parse as {fmt!r}")
    return parsed


def raise_for_cells(
    path: Path, column: str, cells: pd.Series, bad: pd.Series | np.ndarray, message: str
) -> None:
    """Raise a validation error naming the file, column, rows and values where ``bad`` holds."""
    positions = np.flatnonzero(np.asarray(bad, dtype=bool))
    if positions.size == 0:
        return
    problems = []
    for position in positions[:MAX_EXAMPLES]:
        value = cells.iloc[position]
        problems.append(Problem(
            source_name(path), column, int(position) + 1,
            None if pd.isna(value) else str(value), message, str(path),
        ))
    raise DataValidationError(problems, total=int(positions.size))
