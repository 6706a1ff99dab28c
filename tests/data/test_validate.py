"""The data contract's validation: every error names table, column, row and value."""

from __future__ import annotations

import pandas as pd
import pytest

from two_tastes import tiny_tables
from recommender.data import load_directory, validate_dataset, write_dataset
from recommender.errors import DataValidationError


def _problems(learners, resources, events) -> list[str]:
    with pytest.raises(DataValidationError) as caught:
        validate_dataset(learners, resources, events)
    return [str(p) for p in caught.value.problems]


def test_valid_tables_are_typed(tiny_world):
    events = tiny_world.events
    assert str(events["timestamp"].dt.tz) == "UTC"
    assert events["timestamp"].min() == pd.Timestamp("2024-01-01T01:00:00Z")
    assert events["value"].isna().all()
    # Optional columns absent from the input are added, empty.
    assert tiny_world.learners["interests"].isna().all()


def test_missing_column_is_named():
    learners, resources, events = tiny_tables()
    messages = _problems(learners, resources, events.drop(columns=["event_type"]))
    assert messages == ["table 'events', column 'event_type': required column is missing"]


def test_wrong_type_names_row_and_value():
    learners, resources, events = tiny_tables()
    resources["duration_minutes"] = ["30", "45", "ten", "60", "5", "20"]
    (message,) = _problems(learners, resources, events)
    assert message == (
        "table 'resources', column 'duration_minutes', row 3, value 'ten': is not a finite number"
    )


def test_unknown_event_type():
    learners, resources, events = tiny_tables()
    events.loc[4, "event_type"] = "like"
    (message,) = _problems(learners, resources, events)
    assert "table 'events', column 'event_type', row 5, value 'like': must be one of" in message
    assert "'complete'" in message


def test_duplicate_event_id():
    learners, resources, events = tiny_tables()
    events.loc[7, "event_id"] = events.loc[2, "event_id"]
    (message,) = _problems(learners, resources, events)
    assert message == "table 'events', column 'event_id', row 8, value 'e3': duplicate id"


def test_event_naming_unknown_learner_and_resource():
    learners, resources, events = tiny_tables()
    events.loc[0, "learner_id"] = "ghost"
    events.loc[1, "resource_id"] = "r99"
    messages = _problems(learners, resources, events)
    assert "table 'events', column 'learner_id', row 1, value 'ghost': names an unknown learner" \
        in messages
    assert "table 'events', column 'resource_id', row 2, value 'r99': names an unknown resource" \
        in messages


def test_unparseable_timestamp():
    learners, resources, events = tiny_tables()
    events.loc[3, "timestamp"] = "last tuesday"
    (message,) = _problems(learners, resources, events)
    assert message.startswith(
        "table 'events', column 'timestamp', row 4, value 'last tuesday': timestamp does not parse"
    )


def test_all_problems_are_collected_not_just_the_first():
    learners, resources, events = tiny_tables()
    events.loc[0, "event_type"] = "like"
    events.loc[1, "timestamp"] = "soon"
    resources.loc[2, "mode"] = "teleport"
    learners.loc[1, "accessibility_needs"] = "captions|telepathy"
    with pytest.raises(DataValidationError) as caught:
        validate_dataset(learners, resources, events)
    columns = {(p.table, p.column, p.row) for p in caught.value.problems}
    assert columns == {
        ("events", "event_type", 1), ("events", "timestamp", 2),
        ("resources", "mode", 3), ("learners", "accessibility_needs", 2),
    }
    assert caught.value.total == 4


def test_offline_resource_needs_region_and_window_order():
    learners, resources, events = tiny_tables()
    resources.loc[0, "mode"] = "offline"
    resources["available_from"] = ["2024-02-01", None, None, None, None, None]
    resources["available_until"] = ["2024-01-01", None, None, None, None, None]
    messages = _problems(learners, resources, events)
    assert any("column 'region', row 1" in m and "need a region" in m for m in messages)
    assert any("column 'available_until', row 1" in m and "before available_from" in m
               for m in messages)


def test_caller_frames_are_not_modified():
    learners, resources, events = tiny_tables()
    before = events.copy()
    validate_dataset(learners, resources, events)
    pd.testing.assert_frame_equal(events, before)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_through_files(tiny_world, tmp_path, fmt):
    write_dataset(tiny_world, tmp_path / "world", fmt)
    loaded = load_directory(tmp_path / "world")
    pd.testing.assert_frame_equal(
        loaded.events.reset_index(drop=True), tiny_world.events.reset_index(drop=True),
        check_dtype=False,
    )
    assert list(loaded.resources["title"]) == list(tiny_world.resources["title"])


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataValidationError) as caught:
        load_directory(tmp_path)
    assert str(tmp_path) in str(caught.value)
    assert "learners" in str(caught.value)


def test_content_hash_follows_every_cell_and_only_the_cells(tiny_world):
    def hashed(learners=None, events=None) -> str:
        return validate_dataset(
            tiny_world.learners if learners is None else learners, tiny_world.resources,
            tiny_world.events if events is None else events, tiny_world.regions,
        ).content_hash()

    reference = tiny_world.content_hash()
    assert hashed() == reference  # the same content validated again
    events = tiny_world.events
    other_id = events.assign(resource_id=events["resource_id"].iloc[::-1].to_numpy())
    later = events.assign(timestamp=events["timestamp"] + pd.Timedelta(seconds=1))
    # Two ids joined differently must not collide ("ab" + "c" vs "a" + "bc").
    moved = events.assign(event_id=[events["event_id"].iloc[0] + events["event_id"].iloc[1][:1],
                                    events["event_id"].iloc[1][1:],
                                    *events["event_id"].iloc[2:]])
    said = tiny_world.learners.assign(interests="想学智能手机")
    hashes = {hashed(events=other_id), hashed(events=later), hashed(events=moved),
              hashed(learners=said)}
    assert reference not in hashes and len(hashes) == 4
