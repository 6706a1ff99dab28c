"""OULAD (Open University Learning Analytics Dataset) -> the contract's three tables.

Source: Kuzilek, Hlosta, Zdrahal (2017), *Open University Learning Analytics dataset*, Scientific
Data 4, 170171, doi:10.1038/sdata.2017.171, CC BY 4.0. Read from the files as shipped
(``courses``, ``vle``, ``studentInfo``, ``studentRegistration`` as gzip CSV, the clickstream as
``studentVle_first1048575rows.tsv.gz``, tab-separated with CRLF; a full ``studentVle.csv[.gz]``
is read instead when present).

Mapping decisions, and why:

* **Presentations.** By default only the three whose clickstream is complete in the shipped head
  of ``studentVle`` (AAA-2013J, AAA-2014J, BBB-2013B). BBB-2013J stops at day 133 of 268, so it
  would bias every time split; it loads only when named explicitly. Naming a presentation that
  is not in ``courses`` or has no clickstream rows is a parameter error, not an empty result.
* **Learners** are the students registered in the loaded presentations, also those who never
  clicked (they are real cold-start learners). ``learner_id = str(id_student)``. A student
  registered in several loaded presentations keeps one row: the profile of the latest
  presentation (B before J within a year), the earliest registration as ``created_at``, and all
  of them in the extra column ``presentations``.
* **group**: OULAD has no occupation. ``disability == "Y"`` -> ``disabled`` (the equal-access
  breakdown the product must measure; it wins over age), else ``age_band == "55<="`` ->
  ``retiree`` (an age proxy for the policy's retirees-and-elderly group, not an employment
  status), else ``adult_learner`` (an OU distance learner; claiming "employee" would be a guess).
  ``accessibility_needs`` stays empty: a declared disability does not say which format helps.
* Profile: ``age_band`` keeps OULAD's bands (``0-35``, ``35-55``, ``55<=``), ``region`` is
  OULAD's region, ``education_level`` = ``highest_education``, ``languages`` = ``en``,
  ``urban_rural`` empty (unknown). Extras: ``gender``, ``imd_band`` (deprivation decile; the one
  unlabelled band ``10-20`` is written ``10-20%`` like the others), ``disability``,
  ``final_result``, ``studied_credits``, ``num_of_prev_attempts``, ``code_module``,
  ``code_presentation`` (of the kept row) and ``presentations``. ``credit_hours_required`` stays
  empty: OU credits studied are not a yearly obligation.
* **Resources** are the VLE sites of the loaded presentations (``resource_id = str(id_site)``),
  also the never-clicked ones. OULAD has no text, so ``title`` is e.g. ``"AAA 2013J · oucontent
  546652"``, ``category`` = ``activity_type``, ``tags`` = activity type and module; ``en``,
  ``online``, provider The Open University (``open_university``). ``week_from``/``week_to``
  (planned weeks, counted from week 0 at the module start) become ``available_from`` = start +
  7·week_from days and ``available_until`` = start + 7·(week_to + 1) days, the end of that week.
* **Events**: one ``view`` per (student, site, day) with ``value`` = the day's summed
  ``sum_click``. The file has several rows for the same student, site and day (sessions, and
  exact repeats); summing keeps every click while making the id unique:
  ``"{module}-{presentation}-{id_student}-{id_site}-{date}"``. ``timestamp`` = presentation start
  + ``date`` days (UTC midnight), where a ``J`` presentation starts on 1 October and a ``B`` one
  on 1 February of its year (OULAD gives only relative days; the month is documented, the day is
  not). Registrations and assessments are not events here: they are about a module, not a site.
* **Assessment schedule** (``assessments.csv``, when present): deadlines are published with the
  course, so they are known at any moment and models may use them. Each resource carries its
  presentation's ``course_start`` and ``assessment_deadlines`` (the ``"|"``-joined UTC
  deadlines, start + ``date`` days, in date order). An exam without a ``date`` is at the end of
  the presentation (start + ``module_presentation_length``), as OULAD's documentation says.
  :func:`load_oulad_assessments` returns the table itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
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

COMPLETE_PRESENTATIONS: tuple[str, ...] = ("AAA-2013J", "AAA-2014J", "BBB-2013B")
TRUNCATED_PRESENTATIONS: tuple[str, ...] = ("BBB-2013J",)
START_MONTH: dict[str, int] = {"B": 2, "J": 10}
PROVIDER = "The Open University"

COURSES_FILE = "courses.csv.gz"
VLE_FILE = "vle.csv.gz"
INFO_FILE = "studentInfo.csv.gz"
REGISTRATION_FILE = "studentRegistration.csv.gz"
ASSESSMENTS_FILE = "assessments.csv.gz"
ASSESSMENT_TYPES: tuple[str, ...] = ("TMA", "CMA", "Exam")
# The complete original first, when someone has it; else the shipped head.
CLICKSTREAM_FILES: tuple[str, ...] = (
    "studentVle.csv.gz", "studentVle.csv", "studentVle_first1048575rows.tsv.gz",
)
_KEY = ["code_module", "code_presentation"]


def load_oulad(
    path: str | os.PathLike[str], presentations: Sequence[str] | None = None
) -> Dataset:
    """Load OULAD from its directory; ``presentations`` like ``["AAA-2013J"]`` (default: the
    three with a complete clickstream)."""
    directory = require_directory(path, "OULAD")
    courses_path = require_file(directory, [COURSES_FILE], "OULAD")
    vle_path = require_file(directory, [VLE_FILE], "OULAD")
    info_path = require_file(directory, [INFO_FILE], "OULAD")
    registration_path = require_file(directory, [REGISTRATION_FILE], "OULAD")
    clicks_path = require_file(directory, CLICKSTREAM_FILES, "OULAD")

    starts = _presentation_starts(courses_path)
    wanted = _wanted_presentations(presentations, starts)

    clicks = _read_clicks(clicks_path)
    clicks = clicks[clicks["presentation"].isin(wanted)]
    clicked = set(clicks["presentation"].unique())
    without_clicks = [p for p in wanted if p not in clicked]
    if without_clicks:
        raise InvalidParameterError(
            "presentations", without_clicks, f"presentations with clickstream rows in {clicks_path}"
        )

    info = _with_presentation(read_source(
        info_path,
        text=[*_KEY, "gender", "region", "highest_education", "imd_band", "age_band",
              "disability", "final_result"],
        integer=["id_student", "num_of_prev_attempts", "studied_credits"],
    ))
    registration = _with_presentation(read_source(
        registration_path, text=_KEY, integer=["id_student"], floating=["date_registration"],
    ))
    for frame, frame_path in ((info, info_path), (registration, registration_path)):
        repeated = frame.duplicated(["presentation", "id_student"])
        raise_for_cells(frame_path, "id_student", frame["id_student"], repeated,
                        "is registered twice in the same module-presentation")
    vle = _with_presentation(read_source(
        vle_path, text=[*_KEY, "activity_type"], integer=["id_site"],
        floating=["week_from", "week_to"],
    ))

    learners = _learners(
        info[info["presentation"].isin(wanted)],
        registration[registration["presentation"].isin(wanted)],
        starts,
    )
    resources = _resources(vle[vle["presentation"].isin(wanted)], starts)
    if (directory / ASSESSMENTS_FILE).is_file():
        assessments = load_oulad_assessments(directory, wanted)
        deadlines = (assessments.sort_values("deadline", kind="stable")
                     .groupby("presentation")["deadline"]
                     .agg(lambda stamps: "|".join(s.isoformat() for s in stamps)))
        presentation = resources["code_module"] + "-" + resources["code_presentation"]
        resources["course_start"] = presentation.map(starts).astype("datetime64[ns, UTC]")
        resources["assessment_deadlines"] = presentation.map(deadlines).fillna("")
    events = _events(clicks, starts)
    return validate_dataset(
        learners, resources, events,
        sources={"learners": str(info_path), "resources": str(vle_path),
                 "events": str(clicks_path)},
    )


def load_oulad_assessments(
    path: str | os.PathLike[str], presentations: Sequence[str] | None = None
) -> pd.DataFrame:
    """The assessment schedule: one row per assessment with ``presentation``,
    ``id_assessment``, ``assessment_type``, ``date`` (course day, an exam's may be missing),
    ``weight`` and ``deadline`` (UTC; a dateless exam at the end of the presentation).

    A type outside TMA/CMA/Exam, a missing date other than an exam's, a weight outside
    [0, 100], a repeated id or a presentation not in ``courses`` is an error naming the cell.
    """
    directory = require_directory(path, "OULAD")
    courses_path = require_file(directory, [COURSES_FILE], "OULAD")
    assessments_path = require_file(directory, [ASSESSMENTS_FILE], "OULAD")
    starts = _presentation_starts(courses_path)
    wanted = _wanted_presentations(presentations, starts)
    lengths = _with_presentation(read_source(
        courses_path, text=_KEY, integer=["module_presentation_length"]
    )).set_index("presentation")["module_presentation_length"]
    table = _with_presentation(read_source(
        assessments_path, text=[*_KEY, "assessment_type"], integer=["id_assessment"],
        floating=["date", "weight"],
    ))
    checks = [
        ("presentation", ~table["presentation"].isin(starts),
         "is not a module-presentation of courses"),
        ("assessment_type", ~table["assessment_type"].isin(ASSESSMENT_TYPES),
         f"is not one of {list(ASSESSMENT_TYPES)}"),
        ("date", table["date"].isna() & table["assessment_type"].ne("Exam"),
         "is missing (only an exam may have no date)"),
        ("weight", ~table["weight"].between(0, 100), "is not a weight in [0, 100]"),
        ("id_assessment", table["id_assessment"].duplicated(), "is repeated"),
    ]
    for column, bad, message in checks:
        cells = table["code_module"] + "-" + table["code_presentation"] if (
            column == "presentation") else table[column]
        raise_for_cells(assessments_path, "code_presentation" if column == "presentation"
                        else column, cells, bad, message)
    table = table[table["presentation"].isin(wanted)].reset_index(drop=True)
    day = table["date"].fillna(table["presentation"].map(lengths).astype("float64"))
    start = table["presentation"].map(starts).astype("datetime64[ns, UTC]")
    return pd.DataFrame({
        "presentation": table["presentation"],
        "id_assessment": table["id_assessment"],
        "assessment_type": table["assessment_type"],
        "date": table["date"],
        "weight": table["weight"],
        "deadline": start + pd.to_timedelta(day, unit="D"),
    })


def _with_presentation(frame: pd.DataFrame) -> pd.DataFrame:
    frame["presentation"] = frame["code_module"] + "-" + frame["code_presentation"]
    return frame


def _presentation_starts(courses_path: Path) -> dict[str, pd.Timestamp]:
    """Start date of every module-presentation: 1 Feb (``B``) or 1 Oct (``J``) of its year."""
    courses = _with_presentation(read_source(courses_path, text=_KEY))
    code = courses["code_presentation"]
    parsed = code.str.extract(r"^(\d{4})([BJ])$")
    raise_for_cells(
        courses_path, "code_presentation", code, parsed[0].isna(),
        "is not a year followed by B or J (e.g. 2013J)",
    )
    return {
        key: pd.Timestamp(year=int(year), month=START_MONTH[half], day=1, tz="UTC")
        for key, year, half in zip(courses["presentation"], parsed[0], parsed[1], strict=True)
    }


def _wanted_presentations(
    presentations: Sequence[str] | None, starts: dict[str, pd.Timestamp]
) -> list[str]:
    if presentations is None:
        return list(COMPLETE_PRESENTATIONS)
    if isinstance(presentations, str):
        presentations = [presentations]
    wanted = list(dict.fromkeys(presentations))
    unknown = [p for p in wanted if p not in starts]
    if unknown or not wanted:
        raise InvalidParameterError(
            "presentations", unknown or wanted,
            f"module-presentations like 'AAA-2013J' from courses ({sorted(starts)})",
        )
    return wanted


def _read_clicks(clicks_path: Path) -> pd.DataFrame:
    sep = "\t" if ".tsv" in clicks_path.name else ","
    clicks = read_source(
        clicks_path, text=_KEY, integer=["id_student", "id_site", "date", "sum_click"], sep=sep,
    )
    for column in _KEY:
        clicks[column] = clicks[column].astype("category")
    clicks["presentation"] = (
        clicks["code_module"].astype(str) + "-" + clicks["code_presentation"].astype(str)
    ).astype("category")
    return clicks


def _chronological(presentation: pd.Series) -> pd.Series:
    """A sortable key: year, then B (February) before J (October), then module."""
    module, code = presentation.str[:3], presentation.str[4:]
    return code.str[:4] + code.str[4].map({"B": "0", "J": "1"}) + module


def _learners(
    info: pd.DataFrame, registration: pd.DataFrame, starts: dict[str, pd.Timestamp]
) -> pd.DataFrame:
    registered = registration.assign(
        registered_at=registration["presentation"].map(starts).astype("datetime64[ns, UTC]")
        + pd.to_timedelta(registration["date_registration"], unit="D")
    )
    rows = info.merge(
        registered[["presentation", "id_student", "registered_at"]],
        on=["presentation", "id_student"], how="left", validate="one_to_one",
    )
    rows = rows.assign(order=_chronological(rows["presentation"])).sort_values(
        ["id_student", "order"], kind="stable"
    )
    per_student = rows.groupby("id_student", sort=True)
    latest = per_student.tail(1).set_index("id_student").sort_index()
    joined = per_student["presentation"].agg("|".join)
    first_registered = per_student["registered_at"].min()

    group = np.where(
        latest["disability"].eq("Y"), "disabled",
        np.where(latest["age_band"].eq("55<="), "retiree", "adult_learner"),
    )
    imd_band = latest["imd_band"].where(latest["imd_band"].ne("10-20"), "10-20%")
    return pd.DataFrame({
        "learner_id": latest.index.astype(str),
        "group": group,
        "age_band": latest["age_band"].to_numpy(),
        "region": latest["region"].to_numpy(),
        "urban_rural": None,
        "education_level": latest["highest_education"].to_numpy(),
        "languages": "en",
        "accessibility_needs": None,
        "interests": None,
        "credit_hours_required": np.nan,
        "created_at": first_registered.reindex(latest.index).to_numpy(),
        "gender": latest["gender"].to_numpy(),
        "imd_band": imd_band.to_numpy(),
        "disability": latest["disability"].to_numpy(),
        "final_result": latest["final_result"].to_numpy(),
        "studied_credits": latest["studied_credits"].to_numpy(),
        "num_of_prev_attempts": latest["num_of_prev_attempts"].to_numpy(),
        "code_module": latest["code_module"].to_numpy(),
        "code_presentation": latest["code_presentation"].to_numpy(),
        "presentations": joined.reindex(latest.index).to_numpy(),
    })


def _resources(vle: pd.DataFrame, starts: dict[str, pd.Timestamp]) -> pd.DataFrame:
    start = vle["presentation"].map(starts).astype("datetime64[ns, UTC]")
    week = pd.Timedelta(days=7)
    site = vle["id_site"].astype(str)
    return pd.DataFrame({
        "resource_id": site,
        "title": vle["code_module"] + " " + vle["code_presentation"] + " · "
        + vle["activity_type"] + " " + site,
        "description": None,
        "language": "en",
        "category": vle["activity_type"],
        "tags": vle["activity_type"] + "|" + vle["code_module"],
        "provider": PROVIDER,
        "provider_type": "open_university",
        "mode": "online",
        "region": None,
        "duration_minutes": np.nan,
        "credit_hours": np.nan,
        "level": None,
        "accessibility": None,
        "available_from": start + vle["week_from"] * week,
        "available_until": start + (vle["week_to"] + 1) * week,
        "created_at": pd.NaT,
        "code_module": vle["code_module"],
        "code_presentation": vle["code_presentation"],
        "activity_type": vle["activity_type"],
    }).reset_index(drop=True)


def _events(clicks: pd.DataFrame, starts: dict[str, pd.Timestamp]) -> pd.DataFrame:
    """One view per (student, site, day), clicks summed over the day's rows."""
    daily = (
        clicks.groupby(["presentation", "id_student", "id_site", "date"], observed=True,
                       sort=False)["sum_click"]
        .sum()
        .reset_index()
    )
    presentation = daily["presentation"].astype(str)
    student = daily["id_student"].astype(str)
    site = daily["id_site"].astype(str)
    day = daily["date"]
    start = presentation.map(starts).astype("datetime64[ns, UTC]")
    return pd.DataFrame({
        "event_id": presentation + "-" + student + "-" + site + "-" + day.astype(str),
        "learner_id": student,
        "resource_id": site,
        "event_type": "view",
        "value": daily["sum_click"].astype("float64"),
        "timestamp": start + pd.to_timedelta(day, unit="D"),
    })
