"""Canvas Network person-course (CNPC, 1/2014-9/2015, de-identified) -> the three tables.

Source: Canvas Network (2016), Harvard Dataverse, doi:10.7910/DVN/1XORAL; terms unverified, so no
rows of it live in this repo. Read from the one file as shipped,
``CNPC_1401-1509_DI_v1_1_2016-03-01.csv.gz`` (gzip CSV, LF, comma-containing fields quoted).
One row is one learner's registration in one course; times are year-quarters only.

Mapping decisions, and why:

* **Duplicates.** 146 (user, course) pairs occur more than once; the copies agree on every
  engagement column and differ only in the survey answers, so the first row in file order is
  kept (and its survey answers may still be overridden by the profile rule below).
* **min_courses** keeps learners registered in at least that many distinct courses (after
  de-duplication), with their events; a resource stays even when all its learners go (it is
  still a course someone can be recommended).
* **Learners** (``learner_id = userid_DI``). The survey is per registration, so a learner with
  several takes the profile from the row that has survey answers, the latest course then the
  latest registration winning. "Missing" and ``{}`` mean unanswered and become empty.
  ``education_level`` = ``LoE_DI``, ``age_band`` = ``age_DI`` without braces (``19-34``,
  ``34-54``, ``55 or older``), ``interests`` = ``primary_reason`` (free text), extras
  ``learner_type``, ``expected_hours_week`` and ``n_courses``. ``created_at`` = the first
  registration. Country (``*``) and gender (``{}``) are withheld in every row, and course language
  is not given, so ``region`` and ``languages`` stay empty rather than guessed.
* **group**: ``employee`` when the stated reason is work ("... for a promotion at work", "...
  to use at work"); else ``retiree`` for age 55 or older (the age proxy also used for OULAD);
  else ``youth`` for "I am preparing for college for the first time"; else ``mooc_learner``. No
  answer says "unemployed" ("skills for a new career" may be a career change), so that group is
  not derived.
* **Resources** are courses (``resource_id = course_id_DI``); there are no titles, so ``title``
  = ``"Canvas course <id> (<discipline>)"``, ``category`` = ``tags`` = ``discipline``, provider
  Canvas Network (the offering institutions are not given, so ``provider_type`` is empty),
  ``online``. ``available_from`` = the first instant of the ``course_start`` quarter,
  ``available_until`` = the last instant of the ``course_end`` quarter. ``course_length`` is a
  calendar span in days, not study time, so it is kept as the extra ``course_length_days`` and
  ``duration_minutes`` stays empty (days x 1440 would tell a time-budget filter that a course
  needs 90,000 minutes).
* **Events**, ids ``"{type}-{userid_DI}-{course_id_DI}"``:
  - ``enroll`` for every registration (all rows have ``registered == 1``), at the start of the
    ``start_time_DI`` quarter when given (only 2015 registrations have it), else of the course's
    ``course_start`` quarter;
  - ``view`` (value 1) when ``viewed == 1``, at the enrolment time (when the first view happened
    is not recorded);
  - ``progress`` when ``completed_%`` is present (only in courses with requirements); it is
    already a fraction 0-1 despite its name, so it is the ``value`` as is. It is timed at the
    ``last_event_DI`` quarter (the state as of the last activity) or the enrolment when absent;
  - ``complete`` (value 1) when ``completed_%`` >= 1, at the same time as the progress.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.data.dataset import Dataset
from recommender.data.loaders._source import (
    raise_for_cells,
    read_source,
    require_directory,
    require_file,
)
from recommender.data.validate import validate_dataset
from recommender.errors import InvalidParameterError

CNPC_FILE = "CNPC_1401-1509_DI_v1_1_2016-03-01.csv.gz"
PROVIDER = "Canvas Network"
UNANSWERED = ("", "Missing", "{}")
WORK_REASONS = (
    "I hope to gain skills for a promotion at work",
    "I hope to gain skills to use at work",
)
FIRST_TIME_COLLEGE = "I am preparing for college for the first time"
OLDEST_AGE_BAND = "55 or older"
_QUARTER = re.compile(r"^(\d{4}) Q([1-4])$")
_QUARTER_COLUMNS = ("course_start", "course_end", "start_time_DI", "last_event_DI")
_SURVEY = ("primary_reason", "learner_type", "expected_hours_week", "LoE_DI", "age_DI")


def load_canvas(path: str | os.PathLike[str], min_courses: int = 1) -> Dataset:
    """Load CNPC from its directory, keeping learners with at least ``min_courses`` courses."""
    if isinstance(min_courses, bool) or not isinstance(min_courses, int) or min_courses < 1:
        raise InvalidParameterError("min_courses", min_courses, "an integer >= 1")
    directory = require_directory(path, "Canvas Network CNPC")
    cnpc_path = require_file(directory, [CNPC_FILE], "Canvas Network CNPC")
    rows = read_source(
        cnpc_path,
        text=["course_id_DI", "userid_DI", "discipline", *_SURVEY, *_QUARTER_COLUMNS],
        integer=["viewed", "course_length"],
        floating=["completed_%"],
    )
    _check_ids(cnpc_path, rows)
    for column in _QUARTER_COLUMNS:
        rows[f"{column}_at"] = _quarter_starts(cnpc_path, column, rows[column])
    rows["course_end_until"] = _quarter_ends(rows["course_end"])

    resources = _resources(rows)
    rows = rows.drop_duplicates(["userid_DI", "course_id_DI"], keep="first")
    rows = rows.assign(n_courses=rows.groupby("userid_DI")["course_id_DI"].transform("size"))
    rows = rows[rows["n_courses"] >= min_courses].reset_index(drop=True)
    rows["enrolled_at"] = rows["start_time_DI_at"].fillna(rows["course_start_at"])

    learners = _learners(rows)
    events = _events(rows)
    return validate_dataset(
        learners, resources, events,
        sources={name: str(cnpc_path) for name in ("learners", "resources", "events")},
    )


def _check_ids(cnpc_path: Path, rows: pd.DataFrame) -> None:
    for column in ("course_id_DI", "userid_DI"):
        raise_for_cells(cnpc_path, column, rows[column], rows[column].isna(), "must not be empty")
    raise_for_cells(cnpc_path, "discipline", rows["discipline"], rows["discipline"].isna(),
                    "must not be empty")
    raise_for_cells(cnpc_path, "viewed", rows["viewed"], ~rows["viewed"].isin([0, 1]),
                    "must be 0 or 1")
    raise_for_cells(cnpc_path, "completed_%", rows["completed_%"],
                    ~rows["completed_%"].between(0.0, 1.0) & rows["completed_%"].notna(),
                    "must be a fraction from 0 to 1")


def _parse_quarter(cell: str) -> pd.Period | None:
    match = _QUARTER.match(cell.strip())
    return pd.Period(year=int(match[1]), quarter=int(match[2]), freq="Q") if match else None


def _quarter_starts(cnpc_path: Path, column: str, cells: pd.Series) -> pd.Series:
    """First instant (UTC) of each ``YYYY Qn`` cell; empty stays empty, others are errors."""
    codes, distinct = pd.factorize(cells)  # a handful of distinct quarters in 325k rows
    periods = [_parse_quarter(cell) for cell in distinct]
    unparsed = np.array([period is None for period in periods] + [False])  # code -1 = empty
    raise_for_cells(cnpc_path, column, cells, unparsed[codes], "is not a quarter like '2015 Q2'")
    return _by_code(codes, [p.start_time for p in periods], cells.index)


def _quarter_ends(cells: pd.Series) -> pd.Series:
    """Last instant (UTC) of each (already checked) ``YYYY Qn`` cell."""
    codes, distinct = pd.factorize(cells)
    ends = [_parse_quarter(cell).end_time for cell in distinct]  # type: ignore[union-attr]
    return _by_code(codes, ends, cells.index)


def _by_code(codes: np.ndarray, stamps: list[pd.Timestamp], index: pd.Index) -> pd.Series:
    lookup = pd.DatetimeIndex([*stamps, pd.NaT]).tz_localize("UTC")  # code -1 -> NaT
    return pd.Series(lookup[codes], index=index)


def _answered(cells: pd.Series) -> pd.Series:
    return cells.where(~cells.isin(UNANSWERED) & cells.notna(), None)


def _learners(rows: pd.DataFrame) -> pd.DataFrame:
    survey = pd.DataFrame({column: _answered(rows[column]) for column in _SURVEY})
    has_survey = survey.notna().any(axis=1)
    ranked = rows.assign(has_survey=has_survey, **{c: survey[c] for c in _SURVEY}).sort_values(
        ["userid_DI", "has_survey", "course_start_at", "enrolled_at"],
        kind="stable", na_position="first",
    )
    profile = ranked.groupby("userid_DI", sort=True).tail(1).set_index("userid_DI").sort_index()
    first_enrolled = rows.groupby("userid_DI")["enrolled_at"].min().reindex(profile.index)

    reason = profile["primary_reason"]
    age_band = profile["age_DI"].str.strip("{}")
    group = np.select(
        [reason.isin(WORK_REASONS), age_band.eq(OLDEST_AGE_BAND), reason.eq(FIRST_TIME_COLLEGE)],
        ["employee", "retiree", "youth"],
        default="mooc_learner",
    )
    return pd.DataFrame({
        "learner_id": profile.index.astype(str),
        "group": group,
        "age_band": age_band.to_numpy(),
        "education_level": profile["LoE_DI"].to_numpy(),
        "interests": reason.to_numpy(),
        "created_at": first_enrolled.to_numpy(),
        "learner_type": profile["learner_type"].to_numpy(),
        "expected_hours_week": profile["expected_hours_week"].to_numpy(),
        "n_courses": profile["n_courses"].to_numpy(),
    })


def _resources(rows: pd.DataFrame) -> pd.DataFrame:
    """Courses, from every row of the file (min_courses filters learners, not the catalogue).

    Course columns are constant within a course in the real file; the first row speaks for it.
    """
    courses = rows.drop_duplicates("course_id_DI", keep="first").reset_index(drop=True)
    discipline = courses["discipline"]
    return pd.DataFrame({
        "resource_id": courses["course_id_DI"],
        "title": "Canvas course " + courses["course_id_DI"] + " (" + discipline + ")",
        "category": discipline,
        "tags": discipline,
        "provider": PROVIDER,
        "mode": "online",
        "available_from": courses["course_start_at"],
        "available_until": courses["course_end_until"],
        "course_length_days": courses["course_length"].astype("float64"),
    })


def _events(rows: pd.DataFrame) -> pd.DataFrame:
    user, course = rows["userid_DI"], rows["course_id_DI"]
    pair = user + "-" + course
    done_at = pd.concat(
        [rows["enrolled_at"], rows["last_event_DI_at"].fillna(rows["enrolled_at"])], axis=1
    ).max(axis=1)
    completed = rows["completed_%"]
    viewed = rows["viewed"].eq(1)
    progressed = completed.notna()
    finished = completed.ge(1.0)

    def events(kind: str, mask: pd.Series, value: pd.Series | float, at: pd.Series) -> pd.DataFrame:
        return pd.DataFrame({
            "event_id": kind + "-" + pair[mask],
            "learner_id": user[mask],
            "resource_id": course[mask],
            "event_type": kind,
            "value": value if np.isscalar(value) else value[mask],
            "timestamp": at[mask],
        })

    everyone = pd.Series(True, index=rows.index)
    return pd.concat(
        [
            events("enroll", everyone, 1.0, rows["enrolled_at"]),
            events("view", viewed, 1.0, rows["enrolled_at"]),
            events("progress", progressed, completed, done_at),
            events("complete", finished, 1.0, done_at),
        ],
        ignore_index=True,
    )
