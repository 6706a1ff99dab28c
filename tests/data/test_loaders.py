"""The real-data loaders on tiny fixtures whose expected tables were worked out by hand.

tests/fixtures/oulad is a real OULAD slice (CC BY 4.0, see its ATTRIBUTION.md); the MARS and
Canvas fixtures are invented rows in the original columns, quoting and encodings.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.data import Dataset
from recommender.data.loaders import LOADERS, load_canvas, load_mars, load_oulad
from recommender.data.loaders.oulad import load_oulad_assessments
from recommender.errors import DataValidationError, InvalidParameterError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OULAD = FIXTURES / "oulad"
MARS = FIXTURES / "mars"
CANVAS = FIXTURES / "canvas"
CLICKS = "studentVle_first1048575rows.tsv.gz"
CNPC = "CNPC_1401-1509_DI_v1_1_2016-03-01.csv.gz"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def by_id(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame.set_index(key)


def read_gz(path: Path) -> str:
    return gzip.open(path, "rb").read().decode("utf-8")


def write_gz(path: Path, text: str) -> None:
    with gzip.open(path, "wb") as handle:
        handle.write(text.encode("utf-8"))


def copy_of(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / source.name
    shutil.copytree(source, target)
    return target


def test_loaders_registry_names_the_three_loaders() -> None:
    assert LOADERS == {"oulad": load_oulad, "mars": load_mars, "canvas": load_canvas}


# --------------------------------------------------------------------------- OULAD


@pytest.fixture(scope="module")
def oulad() -> Dataset:
    return load_oulad(OULAD)


def test_oulad_default_presentations_counts(oulad: Dataset) -> None:
    # 7 students in AAA-2013J, 2 in AAA-2014J (65002 in both), 2 in BBB-2013B; BBB-2013J left out
    assert len(oulad.learners) == 10
    # vle rows: AAA-2013J 30, AAA-2014J 7, BBB-2013B 15 (incl. never-clicked site 546943)
    assert len(oulad.resources) == 52
    assert "546943" in set(oulad.resources["resource_id"])
    # distinct (student, site, day): 154 + 28 + 34; clicks 810 + 217 + 92
    assert len(oulad.events) == 216
    assert oulad.events["value"].sum() == 1119
    assert set(oulad.events["event_type"]) == {"view"}
    assert oulad.events["event_id"].is_unique


def test_oulad_sums_the_rows_of_one_student_site_day(oulad: Dataset) -> None:
    events = by_id(oulad.events, "event_id")
    # four rows (4, 1, 1, 8 clicks) for student 28400, site 546652, day -10 of AAA-2013J
    first = events.loc["AAA-2013J-28400-546652--10"]
    assert first["value"] == 14
    assert first["learner_id"] == "28400" and first["resource_id"] == "546652"
    assert first["timestamp"] == utc("2013-09-21")  # 1 Oct 2013 minus 10 days
    # a B presentation starts on 1 February
    assert events.loc["BBB-2013B-27891-542808--6", "timestamp"] == utc("2013-01-26")
    assert events.loc["BBB-2013B-27891-542808--6", "value"] == 3


def test_oulad_learner_profiles_and_groups(oulad: Dataset) -> None:
    learners = by_id(oulad.learners, "learner_id")
    assert learners["group"].value_counts().to_dict() == {
        "adult_learner": 6, "disabled": 2, "retiree": 2,
    }
    assert learners.loc["30268", "group"] == "disabled"  # disability Y, 35-55
    assert learners.loc["11391", "group"] == "retiree"  # 55<=
    assert learners.loc["11391", "education_level"] == "HE Qualification"
    assert learners.loc["11391", "region"] == "East Anglian Region"
    assert learners.loc["11391", "languages"] == "en"
    assert learners.loc["33666", "imd_band"] == "10-20%"  # the one unlabelled band
    assert pd.isna(learners.loc["53025", "imd_band"])
    # registered but never clicked: still a learner, without events
    assert "292923" in learners.index
    assert "292923" not in set(oulad.events["learner_id"])


def test_oulad_student_in_two_presentations_keeps_one_row(oulad: Dataset) -> None:
    learners = by_id(oulad.learners, "learner_id")
    student = learners.loc["65002"]
    assert student["presentations"] == "AAA-2013J|AAA-2014J"
    assert student["code_presentation"] == "2014J"  # the latest profile
    assert student["final_result"] == "Fail"
    assert student["created_at"] == utc("2013-04-04")  # AAA-2013J start minus 180 days


def test_oulad_sites_with_a_week_window(oulad: Dataset) -> None:
    resources = by_id(oulad.resources, "resource_id")
    week_two = resources.loc["546732"]  # AAA-2013J, week 2 to 2
    assert week_two["available_from"] == utc("2013-10-15")
    assert week_two["available_until"] == utc("2013-10-22")
    assert resources.loc["877045", "available_from"] == utc("2014-10-08")  # AAA-2014J week 1
    always = resources.loc["546652"]
    assert pd.isna(always["available_from"]) and pd.isna(always["available_until"])
    assert always["title"] == "AAA 2013J · forumng 546652"
    assert always["category"] == "forumng"
    assert always["mode"] == "online" and always["provider_type"] == "open_university"


def test_oulad_truncated_presentation_only_on_request() -> None:
    dataset = load_oulad(OULAD, presentations=["BBB-2013J"])
    assert list(dataset.learners["learner_id"]) == ["560773"]
    assert len(dataset.resources) == 18
    assert len(dataset.events) == 22
    assert dataset.events["value"].sum() == 62
    assert dataset.events["timestamp"].min() == utc("2013-09-08")  # day -23 of 2013J


def test_oulad_unknown_presentation_is_a_parameter_error() -> None:
    with pytest.raises(InvalidParameterError, match="CCC-2014J"):
        load_oulad(OULAD, presentations=["CCC-2014J"])


def test_oulad_presentation_without_clickstream_is_a_parameter_error(tmp_path: Path) -> None:
    folder = copy_of(OULAD, tmp_path)
    courses = folder / "courses.csv.gz"
    write_gz(courses, read_gz(courses) + '"CCC","2014J","269"\r\n')
    with pytest.raises(InvalidParameterError, match="CCC-2014J"):
        load_oulad(folder, presentations=["AAA-2013J", "CCC-2014J"])


def test_oulad_missing_directory_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-oulad"
    with pytest.raises(DataValidationError, match="no-such-oulad"):
        load_oulad(missing)


def test_oulad_missing_file_names_it(tmp_path: Path) -> None:
    folder = copy_of(OULAD, tmp_path)
    (folder / "vle.csv.gz").unlink()
    with pytest.raises(DataValidationError) as caught:
        load_oulad(folder)
    assert str(folder / "vle.csv.gz") in str(caught.value)


def test_oulad_non_numeric_clicks_name_file_column_and_row(tmp_path: Path) -> None:
    folder = copy_of(OULAD, tmp_path)
    clicks = folder / CLICKS
    lines = read_gz(clicks).split("\r\n")
    fields = lines[3].split("\t")
    fields[5] = "many"
    lines[3] = "\t".join(fields)
    write_gz(clicks, "\r\n".join(lines))
    with pytest.raises(DataValidationError) as caught:
        load_oulad(folder)
    message = str(caught.value)
    assert str(clicks) in message
    assert "'sum_click'" in message and "row 3" in message and "'many'" in message


def test_oulad_missing_column_is_named(tmp_path: Path) -> None:
    folder = copy_of(OULAD, tmp_path)
    info = folder / "studentInfo.csv.gz"
    write_gz(info, read_gz(info).replace('"disability"', '"disabled"', 1))
    with pytest.raises(DataValidationError, match="'disability'.*required column is missing"):
        load_oulad(folder)


def test_oulad_assessment_deadlines_from_the_course_start() -> None:
    table = load_oulad_assessments(OULAD, ["AAA-2013J"])
    # AAA-2013J starts 1 Oct 2013: TMAs on days 19, 54, 117, 166, 215; the dateless exam
    # at the end of the 268-day presentation.
    assert table["id_assessment"].tolist() == [1752, 1753, 1754, 1755, 1756, 1757]
    assert table["deadline"].tolist() == [
        utc("2013-10-20"), utc("2013-11-24"), utc("2014-01-26"), utc("2014-03-16"),
        utc("2014-05-04"), utc("2014-06-26"),
    ]
    assert table["date"].isna().tolist() == [False] * 5 + [True]


def test_oulad_resources_carry_their_schedule(oulad: Dataset) -> None:
    resources = by_id(oulad.resources, "resource_id")
    bbb = resources[resources["code_presentation"] == "2013B"].iloc[0]
    assert bbb["course_start"] == utc("2013-02-01")
    deadlines = bbb["assessment_deadlines"].split("|")
    assert len(deadlines) == 12  # 6 TMAs, 5 CMAs and the exam
    assert pd.Timestamp(deadlines[0]) == utc("2013-02-20")  # TMA on day 19
    assert deadlines == sorted(deadlines)


@pytest.mark.parametrize(("column", "old", "new", "message"), [
    ("assessment_type", '"TMA","19","10"', '"Essay","19","10"', "is not one of"),
    ("date", '"TMA","54","20"', '"TMA","","20"', "only an exam may have no date"),
    ("weight", '"TMA","117","20"', '"TMA","117","120"', "is not a weight in [0, 100]"),
])
def test_oulad_bad_assessment_names_file_column_and_row(
    tmp_path: Path, column: str, old: str, new: str, message: str
) -> None:
    folder = copy_of(OULAD, tmp_path)
    path = folder / "assessments.csv.gz"
    text = read_gz(path)
    row = next(i for i, line in enumerate(text.split("\r\n")) if old in line)
    write_gz(path, text.replace(old, new, 1))
    with pytest.raises(DataValidationError) as caught:
        load_oulad(folder)
    text = str(caught.value)
    assert str(path) in text and f"'{column}'" in text and message in text
    assert f"row {row}" in text


def test_oulad_without_assessments_has_no_schedule(tmp_path: Path) -> None:
    folder = copy_of(OULAD, tmp_path)
    (folder / "assessments.csv.gz").unlink()
    assert "assessment_deadlines" not in load_oulad(folder).resources.columns


# --------------------------------------------------------------------------- MARS


@pytest.fixture(scope="module")
def mars() -> Dataset:
    return load_mars(MARS)


def test_mars_counts(mars: Dataset) -> None:
    assert len(mars.learners) == 8
    assert len(mars.resources) == 6
    # 18 page views minus 2 exact repeats; 8 rating rows minus 1 same-second conflict, x2 types
    assert mars.events["event_type"].value_counts().to_dict() == {
        "view": 16, "progress": 7, "rate": 7,
    }
    assert mars.events["event_id"].is_unique


def test_mars_learners(mars: Dataset) -> None:
    learners = by_id(mars.learners, "learner_id")
    assert set(learners["group"]) == {"employee"}
    assert learners.loc["104", "interests"] == "human resources"  # ressources humaines
    assert learners.loc["108", "interests"] == "accounting"  # comptabilité (UTF-8)
    assert learners.loc["108", "job"] == "comptabilité"
    assert learners.loc["103", "interests"] == "finance, risk and insurance"  # quoted field
    assert pd.isna(learners.loc["101", "interests"]) and pd.isna(learners.loc["101", "job"])
    assert "107" in learners.index  # no events, still a learner


def test_mars_resources(mars: Dataset) -> None:
    resources = by_id(mars.resources, "resource_id")
    assert resources["category"].to_dict() == {
        "11": "Excel", "12": "Share", "13": "Microsoft Teams", "14": "tutorial",
        "15": "OneDrive", "16": "To Do",
    }
    shared = resources.loc["12"]
    assert shared["title"] == "Share a file, then co-edit it"
    assert shared["tags"] == "Share|Collaborate|Marketing|Communication|use_case"
    assert pd.isna(shared["description"]) and pd.isna(shared["nb_views"])
    assert pd.isna(shared["level"])
    description = resources.loc["11", "description"]
    assert description.startswith('Open Excel,select a range and click "Format')
    webinar = resources.loc["13"]
    assert webinar["duration_minutes"] == 30.0  # 1800 seconds
    assert webinar["level"] == "advanced"
    assert webinar["tags"] == "Microsoft Teams|Outlook|New features|webcast"
    assert resources.loc["11", "created_at"] == utc("2018-01-01")
    assert set(resources["provider_type"]) == {"enterprise"}


def test_mars_events(mars: Dataset) -> None:
    events = by_id(mars.events, "event_id")
    repeat = events.loc["view-101-11-20170620T003346"]
    assert repeat["timestamp"] == utc("2017-06-20 00:33:46")
    assert repeat["value"] == 1.0
    assert "view-101-11-20161102T205923" in events.index  # the earlier view is kept too
    # two rows for (104, 12) at the same second: the larger watch percentage wins
    assert events.loc["progress-104-12-20200102T235959", "value"] == pytest.approx(0.93)
    assert events.loc["rate-104-12-20200102T235959", "value"] == 10
    assert events.loc["rate-103-15-20190701T083000", "value"] == 1
    assert events.loc["progress-103-15-20190701T083000", "value"] == 0.0


def test_mars_missing_file_names_it(tmp_path: Path) -> None:
    folder = copy_of(MARS, tmp_path)
    (folder / "explicit_ratings_en.csv.gz").unlink()
    with pytest.raises(DataValidationError) as caught:
        load_mars(folder)
    assert str(folder / "explicit_ratings_en.csv.gz") in str(caught.value)


def test_mars_missing_directory_names_it(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="no-such-mars"):
        load_mars(tmp_path / "no-such-mars")


def test_mars_bad_timestamp_names_file_and_column(tmp_path: Path) -> None:
    folder = copy_of(MARS, tmp_path)
    ratings = folder / "explicit_ratings_en.csv.gz"
    write_gz(ratings, read_gz(ratings).replace("2019-03-05 10:00:00", "yesterday"))
    with pytest.raises(DataValidationError) as caught:
        load_mars(folder)
    message = str(caught.value)
    assert str(ratings) in message and "'created_at'" in message and "row 3" in message


def test_mars_bad_list_cell_names_column(tmp_path: Path) -> None:
    folder = copy_of(MARS, tmp_path)
    items = folder / "items_en.csv.gz"
    write_gz(items, read_gz(items).replace("['Excel']", "Excel"))
    with pytest.raises(DataValidationError, match="'Software', row 1, value 'Excel'"):
        load_mars(folder)


# --------------------------------------------------------------------------- Canvas


@pytest.fixture(scope="module")
def canvas() -> Dataset:
    return load_canvas(CANVAS)


def test_canvas_counts(canvas: Dataset) -> None:
    assert len(canvas.learners) == 7
    assert len(canvas.resources) == 7
    # 20 rows, one duplicate (user, course) pair -> 19 registrations
    assert canvas.events["event_type"].value_counts().to_dict() == {
        "enroll": 19, "view": 11, "progress": 5, "complete": 2,
    }
    assert canvas.events["event_id"].is_unique


def test_canvas_learner_profiles_and_groups(canvas: Dataset) -> None:
    learners = by_id(canvas.learners, "learner_id")
    assert learners["group"].to_dict() == {
        "900000001": "employee",  # "promotion at work" on the later of two surveyed courses
        "900000002": "retiree",  # 55 or older
        "900000003": "youth",  # preparing for college for the first time
        "900000004": "mooc_learner",  # no survey
        "900000005": "mooc_learner",  # new career: not evidence of unemployment
        "900000006": "employee",
        "900000007": "mooc_learner",
    }
    first = learners.loc["900000001"]
    assert first["age_band"] == "34-54"
    assert first["education_level"] == "Completed 4-year college degree"
    assert first["interests"] == "I hope to gain skills for a promotion at work"
    assert first["created_at"] == utc("2014-01-01")  # course 700000001 starts 2014 Q1
    older = learners.loc["900000002"]
    assert older["education_level"] == "Ph.D., J.D., or M.D. (or equivalent)"  # quoted field
    assert older["age_band"] == "55 or older"
    assert older["n_courses"] == 5  # the duplicate registration counted once
    assert pd.isna(learners.loc["900000004", "age_band"])  # "{}" means withheld


def test_canvas_resources(canvas: Dataset) -> None:
    resources = by_id(canvas.resources, "resource_id")
    course = resources.loc["700000001"]
    assert course["title"] == "Canvas course 700000001 (Mathematics & Statistics)"
    assert course["category"] == "Mathematics & Statistics"
    assert course["course_length_days"] == 48
    assert np.isnan(course["duration_minutes"])
    last = resources.loc["700000007"]
    assert last["available_from"] == utc("2015-07-01")
    assert last["available_until"] == utc("2016-03-31 23:59:59.999999")


def test_canvas_event_times(canvas: Dataset) -> None:
    events = by_id(canvas.events, "event_id")
    assert events.loc["enroll-900000001-700000001", "timestamp"] == utc("2014-01-01")
    assert events.loc["enroll-900000001-700000003", "timestamp"] == utc("2015-01-01")
    assert events.loc["enroll-900000006-700000002", "timestamp"] == utc("2015-01-01")
    done = events.loc["complete-900000001-700000002"]
    assert done["timestamp"] == utc("2015-04-01")  # last_event_DI 2015 Q2
    assert events.loc["progress-900000001-700000002", "value"] == 1.0
    late = events.loc["progress-900000007-700000004"]  # no last_event: at enrolment
    assert late["value"] == 0.125 and late["timestamp"] == utc("2015-01-01")


def test_canvas_min_courses_keeps_learners_with_enough_courses() -> None:
    dataset = load_canvas(CANVAS, min_courses=5)
    assert sorted(dataset.learners["learner_id"]) == ["900000001", "900000002"]
    assert len(dataset.resources) == 7
    assert dataset.events["event_type"].value_counts().to_dict() == {
        "enroll": 10, "view": 6, "progress": 3, "complete": 1,
    }
    assert load_canvas(CANVAS, min_courses=6).learners.empty


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_canvas_min_courses_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="min_courses"):
        load_canvas(CANVAS, min_courses=bad)  # type: ignore[arg-type]


def test_canvas_missing_file_names_it(tmp_path: Path) -> None:
    empty = tmp_path / "canvas"
    empty.mkdir()
    with pytest.raises(DataValidationError) as caught:
        load_canvas(empty)
    assert str(empty / CNPC) in str(caught.value)


def test_canvas_missing_directory_names_it(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="no-such-canvas"):
        load_canvas(tmp_path / "no-such-canvas")


def test_canvas_bad_cells_name_file_and_column(tmp_path: Path) -> None:
    folder = copy_of(CANVAS, tmp_path)
    cnpc = folder / CNPC
    write_gz(cnpc, read_gz(cnpc).replace(",0.25,", ",lots,", 1))
    with pytest.raises(DataValidationError) as caught:
        load_canvas(folder)
    message = str(caught.value)
    assert str(cnpc) in message and "'completed_%', row 1, value 'lots'" in message


def test_canvas_bad_quarter_names_column(tmp_path: Path) -> None:
    folder = copy_of(CANVAS, tmp_path)
    cnpc = folder / CNPC
    write_gz(cnpc, read_gz(cnpc).replace(",2015 Q3,2015 Q4,", ",2015-Q3,2015 Q4,", 1))
    with pytest.raises(DataValidationError, match="'course_start'.*'2015-Q3'"):
        load_canvas(folder)
