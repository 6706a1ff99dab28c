"""Train/test splits of the events table. Splits never modify the caller's frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.errors import InvalidParameterError


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    name: str


def leave_last_fraction(events: pd.DataFrame, fraction: float = 0.2, min_events: int = 3) -> Split:
    """Hold out each learner's latest ``fraction`` of events (by time, ties by event_id).

    Learners with fewer than ``min_events`` events stay wholly in train: they have too little
    history to both learn from and test on.
    """
    if not 0.0 < fraction < 1.0:
        raise InvalidParameterError("fraction", fraction, "a number strictly between 0 and 1")
    ordered = events.sort_values(["learner_id", "timestamp", "event_id"], kind="stable")
    position = ordered.groupby("learner_id", sort=False).cumcount().to_numpy()
    count = ordered.groupby("learner_id", sort=False)["event_id"].transform("size").to_numpy()
    n_test = np.floor(count * fraction).astype(np.int64)
    is_test = (count >= min_events) & (position >= count - n_test)
    return Split(
        train=ordered[~is_test].sort_index(),
        test=ordered[is_test].sort_index(),
        name=f"leave_last_fraction({fraction:g})",
    )
