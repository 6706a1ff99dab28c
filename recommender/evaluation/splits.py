"""Train/test splits of the events table.

Splits never modify the caller's frame: train and test are new frames holding the caller's rows
in the caller's order (index kept). What a split leaves awkward (learners or resources seen only
in test, learners too short to test, events past a horizon) is counted in ``Split.report``
rather than silently dropped; the evaluation decides what to do with it and says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from recommender.data.io import read_table
from recommender.errors import DataValidationError, InvalidParameterError, Problem

_REQUIRED = ("event_id", "learner_id", "resource_id", "timestamp")


@runtime_checkable
class SplitSpec(Protocol):
    """What a search needs of a configured split (the spec's ``[split]`` hold-out sections,
    :mod:`recommender.spec.split`) to validate on it: the split itself, its candidate rule
    and the test window that rule looks at."""

    kind: str
    candidates: str
    active_days: float

    def build(self, events: pd.DataFrame) -> Split: ...

    def test_window(self, result: Split) -> tuple[pd.Timestamp, pd.Timestamp] | None: ...


@dataclass(frozen=True)
class Split:
    """Train and test events plus a report of the split's counts (see :func:`split_report`)."""

    train: pd.DataFrame
    test: pd.DataFrame
    name: str
    report: dict[str, Any] = field(default_factory=dict)


def split_report(train: pd.DataFrame, test: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    """Counts of a split: events, learners and resources per side, and who appears only in test.

    Learners (resources) only in test cannot be scored by a collaborative model without a
    cold-start path; they are listed (sorted ids) and counted so a report can say so.
    """
    train_learners = set(train["learner_id"].unique())
    test_learners = set(test["learner_id"].unique())
    train_resources = set(train["resource_id"].unique())
    test_resources = set(test["resource_id"].unique())
    learners_only_in_test = sorted(test_learners - train_learners)
    resources_only_in_test = sorted(test_resources - train_resources)
    report: dict[str, Any] = {
        "n_train": len(train),
        "n_test": len(test),
        "n_train_learners": len(train_learners),
        "n_test_learners": len(test_learners),
        "n_train_resources": len(train_resources),
        "n_test_resources": len(test_resources),
        "n_learners_only_in_test": len(learners_only_in_test),
        "n_resources_only_in_test": len(resources_only_in_test),
        "learners_only_in_test": learners_only_in_test,
        "resources_only_in_test": resources_only_in_test,
    }
    report.update(extra)
    return report


def _check_events(events: pd.DataFrame) -> None:
    missing = [column for column in _REQUIRED if column not in events.columns]
    if missing:
        raise InvalidParameterError(
            "events", f"a frame without {missing}",
            f"an events frame with columns {list(_REQUIRED)}",
        )


def _make(events: pd.DataFrame, is_test: np.ndarray, name: str, **extra: Any) -> Split:
    """Split by a boolean mask, keeping the caller's row order and index."""
    train = events[~is_test].copy()
    test = events[is_test].copy()
    return Split(train=train, test=test, name=name, report=split_report(train, test, **extra))


def _rank_within_learner(learner: np.ndarray, *sort_keys: np.ndarray) -> np.ndarray:
    """Each row's 0-based position in its learner's rows ordered by ``sort_keys`` (most
    significant first)."""
    order = np.lexsort((*reversed(sort_keys), learner))
    count = np.bincount(learner, minlength=int(learner.max()) + 1) if len(learner) else learner
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    position = np.empty(len(learner), dtype=np.int64)
    position[order] = np.arange(len(learner)) - start[learner[order]]
    return position


def _learner_codes(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Learner code per row (0..n_learners-1) and each row's learner's event count."""
    learner, _ = pd.factorize(events["learner_id"], sort=True)
    learner = learner.astype(np.int64)
    count = np.bincount(learner) if len(learner) else np.zeros(0, dtype=np.int64)
    return learner, count[learner]


def _latest_last(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Learner code, position in the learner's history by (timestamp, event_id), and count."""
    learner, count = _learner_codes(events)
    stamp, _ = pd.factorize(events["timestamp"], sort=True)  # ranks: any unit or time zone
    event, _ = pd.factorize(events["event_id"], sort=True)
    return learner, _rank_within_learner(learner, stamp, event), count


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidParameterError(name, value, f"an integer >= {minimum}")
    return int(value)


def _check_fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise InvalidParameterError(name, value, "a number strictly between 0 and 1")
    return float(value)


def _n_without_test(learner: np.ndarray, is_test: np.ndarray) -> int:
    has_test = np.bincount(learner, weights=is_test.astype(np.float64)) > 0
    return int((~has_test).sum()) if len(learner) else 0


def leave_last_fraction(events: pd.DataFrame, fraction: float = 0.2, min_events: int = 3) -> Split:
    """Hold out each learner's latest ``fraction`` of events (by time, ties by event_id).

    A learner with ``c`` events gives ``floor(c * fraction)`` to test. Learners with fewer than
    ``min_events`` events stay wholly in train: they have too little history to both learn from
    and test on (counted as ``n_learners_without_test``).
    """
    fraction = _check_fraction("fraction", fraction)
    min_events = _check_int("min_events", min_events, 1)
    _check_events(events)
    learner, position, count = _latest_last(events)
    n_test = np.floor(count * fraction).astype(np.int64)
    is_test = (count >= min_events) & (position >= count - n_test)
    return _make(
        events, is_test, f"leave_last_fraction({fraction:g})",
        n_learners_without_test=_n_without_test(learner, is_test),
    )


def leave_last_n(events: pd.DataFrame, n: int = 1, min_train_events: int = 1) -> Split:
    """Hold out each learner's ``n`` latest events (by timestamp, ties by event_id string order).

    Only learners with at least ``n + min_train_events`` events are tested; the rest stay wholly
    in train (counted as ``n_learners_without_test``).
    """
    n = _check_int("n", n, 1)
    min_train_events = _check_int("min_train_events", min_train_events, 0)
    _check_events(events)
    learner, position, count = _latest_last(events)
    is_test = (count >= n + min_train_events) & (position >= count - n)
    return _make(
        events, is_test, f"leave_last_n({n})",
        n_learners_without_test=_n_without_test(learner, is_test),
    )


def _seeded_draws(events: pd.DataFrame, seed: int) -> np.ndarray:
    """Per row, a pseudo-random 64-bit draw from the row's own fields and ``seed`` (SipHash
    keyed by the seed): the same event draws the same number wherever it sits in the frame,
    so a split by these draws does not move when a file's rows are reordered."""
    fields = events[sorted(events.columns)]
    return pd.util.hash_pandas_object(fields, index=False,
                                      hash_key=f"{seed:016x}"[-16:]).to_numpy()


def random_per_learner(
    events: pd.DataFrame, test_ratio: float = 0.2, seed: int = 0, min_events: int = 3
) -> Split:
    """Hold out a random ``floor(c * test_ratio)`` of each learner's ``c`` events, ignoring time
    (stratified by learner: every tested learner gives the same share).

    Deterministic for the events and ``seed``, whatever the order of the rows: each event's
    draw is a seeded hash of its own fields, not of its position. Learners with fewer than
    ``min_events`` events stay in train. Ignoring time leaks the future into training: use it
    to compare with the literature, and a temporal split to estimate what serving will see.
    """
    test_ratio = _check_fraction("test_ratio", test_ratio)
    seed = _check_int("seed", seed, 0)
    min_events = _check_int("min_events", min_events, 1)
    _check_events(events)
    learner, count = _learner_codes(events)
    position = _rank_within_learner(learner, _seeded_draws(events, seed))
    is_test = (count >= min_events) & (position < np.floor(count * test_ratio))
    return _make(
        events, is_test, f"random_per_learner({test_ratio:g}, seed={seed})",
        n_learners_without_test=_n_without_test(learner, is_test),
    )


def _as_utc_like(value: object, stamps: pd.Series, name: str) -> pd.Timestamp:
    """Parse a cut-off; a naive one is read as UTC when the events are tz-aware."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            name, value, "a timestamp (ISO 8601 string or datetime)"
        ) from None
    if stamp is pd.NaT:
        raise InvalidParameterError(name, value, "a timestamp, not NaT")
    aware = isinstance(stamps.dtype, pd.DatetimeTZDtype)
    if aware and stamp.tzinfo is None:
        return stamp.tz_localize("UTC")
    if not aware and stamp.tzinfo is not None:
        return stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def temporal_split(
    events: pd.DataFrame, cut: object, horizon_end: object | None = None
) -> Split:
    """Global cut: train is every event before ``cut``, test every event at or after it.

    With ``horizon_end`` the test window is ``[cut, horizon_end)``; later events are in
    neither side and counted as ``n_after_horizon``. A naive cut-off is read as UTC.
    """
    _check_events(events)
    stamps = events["timestamp"]
    cut_at = _as_utc_like(cut, stamps, "cut")
    is_train = (stamps < cut_at).to_numpy()
    in_window = ~is_train
    end_at = None
    if horizon_end is not None:
        end_at = _as_utc_like(horizon_end, stamps, "horizon_end")
        if end_at <= cut_at:
            raise InvalidParameterError("horizon_end", horizon_end, f"a time after cut={cut_at}")
        in_window = in_window & (stamps < end_at).to_numpy()
    train = events[is_train].copy()
    test = events[in_window].copy()
    window = cut_at.isoformat() + (f"..{end_at.isoformat()}" if end_at is not None else "")
    name = f"temporal({window})"
    report = split_report(
        train, test, cut=cut_at.isoformat(),
        horizon_end=end_at.isoformat() if end_at is not None else None,
        n_after_horizon=int((~is_train & ~in_window).sum()),
    )
    return Split(train=train, test=test, name=name, report=report)


def cold_resource_split(
    events: pd.DataFrame, resource_share: float = 0.1, seed: int = 0
) -> Split:
    """A seeded share of the resources in ``events`` goes wholly to test: all their events.

    Measures how well a model recommends resources it never saw interactions for (the content
    path). ``round(share * n_resources)`` resources are drawn, at least one and never all; the
    draw is over the sorted resource ids, so it does not depend on row order.
    """
    resource_share = _check_fraction("resource_share", resource_share)
    seed = _check_int("seed", seed, 0)
    _check_events(events)
    resource_ids = np.sort(events["resource_id"].unique().astype(object))
    n_cold = max(1, int(round(resource_share * len(resource_ids))))
    if n_cold >= len(resource_ids):
        raise InvalidParameterError(
            "resource_share", resource_share,
            f"a share leaving at least one of the {len(resource_ids)} resources in train",
        )
    rng = np.random.default_rng(seed)
    cold = resource_ids[rng.choice(len(resource_ids), size=n_cold, replace=False)]
    is_test = events["resource_id"].isin(cold).to_numpy()
    return _make(
        events, is_test, f"cold_resource({resource_share:g}, seed={seed})",
        cold_resources=sorted(cold.tolist()),
    )


HELD_OUT_TABLE = "held_out"


def read_held_out_pairs(
    path: str | os.PathLike[str], learner_column: str = "learner_id",
    resource_column: str = "resource_id",
) -> pd.DataFrame:
    """The ``learner_id, resource_id`` pairs of a held-out file (CSV or Parquet), in file
    order; a missing file or column, or a blank cell, raises :class:`DataValidationError`
    naming the file, the column and the 1-based row."""
    source = str(path)
    frame = read_table(path, HELD_OUT_TABLE)
    problems = [Problem(HELD_OUT_TABLE, column, None, None,
                        f"missing column (the file has {list(frame.columns)})", source)
                for column in (learner_column, resource_column) if column not in frame.columns]
    if problems:
        raise DataValidationError(problems)
    pairs = pd.DataFrame({"learner_id": frame[learner_column],
                          "resource_id": frame[resource_column]})
    for name, column in (("learner_id", learner_column), ("resource_id", resource_column)):
        text = pairs[name].astype("string").str.strip()
        blank = np.flatnonzero((text.isna() | (text == "")).to_numpy())
        problems += [Problem(HELD_OUT_TABLE, column, int(row) + 1, None, "empty cell", source)
                     for row in blank]
        pairs[name] = text.astype(object)
    if problems:
        raise DataValidationError(problems[:20], total=len(problems))
    if len(pairs) == 0:
        raise DataValidationError([Problem(HELD_OUT_TABLE, "-", None, None,
                                           "no held-out pairs in the file", source)])
    return pairs


def given_split(events: pd.DataFrame, pairs: pd.DataFrame, source: str = "given") -> Split:
    """Every event of a held-out ``(learner_id, resource_id)`` pair goes to test, every other
    event to train: a split someone else chose (an official test file).

    Each pair must have at least one event in ``events`` (the test side is events of the data,
    so the held-out interactions belong in the events table too); pairs without one raise
    :class:`DataValidationError` naming the file (``source``) and their 1-based rows. A pair
    listed twice is held out once.
    """
    _check_events(events)
    key = pd.MultiIndex.from_arrays([events["learner_id"].astype(str),
                                     events["resource_id"].astype(str)])
    wanted = pd.MultiIndex.from_arrays([pairs["learner_id"].astype(str),
                                        pairs["resource_id"].astype(str)])
    missing = np.flatnonzero(~wanted.isin(key))
    if len(missing):
        problems = [Problem(HELD_OUT_TABLE, "learner_id, resource_id", int(row) + 1,
                            f"{wanted[row][0]}, {wanted[row][1]}",
                            "no event of this pair in the events table", source)
                    for row in missing[:20]]
        raise DataValidationError(problems, total=len(missing))
    is_test = key.isin(wanted)
    return _make(events, is_test, f"given({os.path.basename(source)})",
                 n_held_out_pairs=int(len(wanted.unique())))
