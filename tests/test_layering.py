"""Imports go one way: the import-linter contracts in pyproject.toml hold (front ends over the
library, and inside it serving -> delivery/spec -> bundle -> selection -> models/evaluation ->
features/store/index -> data). Breaking a layer fails here, naming the import chain."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
                        no_logo=True) == EXIT_STATUS_SUCCESS
