"""The command line's shape: every command group is there, ``python -m training`` included."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from training.cli import app


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("data", "train", "tune", "models", "deliver", "serve", "demo"):
        assert command in result.output


def test_python_dash_m_training_is_the_same_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "training", "models", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "promote" in done.stdout


def test_deliver_needs_exactly_one_source(tmp_path) -> None:
    result = CliRunner().invoke(app, ["deliver", "--out", str(tmp_path / "x.parquet")])
    assert result.exit_code != 0 and not (tmp_path / "x.parquet").exists()
