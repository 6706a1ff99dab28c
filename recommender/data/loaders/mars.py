"""MARS (Mandarine Academy Recommender System dataset, English part) -> the three tables.

Mandarine Academy runs a workplace-training MOOC of short Microsoft 365 tutorial videos. Read from
the files as shipped: ``users_en``, ``items_en``, ``explicit_ratings_en`` and
``implicit_ratings_en`` (gzip CSV, CRLF, comma-containing fields double-quoted, UTF-8; "N/A"
marks a missing value). Authors and licence are unverified, so no rows of it live in this repo.

Mapping decisions, and why:

* **Learners** are all users (``learner_id = str(user_id)``), also those without events (cold
  start). Everyone is in the ``employee`` group: it is a workplace academy and the users who
  state a job (1,409 of 9,902) all name an occupation; "N/A" means unstated, not jobless.
  ``interests`` = the job in English (the source mixes French labels such as "ressources
  humaines"; they are translated so text models see one language); the raw label stays in the
  extra column ``job``. ``languages`` = ``en`` (the English part of the platform). Age, region
  and education are unknown and stay empty.
* **Resources** are the videos (``resource_id = str(item_id)``): ``title`` = name,
  ``description`` = the transcript-like text, ``language`` from the file. ``category`` = the
  first ``Software`` (Excel, Teams ... says most about the content), else the first ``Theme``,
  else the video ``type``. ``tags`` = every Software, Theme and Job entry plus ``type``.
  ``level`` = ``Difficulty`` lower-cased ("N/A" -> empty). ``duration`` is in seconds (tutorials
  ~2 min, webcasts ~27 min), so ``duration_minutes`` = duration / 60. ``created_at`` is only a
  year: 1 January of it, UTC. Provider Mandarine Academy (``enterprise``), ``online``. Extras:
  ``type``, ``nb_views``.
* **Events** (the file gives no time zone; the hour profile does not reveal one, so timestamps
  are read as UTC — at most two hours off if the server ran on Paris time):
  - every implicit row (a page view) is a ``view`` with ``value`` 1; repeat views of the same
    video at different times are kept as separate events. Rows that repeat an earlier row to
    the second (355 in the real data) are logging duplicates and are dropped.
  - every explicit row yields a ``progress`` event (``value`` = watch_percentage / 100) and a
    ``rate`` event (``value`` = rating, 1-10). The rating is the watch percentage in tenths
    (rating = ceil(watch_percentage / 10), at least 1, in every real row), so the two carry the
    same signal at two resolutions; both are kept so either can be weighted, and downstream
    weights should not count both at full strength. Where one (user, item, second) has several
    rows with different percentages (4 in the real data), the largest percentage is kept.
  - ids are ``"{type}-{user_id}-{item_id}-{YYYYmmddTHHMMSS}"``: stable and unique.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pandas as pd

from recommender.data.dataset import Dataset
from recommender.data.loaders._source import (
    parse_timestamps,
    raise_for_cells,
    read_source,
    require_directory,
    require_file,
)
from recommender.data.schema import LIST_SEPARATOR
from recommender.data.validate import validate_dataset

USERS_FILE = "users_en.csv.gz"
ITEMS_FILE = "items_en.csv.gz"
EXPLICIT_FILE = "explicit_ratings_en.csv.gz"
IMPLICIT_FILE = "implicit_ratings_en.csv.gz"
MISSING = "N/A"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PROVIDER = "Mandarine Academy"
LEVELS = {"Beginner": "beginner", "Intermediate": "intermediate", "Advanced": "advanced"}
# French job labels in the English part, with the English label the same file also uses.
JOBS_IN_ENGLISH = {
    "ressources humaines": "human resources",
    "recherche et développement": "research and development",
    "production & logistique": "production & logistics",
    "comptabilité": "accounting",
    "commercial": "sales",
    "achats": "purchasing",
    "juridique": "legal",
    "conseil": "consulting",
    "direction générale": "general management",
    "marketing produit & service": "product & service marketing",
    "administratif": "administrative",
    "finance & risque et assurance": "finance, risk and insurance",
}


def load_mars(path: str | os.PathLike[str]) -> Dataset:
    """Load the English MARS files from their directory."""
    directory = require_directory(path, "MARS")
    users_path = require_file(directory, [USERS_FILE], "MARS")
    items_path = require_file(directory, [ITEMS_FILE], "MARS")
    explicit_path = require_file(directory, [EXPLICIT_FILE], "MARS")
    implicit_path = require_file(directory, [IMPLICIT_FILE], "MARS")

    learners = _learners(read_source(users_path, text=["job"], integer=["user_id"]))
    resources = _resources(items_path)
    events = pd.concat(
        [_views(implicit_path), _ratings(explicit_path)], ignore_index=True
    )
    return validate_dataset(
        learners, resources, events,
        sources={"learners": str(users_path), "resources": str(items_path),
                 "events": f"{implicit_path} + {explicit_path}"},
    )


def _missing_to_none(cells: pd.Series) -> pd.Series:
    return cells.where(cells.notna() & cells.str.strip().ne(MISSING), None)


def _learners(users: pd.DataFrame) -> pd.DataFrame:
    job = _missing_to_none(users["job"].str.strip())
    return pd.DataFrame({
        "learner_id": users["user_id"].astype(str),
        "group": "employee",
        "languages": "en",
        "interests": job.map(lambda label: JOBS_IN_ENGLISH.get(label, label), na_action="ignore"),
        "job": job,
    })


def _parse_lists(path: Path, column: str, cells: pd.Series) -> pd.Series:
    """Parse cells like ``['Excel', 'Word']`` into lists of strings; others are errors."""

    def parse(cell: object) -> list[str] | None:
        if not isinstance(cell, str) or cell.strip() in ("", MISSING):
            return []
        try:
            value = ast.literal_eval(cell)
        except (ValueError, SyntaxError):
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None
        return [v.strip().replace(LIST_SEPARATOR, "/") for v in value if v.strip()]

    parsed = cells.map(parse)
    raise_for_cells(path, column, cells, parsed.isna(), "is not a list like ['Excel', 'Word']")
    return parsed


def _resources(items_path: Path) -> pd.DataFrame:
    items = read_source(
        items_path,
        text=["language", "name", "nb_views", "description", "created_at", "Difficulty", "Job",
              "Software", "Theme", "type"],
        integer=["item_id"],
        floating=["duration"],
    )
    software = _parse_lists(items_path, "Software", items["Software"])
    theme = _parse_lists(items_path, "Theme", items["Theme"])
    job = _parse_lists(items_path, "Job", items["Job"])
    kind = items["type"].str.strip()

    def first(values: list[str]) -> str | None:
        return values[0] if values else None

    category = software.map(first).fillna(theme.map(first)).fillna(kind)
    tags = [
        LIST_SEPARATOR.join(dict.fromkeys([*s, *t, *j, *([k] if isinstance(k, str) else [])]))
        for s, t, j, k in zip(software, theme, job, kind, strict=True)
    ]

    difficulty = _missing_to_none(items["Difficulty"].str.strip())
    unknown_level = difficulty.notna() & ~difficulty.isin(list(LEVELS))
    raise_for_cells(items_path, "Difficulty", items["Difficulty"], unknown_level,
                    f"must be one of {sorted(LEVELS)} or {MISSING}")

    year = items["created_at"].str.strip()
    created_at = pd.to_datetime(year, format="%Y", errors="coerce", utc=True)
    raise_for_cells(items_path, "created_at", items["created_at"],
                    year.notna() & created_at.isna(), "is not a year like 2018")

    nb_views_text = _missing_to_none(items["nb_views"])
    nb_views = pd.to_numeric(nb_views_text, errors="coerce")
    raise_for_cells(items_path, "nb_views", items["nb_views"],
                    nb_views_text.notna() & nb_views.isna(), "is not a number")

    return pd.DataFrame({
        "resource_id": items["item_id"].astype(str),
        "title": items["name"],
        "description": _missing_to_none(items["description"]),
        "language": items["language"],
        "category": category,
        "tags": tags,
        "provider": PROVIDER,
        "provider_type": "enterprise",
        "mode": "online",
        "duration_minutes": items["duration"] / 60.0,
        "level": difficulty.map(LEVELS),
        "created_at": created_at,
        "type": kind,
        "nb_views": nb_views.astype("float64"),
    })


def _event_ids(kind: str, frame: pd.DataFrame) -> pd.Series:
    stamp = frame["timestamp"].dt.strftime("%Y%m%dT%H%M%S")
    user, item = frame["user_id"].astype(str), frame["item_id"].astype(str)
    return kind + "-" + user + "-" + item + "-" + stamp


def _events(kind: str, frame: pd.DataFrame, value: pd.Series | float) -> pd.DataFrame:
    return pd.DataFrame({
        "event_id": _event_ids(kind, frame),
        "learner_id": frame["user_id"].astype(str),
        "resource_id": frame["item_id"].astype(str),
        "event_type": kind,
        "value": value,
        "timestamp": frame["timestamp"],
    })


def _views(implicit_path: Path) -> pd.DataFrame:
    views = read_source(implicit_path, text=["created_at"], integer=["item_id", "user_id"])
    views["timestamp"] = parse_timestamps(
        implicit_path, "created_at", views["created_at"], TIME_FORMAT
    )
    raise_for_cells(implicit_path, "created_at", views["created_at"],
                    views["created_at"].isna(), "must not be empty")
    views = views.drop_duplicates(["user_id", "item_id", "timestamp"]).reset_index(drop=True)
    return _events("view", views, 1.0)


def _ratings(explicit_path: Path) -> pd.DataFrame:
    ratings = read_source(
        explicit_path, text=["created_at"], integer=["user_id", "item_id", "rating"],
        floating=["watch_percentage"],
    )
    ratings["timestamp"] = parse_timestamps(
        explicit_path, "created_at", ratings["created_at"], TIME_FORMAT
    )
    raise_for_cells(explicit_path, "created_at", ratings["created_at"],
                    ratings["created_at"].isna(), "must not be empty")
    percent = ratings["watch_percentage"]
    raise_for_cells(explicit_path, "watch_percentage", percent,
                    ~percent.between(0.0, 100.0), "must be a percentage from 0 to 100")
    ratings = (
        ratings.sort_values("watch_percentage", ascending=False, kind="stable")
        .drop_duplicates(["user_id", "item_id", "timestamp"])
        .sort_index()
        .reset_index(drop=True)
    )
    return pd.concat(
        [
            _events("progress", ratings, ratings["watch_percentage"] / 100.0),
            _events("rate", ratings, ratings["rating"].astype("float64")),
        ],
        ignore_index=True,
    )
