"""The ``[split]`` section: which events a run learns from and which it is judged on.

One definition for training and experiment files, discriminated by ``kind``. Every hold-out
kind builds a :class:`~recommender.evaluation.splits.Split` from the events; ``rolling`` is
its own protocol (:mod:`recommender.evaluation.rolling`), so its section only carries fields.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import date, datetime
from typing import Annotated, Any, Literal

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from recommender.data.schema import EVENT_TYPES
from recommender.errors import InvalidParameterError
from recommender.evaluation.splits import (
    Split,
    cold_resource_split,
    given_split,
    leave_last_fraction,
    leave_last_n,
    random_per_learner,
    read_held_out_pairs,
    split_report,
    temporal_split,
)
from recommender.spec.base import Section
from recommender.spec.reader import relative_to_config, tag

Timestamp = datetime | date | str
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Candidates = Literal["all", "open", "active", "cold"]
# Fields that say how a run is scored, not which events are held out.
_SCORING_FIELDS = ("candidates", "active_days")


class HoldoutSplit(Section):
    """Fields every hold-out kind has: a filter on the test side and the candidate rule."""

    kind: str
    test_event_types: list[EventType] | None = Field(
        None, description="Keep only these test events as relevance (e.g. new enrolments)")
    candidates: Candidates = "all"
    active_days: float = Field(28.0, gt=0)

    @model_validator(mode="after")
    def _candidates_need_a_cut(self) -> HoldoutSplit:
        if self.candidates in ("open", "active") and self.kind != "temporal":
            raise ValueError(f"key 'candidates': {self.candidates!r} needs a temporal split "
                             "(a cut to look from)")
        return self

    def build(self, events: pd.DataFrame) -> Split:
        """Split ``events``; a ``test_event_types`` filter is applied to the test side (counted
        in the report as ``n_test_dropped_by_type``)."""
        result = self._split(events)
        if self.test_event_types is None:
            return result
        keep = result.test["event_type"].isin(self.test_event_types)
        test = result.test[keep].copy()
        base = split_report(result.train.iloc[:0], result.test.iloc[:0])  # just its keys
        extra = {k: v for k, v in result.report.items() if k not in base}
        report = split_report(
            result.train, test, **extra, test_event_types=list(self.test_event_types),
            n_test_dropped_by_type=int((~keep).sum()),
        )
        name = f"{result.name}[{','.join(self.test_event_types)}]"
        return Split(train=result.train, test=test, name=name, report=report)

    @abstractmethod
    def _split(self, events: pd.DataFrame) -> Split:
        """The kind's own split of ``events`` (the library function it names)."""

    def test_window(self, result: Split) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """``[cut, horizon_end)`` of a time cut; ``None`` for kinds without one."""
        return None

    def validation_within(self, result: Split, events: pd.DataFrame) -> HoldoutSplit:
        """The split a model fitted on ``events`` (``result``'s train side, or every event)
        validates on: this protocol replayed inside them, with the same test filter and
        candidate rule, so a choice made on it is made on the task it is judged on. Kinds
        without a date keep their parameters (a share, a count, a seed); :class:`TemporalSplit`
        and :class:`GivenSplit` say how they move."""
        return self.model_copy()

    def identity(self) -> dict[str, Any]:
        """The fields that decide which events are held out (a split fingerprint's input);
        the scoring rule and an unset test filter are not part of it."""
        fields = self.model_dump(mode="json", exclude={"kind", *_SCORING_FIELDS})
        if fields.get("test_event_types") is None:
            fields.pop("test_event_types", None)
        return {"split": self.kind, **fields}


class TemporalSplit(HoldoutSplit):
    """One global cut: train before ``cut``, test in ``[cut, horizon_end)``."""

    kind: Literal["temporal"] = "temporal"
    cut: Timestamp
    horizon_end: Timestamp | None = None

    def _split(self, events: pd.DataFrame) -> Split:
        return temporal_split(events, self.cut, self.horizon_end)

    def validation_within(self, result: Split, events: pd.DataFrame) -> TemporalSplit:
        """A cut inside ``events`` leaving after it the share of them that ``result`` held out
        (test events before the type filter, over train and test), open-ended (the events
        end where the real cut begins); the same test filter and candidate rule."""
        held_out = result.report["n_test"] + result.report.get("n_test_dropped_by_type", 0)
        share = held_out / max(result.report["n_train"] + held_out, 1)
        stamps = np.sort(pd.to_datetime(events["timestamp"], utc=True).to_numpy())
        if len(stamps) < 2 or share <= 0:
            raise InvalidParameterError(
                "split", result.name,
                "a split leaving training events before and test events after the cut "
                "(to replay it inside the training events for validation)")
        position = min(max(int(np.ceil(len(stamps) * (1.0 - share))), 1), len(stamps) - 1)
        cut = _utc(pd.Timestamp(stamps[position])).floor("s")  # a readable cut
        return self.model_copy(update={"cut": cut.isoformat(), "horizon_end": None})

    def test_window(self, result: Split) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``[cut, horizon_end)`` (end: just past the last test event when unset)."""
        start = pd.Timestamp(result.report["cut"])
        if result.report.get("horizon_end"):
            end = pd.Timestamp(result.report["horizon_end"])
        elif len(result.test):
            end = result.test["timestamp"].max() + pd.Timedelta(seconds=1)
        else:
            end = start + pd.Timedelta(seconds=1)
        return _utc(start), _utc(end)


class LeaveLastNSplit(HoldoutSplit):
    kind: Literal["leave_last_n"] = "leave_last_n"
    n: int = Field(1, ge=1)
    min_train_events: int = Field(1, ge=0)

    def _split(self, events: pd.DataFrame) -> Split:
        return leave_last_n(events, self.n, self.min_train_events)


class LeaveLastFractionSplit(HoldoutSplit):
    kind: Literal["leave_last_fraction"] = "leave_last_fraction"
    fraction: float = Field(0.2, gt=0, lt=1)
    min_events: int = Field(3, ge=1)

    def _split(self, events: pd.DataFrame) -> Split:
        return leave_last_fraction(events, self.fraction, self.min_events)


class RandomSplit(HoldoutSplit):
    kind: Literal["random"] = "random"
    test_ratio: float = Field(0.2, gt=0, lt=1)
    seed: int = Field(0, ge=0)
    min_events: int = Field(3, ge=1)

    def _split(self, events: pd.DataFrame) -> Split:
        return random_per_learner(events, self.test_ratio, self.seed, self.min_events)


class ColdResourceSplit(HoldoutSplit):
    kind: Literal["cold_resource"] = "cold_resource"
    resource_share: float = Field(0.1, gt=0, lt=1)
    seed: int = Field(0, ge=0)

    def _split(self, events: pd.DataFrame) -> Split:
        return cold_resource_split(events, self.resource_share, self.seed)


class GivenSplit(HoldoutSplit):
    """A split someone else chose: every event of the learner-resource pairs listed in
    ``path`` (CSV or Parquet, relative to the config file; columns ``learner_column`` and
    ``resource_column``) is held out, every other event is trained on."""

    kind: Literal["given"] = "given"
    path: Path
    learner_column: str = "learner_id"
    resource_column: str = "resource_id"

    @field_validator("path")
    @classmethod
    def _file(cls, value: Path, info: ValidationInfo) -> Path:
        resolved = relative_to_config(value, info)
        if not resolved.is_file():
            raise ValueError(f"held-out file {resolved} does not exist "
                             f"(path = {str(value)!r}, relative to the config file)")
        return resolved

    def _split(self, events: pd.DataFrame) -> Split:
        pairs = read_held_out_pairs(self.path, self.learner_column, self.resource_column)
        return given_split(events, pairs, str(self.path))

    def validation_within(self, result: Split, events: pd.DataFrame) -> RandomSplit:
        """The given pairs are test pairs, absent from the training events: validation holds
        out a seeded random share of each learner's events instead, the share of events the
        file held out, with the same test filter."""
        held_out = result.report["n_test"] + result.report.get("n_test_dropped_by_type", 0)
        share = held_out / max(result.report["n_train"] + held_out, 1)
        return RandomSplit(test_ratio=min(max(share, 0.01), 0.99),
                           test_event_types=self.test_event_types)

    def identity(self) -> dict[str, Any]:
        """The file's content, not where it lies, decides which events are held out."""
        found = super().identity()
        found["path"] = hashlib.sha256(self.path.read_bytes()).hexdigest()
        return found


class RollingSplit(Section):
    """The rolling protocol (:mod:`recommender.evaluation.rolling`): cuts on course days
    ``cut_days`` after ``start`` (default: each scope's ``course_start`` resource column), a
    fixed ``horizon_days``, first accesses only (``mode = "repeat"``: repeats count too).

    ``scopes`` evaluates each course separately (its resources, their events and its learners;
    a scope is the ``scope_columns`` values of a resource joined with ``-``, e.g. OULAD's
    ``"AAA-2013J"``); none: the whole catalog at once. ``baseline`` (default: the first model)
    is what every model is compared with, pairwise over (cut, learner); ``target`` the shipped
    default whose gain is checked against ``target_gain``.
    """

    kind: Literal["rolling"] = "rolling"
    cut_days: list[float] = Field(min_length=1)
    horizon_days: float = Field(7.0, gt=0)
    mode: Literal["first_access", "repeat"] = "first_access"
    start: Timestamp | None = None
    scopes: list[Annotated[str, Field(min_length=1)]] | None = Field(None, min_length=1)
    scope_columns: list[str] = Field(default_factory=lambda: ["code_module", "code_presentation"],
                                     min_length=1)
    baseline: str | None = None
    target: str | None = None
    target_gain: float = Field(0.10, ge=0)
    ceiling: bool = True

    def start_of(self, resources: pd.DataFrame, scope: str | None = None) -> pd.Timestamp:
        """``start``, else the earliest ``course_start`` of ``resources`` (one scope's, or the
        whole catalog's); neither: :class:`InvalidParameterError` naming ``split.start``."""
        if self.start is not None:
            return _utc(pd.Timestamp(self.start))
        column = resources.get("course_start")
        stamps = None if column is None else pd.to_datetime(column, utc=True).dropna()
        if stamps is None or stamps.empty:
            where = "the catalog" if scope is None else f"scope {scope!r}"
            raise InvalidParameterError(
                "split.start", None,
                f"a start date: {where} has no course_start resource column to take it from")
        return pd.Timestamp(stamps.min())

    def identity(self) -> dict[str, Any]:
        """The fields that decide the cuts and what counts (a split fingerprint's input)."""
        return {"split": self.kind, **self.model_dump(
            mode="json", include={"cut_days", "horizon_days", "mode", "start", "scopes",
                                  "scope_columns"})}


HOLDOUT_KINDS: dict[str, type[HoldoutSplit]] = {
    "temporal": TemporalSplit,
    "leave_last_n": LeaveLastNSplit,
    "leave_last_fraction": LeaveLastFractionSplit,
    "random": RandomSplit,
    "cold_resource": ColdResourceSplit,
    "given": GivenSplit,
}


def _kind(value: Any) -> str | None:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return None if kind is None else tag(str(kind))


def _discriminator(kinds: list[str]) -> Discriminator:
    return Discriminator(_kind, custom_error_type="unknown_variant",
                         custom_error_message="unknown value",
                         custom_error_context={"key": "kind", "choices": ", ".join(kinds)})


SplitSection = Annotated[
    Annotated[TemporalSplit, Tag(tag("temporal"))]
    | Annotated[LeaveLastNSplit, Tag(tag("leave_last_n"))]
    | Annotated[LeaveLastFractionSplit, Tag(tag("leave_last_fraction"))]
    | Annotated[RandomSplit, Tag(tag("random"))]
    | Annotated[ColdResourceSplit, Tag(tag("cold_resource"))]
    | Annotated[GivenSplit, Tag(tag("given"))]
    | Annotated[RollingSplit, Tag(tag("rolling"))],
    _discriminator([*HOLDOUT_KINDS, "rolling"]),
]
"""Any split, the rolling protocol included: experiment files, and a training or tuning
run's validation (which refuses the rolling protocol's experiment-only keys: scopes and model
comparisons)."""


def _utc(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
