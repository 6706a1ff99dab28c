"""Reading and writing the contract's tables as CSV or Parquet.

Everything read goes through :func:`recommender.data.validate.validate_dataset`; writing goes to a
temporary directory that is renamed into place, so a failed write never leaves partial output.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from recommender.data.dataset import Dataset
from recommender.data.schema import TABLES
from recommender.data.validate import validate_dataset
from recommender.errors import DataValidationError, InvalidParameterError, Problem

TABLE_NAMES = ("learners", "resources", "events", "regions")
_SUFFIXES = (".parquet", ".csv", ".csv.gz")
_WRITTEN_SUFFIXES = (".parquet", ".csv")  # what write_dataset produces


def read_table(path: str | os.PathLike[str], table: str) -> pd.DataFrame:
    """Read one raw table (cells as text for CSV), naming the file if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(
            [Problem(table, "-", None, str(path), "file not found", str(path))]
        )
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataValidationError(
            [Problem(table, "-", None, str(path), f"cannot be read: {exc}", str(path))]
        ) from exc


def load_files(
    learners: str | os.PathLike[str],
    resources: str | os.PathLike[str],
    events: str | os.PathLike[str],
    regions: str | os.PathLike[str] | None = None,
) -> Dataset:
    """Read and validate the tables from explicit paths (CSV or Parquet)."""
    paths = {"learners": learners, "resources": resources, "events": events}
    if regions is not None:
        paths["regions"] = regions
    frames = {name: read_table(p, name) for name, p in paths.items()}
    return validate_dataset(
        frames["learners"],
        frames["resources"],
        frames["events"],
        frames.get("regions"),
        sources={name: str(p) for name, p in paths.items()},
    )


def find_table(directory: str | os.PathLike[str], table: str) -> Path | None:
    """The file holding ``table`` in ``directory`` (``<table>.parquet``/``.csv``/``.csv.gz``)."""
    for suffix in _SUFFIXES:
        candidate = Path(directory) / f"{table}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def load_directory(directory: str | os.PathLike[str]) -> Dataset:
    """Read and validate ``learners``, ``resources``, ``events`` (and optional ``regions``)."""
    directory = Path(directory)
    found = {name: find_table(directory, name) for name in TABLE_NAMES}
    missing = [name for name in ("learners", "resources", "events") if found[name] is None]
    if missing:
        raise DataValidationError(
            [
                Problem(name, "-", None, str(directory), "no learners/resources/events "
                        f"file ({', '.join(name + s for s in _SUFFIXES)}) in the directory",
                        str(directory))
                for name in missing
            ]
        )
    return load_files(found["learners"], found["resources"], found["events"], found["regions"])


def _to_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = out[name].map(lambda t: t.isoformat() if pd.notna(t) else "")
    return out


def write_dataset(dataset: Dataset, out_dir: str | os.PathLike[str], fmt: str = "csv") -> Path:
    """Write the tables to ``out_dir`` atomically (all files appear together or none).

    Afterwards the folder holds this dataset only: a ``<table>.csv`` or ``<table>.parquet`` left
    by an earlier write (the other format, or a table this dataset lacks) is removed, since
    :func:`load_directory` would read it (Parquet first) instead of the new tables. Nothing
    else in the folder is touched.
    """
    if fmt not in ("csv", "parquet"):
        raise InvalidParameterError("format", fmt, "'csv' or 'parquet'")
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        for name in TABLE_NAMES:
            frame = getattr(dataset, name)
            if frame is None:
                continue
            frame = frame[[c for c in TABLES[name].column_names] +
                          [c for c in frame.columns if c not in TABLES[name].column_names]]
            if fmt == "parquet":
                frame.to_parquet(staging / f"{name}.parquet", index=False)
            else:
                _to_csv_frame(frame).to_csv(staging / f"{name}.csv", index=False)
        out_dir.mkdir(exist_ok=True)
        written: set[str] = set()
        for produced in staging.iterdir():
            os.replace(produced, out_dir / produced.name)
            written.add(produced.name)
        _remove_stale_tables(out_dir, keep=written)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _remove_stale_tables(out_dir: Path, keep: set[str]) -> None:
    """Delete ``<table>.csv``/``<table>.parquet`` files in ``out_dir`` not in ``keep``."""
    for name in TABLE_NAMES:
        for suffix in _WRITTEN_SUFFIXES:
            stale = out_dir / f"{name}{suffix}"
            if stale.name not in keep and stale.is_file():
                stale.unlink()
