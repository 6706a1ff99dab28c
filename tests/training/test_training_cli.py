"""The command line's shape: every command group is there and has help, ``python -m training``
included, and ``serve``'s argument handling without binding a port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from recommender.serving.server import FACTORY
from recommender.settings import Settings
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


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and group under ``recommender``, walked from the CLI itself."""
    root = typer.main.get_command(app)

    def walk(command, ctx, path: tuple[str, ...]):
        yield path
        if hasattr(command, "list_commands"):  # a group
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                yield from walk(sub, typer.Context(sub, parent=ctx, info_name=name), (*path, name))

    return list(walk(root, typer.Context(root, info_name="recommender"), ()))


COMMAND_PATHS = _command_paths()


def test_the_walk_finds_nested_commands() -> None:
    assert {("data", "validate"), ("data", "import"), ("models", "promote"), ("serve",),
            ("experiment", "run")} <= set(COMMAND_PATHS)


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "recommender")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and "--help" in result.output
    command = typer.main.get_command(app)
    ctx = typer.Context(command, info_name="recommender")
    for name in path:
        command = command.get_command(ctx, name)
        ctx = typer.Context(command, parent=ctx, info_name=name)
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
    assert " ".join(command.help.split()[:3]) in result.output  # (the help wraps at 80)


# --------------------------------------------------------------------------- serve


@pytest.mark.usefixtures("bare_environment")
def test_serve_without_api_keys_names_the_variable(tmp_path: Path, uvicorn_calls) -> None:
    result = CliRunner().invoke(app, ["serve", "--bundle", str(tmp_path / "bundle")])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), f"a traceback: {result.exception!r}"
    assert "RECOMMENDER_API_KEYS" in result.output
    assert uvicorn_calls == []


@pytest.mark.usefixtures("bare_environment")
def test_serve_runs_uvicorn_with_the_given_bundle_host_and_port(
    tmp_path: Path, uvicorn_calls
) -> None:
    os.environ["RECOMMENDER_API_KEYS"] = "key-one, key-two"
    bundle = tmp_path / "bundle"  # not there yet: --wait-for-bundle starts anyway
    result = CliRunner().invoke(app, ["serve", "--bundle", str(bundle), "--host", "0.0.0.0",
                                      "--port", "9123", "--wait-for-bundle"])
    assert result.exit_code == 0, result.output
    (call,) = uvicorn_calls
    assert call["app"] == FACTORY and call["factory"] is True
    assert (call["host"], call["port"]) == ("0.0.0.0", 9123)
    # Production: several workers, no uvicorn access log (it would write query strings).
    assert call["workers"] == Settings.model_fields["workers"].default >= 2
    assert call["access_log"] is False and call["log_level"] == "info"
    # Every worker builds its app from the environment: the command line's values are there.
    worker = call["worker_settings"]
    assert (worker.bundle_path, worker.host, worker.port) == (bundle, "0.0.0.0", 9123)
    assert [k.get_secret_value() for k in worker.api_keys] == ["key-one", "key-two"]
    # One shared metrics directory while serving, removed afterwards.
    assert call["metrics_dir_exists"] and not Path(call["metrics_dir"]).exists()


@pytest.mark.usefixtures("bare_environment")
def test_serve_with_an_out_of_range_port_is_a_message(tmp_path: Path, uvicorn_calls) -> None:
    os.environ["RECOMMENDER_API_KEYS"] = "key-one"
    result = CliRunner().invoke(app, ["serve", "--bundle", str(tmp_path), "--port", "70000"])
    assert result.exit_code != 0 and uvicorn_calls == []
    assert isinstance(result.exception, SystemExit), f"a traceback: {result.exception!r}"
    assert "port (RECOMMENDER_PORT)" in result.output and "70000" in result.output
