"""Turn the ``[data]`` and ``[split]`` sections into a dataset and a split, via the library."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from experiments.config import (
    ColdResourceSplit,
    DataConfig,
    DirectoryData,
    LeaveLastFractionSplit,
    LeaveLastNSplit,
    LoaderData,
    RandomSplit,
    SampleData,
    SplitConfig,
    TemporalSplit,
)
from recommender.data import Dataset, load_directory
from recommender.data.loaders import LOADERS
from recommender.data.sample_world import generate_world
from recommender.evaluation.splits import (
    Split,
    cold_resource_split,
    leave_last_fraction,
    leave_last_n,
    random_per_learner,
    split_report,
    temporal_split,
)
from recommender.callable_params import coerce_params


def load_dataset(data: DataConfig, path: Path | None) -> Dataset:
    """The validated dataset a ``[data]`` section names (``path`` from ``load_config``)."""
    if isinstance(data, SampleData):
        return generate_world(**coerce_params(generate_world, data.options))
    if isinstance(data, LoaderData):
        loader = LOADERS[data.source]
        return loader(path, **coerce_params(loader, data.options))
    if isinstance(data, DirectoryData):
        return load_directory(path)
    raise TypeError(f"unsupported data section {data!r}")  # unreachable: validated config


def make_split(split: SplitConfig, events: pd.DataFrame) -> Split:
    """Split the events as configured; a ``test_event_types`` filter is applied to the test side
    (counted in the report as ``n_test_dropped_by_type``)."""
    if isinstance(split, TemporalSplit):
        result = temporal_split(events, split.cut, split.horizon_end)
    elif isinstance(split, LeaveLastNSplit):
        result = leave_last_n(events, split.n, split.min_train_events)
    elif isinstance(split, LeaveLastFractionSplit):
        result = leave_last_fraction(events, split.fraction, split.min_events)
    elif isinstance(split, RandomSplit):
        result = random_per_learner(events, split.test_ratio, split.seed, split.min_events)
    elif isinstance(split, ColdResourceSplit):
        result = cold_resource_split(events, split.resource_share, split.seed)
    else:  # unreachable: validated config
        raise TypeError(f"unsupported split section {split!r}")
    if split.test_event_types is None:
        return result
    keep = result.test["event_type"].isin(split.test_event_types)
    test = result.test[keep].copy()
    base = split_report(result.train.iloc[:0], result.test.iloc[:0])  # just its keys
    extra = {k: v for k, v in result.report.items() if k not in base}
    report = split_report(
        result.train, test, **extra, test_event_types=list(split.test_event_types),
        n_test_dropped_by_type=int((~keep).sum()),
    )
    return Split(train=result.train, test=test, name=f"{result.name}[{','.join(split.test_event_types)}]", report=report)


def test_window(split: SplitConfig, result: Split) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``[cut, horizon_end)`` of a temporal split (end: just past the last test event)."""
    if not isinstance(split, TemporalSplit):
        return None
    start = pd.Timestamp(result.report["cut"])
    if result.report.get("horizon_end"):
        end = pd.Timestamp(result.report["horizon_end"])
    elif len(result.test):
        end = result.test["timestamp"].max() + pd.Timedelta(seconds=1)
    else:
        end = start + pd.Timedelta(seconds=1)
    return _utc(start), _utc(end)


def _utc(stamp: pd.Timestamp) -> pd.Timestamp:
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
