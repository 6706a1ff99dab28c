"""Writing tables: a folder written twice holds the second dataset only, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from recommender.data import Dataset, load_directory, validate_dataset, write_dataset
from recommender.data.sample_world import generate_world
from recommender.errors import InvalidParameterError
from two_tastes import tiny_tables


def _smaller_world() -> Dataset:
    """The tiny world without its last four events: easy to tell apart from the first."""
    learners, resources, events = tiny_tables()
    return validate_dataset(learners, resources, events.iloc[:-4])


@pytest.mark.parametrize(("first", "second"), [("parquet", "csv"), ("csv", "parquet")])
def test_rewrite_in_the_other_format_loads_the_new_tables(
    tiny_world: Dataset, tmp_path: Path, first: str, second: str
) -> None:
    folder = tmp_path / "world"
    write_dataset(tiny_world, folder, first)
    (folder / "notes.txt").write_text("mine")
    (folder / "events.csv.gz").write_bytes(b"not ours to delete")
    newer = _smaller_world()
    write_dataset(newer, folder, second)

    loaded = load_directory(folder)
    assert list(loaded.events["event_id"]) == list(newer.events["event_id"])
    assert len(loaded.events) == len(tiny_world.events) - 4
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{name}.{second}" for name in ("learners", "resources", "events")]
        + ["notes.txt", "events.csv.gz"]
    )
    assert (folder / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]  # no staging left behind


def test_rewrite_without_regions_drops_the_old_regions(tmp_path: Path) -> None:
    folder = tmp_path / "world"
    write_dataset(generate_world(20, 10, seed=1, events_per_learner=3), folder, "parquet")
    assert (folder / "regions.parquet").is_file()
    write_dataset(_smaller_world(), folder, "csv")
    assert load_directory(folder).regions is None
    assert not (folder / "regions.parquet").exists()


def test_bad_format_is_a_parameter_error_and_writes_nothing(
    tiny_world: Dataset, tmp_path: Path
) -> None:
    with pytest.raises(InvalidParameterError, match="'format'='xml'"):
        write_dataset(tiny_world, tmp_path / "out" / "world", "xml")
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_leaves_the_old_tables_whole(
    tiny_world: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "world"
    write_dataset(tiny_world, folder, "csv")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real = pd.DataFrame.to_parquet

    def fail_on_events(frame: pd.DataFrame, path, *args, **kwargs):
        if Path(path).name == "events.parquet":
            raise OSError("disk full")
        return real(frame, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fail_on_events)
    with pytest.raises(OSError, match="disk full"):
        write_dataset(_smaller_world(), folder, "parquet")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]
