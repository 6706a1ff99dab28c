"""``recommender data``'s failure paths: every problem reported, exit 1, no output folder."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from training.cli import app
from training.commands import common
from two_tastes import tiny_tables

OULAD = Path(__file__).resolve().parents[1] / "fixtures" / "oulad"
CLICKS = "studentVle_first1048575rows.tsv.gz"


@pytest.fixture(autouse=True)
def wide_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """A console wide enough that each problem is one table line (no folded cells)."""
    monkeypatch.setattr(common, "err", Console(stderr=True, soft_wrap=True, width=1000))


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _problem_rows(output: str) -> set[tuple[str, ...]]:
    """(file, table, column, row, value) of every row of the printed problems table."""
    rows = set()
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")]
        if len(cells) == 8:  # borders at both ends around six cells
            rows.add(tuple(cells[1:6]))
    return rows


def test_validate_reports_every_problem_across_tables(tmp_path: Path) -> None:
    learners, resources, events = tiny_tables()
    learners["accessibility_needs"] = [None, "captions|telepathy", None, None, None, None]
    resources["duration_minutes"] = ["30", "45", "ten", "60", "5", "20"]
    events.loc[4, "event_type"] = "like"
    events.loc[7, "event_id"] = events.loc[2, "event_id"]
    events.loc[0, "learner_id"] = "ghost"
    events.loc[3, "timestamp"] = "last tuesday"
    paths = {}
    for name, frame in (("learners", learners), ("resources", resources), ("events", events)):
        paths[name] = str(tmp_path / f"{name}.csv")
        frame.to_csv(paths[name], index=False)

    result = _invoke("data", "validate", "--learners", paths["learners"],
                     "--resources", paths["resources"], "--events", paths["events"])

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "6 problem(s) found" in result.output
    assert _problem_rows(result.output) == {
        (paths["learners"], "learners", "accessibility_needs", "2", "'captions|telepathy'"),
        (paths["resources"], "resources", "duration_minutes", "3", "'ten'"),
        (paths["events"], "events", "event_type", "5", "'like'"),
        (paths["events"], "events", "event_id", "8", "'e3'"),
        (paths["events"], "events", "learner_id", "1", "'ghost'"),
        (paths["events"], "events", "timestamp", "4", "'last tuesday'"),
    }
    for message in ("is not a finite number", "must be one of", "duplicate id",
                    "names an unknown learner", "timestamp does not parse"):
        assert message in result.output


def test_validate_of_good_files_exits_zero(tmp_path: Path) -> None:
    paths = []
    for name, frame in zip(("learners", "resources", "events"), tiny_tables()):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        paths += [f"--{name}", str(tmp_path / f"{name}.csv")]
    result = _invoke("data", "validate", *paths)
    assert result.exit_code == 0, result.output
    assert "valid: 6 learners, 6 resources, 28 events" in result.output


@pytest.mark.parametrize(("option", "value", "named"), [
    ("--learners", "0", "n_learners"),
    ("--resources", "-3", "n_resources"),
    ("--seed", "-1", "seed"),
    ("--events-per-learner", "0.5", "events_per_learner"),
    ("--format", "xml", "format"),
])
def test_generate_with_a_bad_parameter_names_it_and_writes_nothing(
    tmp_path: Path, option: str, value: str, named: str
) -> None:
    out = tmp_path / "out" / "world"
    args = ["--learners", "5", "--resources", "5", "--events-per-learner", "2"]
    result = _invoke("data", "generate", *args, option, value, "--out", str(out))
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"a traceback, not a message: {result.exception!r}"
    assert f"'{named}'" in result.output and value in result.output
    assert list(tmp_path.iterdir()) == []


def _corrupt_clicks(folder: Path) -> Path:
    """Row 3 of the clickstream says 'many' clicks."""
    clicks = folder / CLICKS
    lines = gzip.open(clicks, "rb").read().decode("utf-8").split("\r\n")
    fields = lines[3].split("\t")
    fields[5] = "many"
    lines[3] = "\t".join(fields)
    with gzip.open(clicks, "wb") as handle:
        handle.write("\r\n".join(lines).encode("utf-8"))
    return clicks


def _truncate_info(folder: Path) -> Path:
    """studentInfo cut off mid-stream, as an interrupted download leaves it."""
    info = folder / "studentInfo.csv.gz"
    data = info.read_bytes()
    info.write_bytes(data[: len(data) // 2])
    return info


@pytest.mark.parametrize(("corrupt", "column", "row", "value", "message"), [
    (_corrupt_clicks, "sum_click", "3", "'many'", "is not a whole number"),
    (_truncate_info, "-", "", None, "cannot be read"),
])
def test_import_of_a_corrupted_oulad_names_the_cell_and_writes_nothing(
    tmp_path: Path, corrupt, column: str, row: str, value: str | None, message: str
) -> None:
    folder = tmp_path / "oulad"
    shutil.copytree(OULAD, folder)
    bad_file = corrupt(folder)
    out = tmp_path / "out" / "world"

    result = _invoke("data", "import", "oulad", "--path", str(folder), "--out", str(out))

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    ((file, _table, named_column, named_row, named_value),) = _problem_rows(result.output)
    assert (file, named_column, named_row) == (str(bad_file), column, row)
    assert named_value == (value if value is not None else repr(str(bad_file)))
    assert message in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["oulad"]


def test_import_of_an_unknown_source_is_refused(tmp_path: Path) -> None:
    result = _invoke("data", "import", "moodle", "--path", str(OULAD),
                     "--out", str(tmp_path / "world"))
    assert result.exit_code != 0 and "moodle" in result.output
    assert list(tmp_path.iterdir()) == []
