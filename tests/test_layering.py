"""Imports go one way: the import-linter contracts in pyproject.toml hold (front ends over the
library, and inside it serving -> delivery/spec -> bundle -> selection -> models/evaluation ->
features/store/index -> data). Breaking a layer fails here, naming the import chain.

import-linter runs in a child process: in this one it would reconfigure logging for the rest
of the session (the log-capture tests that follow would see nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = ("import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))")


def test_import_contracts_hold() -> None:
    result = subprocess.run([sys.executable, "-c", LINT, str(ROOT / "pyproject.toml")],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
