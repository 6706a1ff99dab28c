"""Ordinal time: timestamps that only say in which order a learner did things.

Many education logs carry the order of enrolments but not real dates. With ``[features] time =
"ordinal"`` every timestamp a model reads becomes a position: each learner's events are
numbered back from their latest one (0 = latest; events at the same timestamp share a step),
and step ``-s`` is written as ``ORIGIN - s days``. Every day-valued parameter of the sequence
and time-aware models (windows, horizons, decays, half-lives) then counts steps of the
learner's own order, and any timestamps that keep the same order per learner, real dates or
their ranks, give the same features and so the same lists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ORIGIN = pd.Timestamp("2000-01-01", tz="UTC")  # every learner's latest event under ordinal time
TIME_MODES = ("dates", "ordinal")


def ordinal_steps(learner: np.ndarray | pd.Series, timestamp: pd.Series) -> np.ndarray:
    """Per event, how many distinct later timestamps its learner has (0: their latest)."""
    frame = pd.DataFrame({
        "learner": pd.factorize(np.asarray(learner, dtype=object))[0],
        "stamp": pd.factorize(pd.to_datetime(timestamp, utc=True), sort=True)[0],
    })
    steps = frame.groupby("learner")["stamp"].rank(method="dense", ascending=False) - 1.0
    return steps.to_numpy(np.float64)


def as_ordinal(events: pd.DataFrame) -> pd.DataFrame:
    """``events`` (a copy) with each timestamp replaced by its learner's step before their
    latest event, as ``ORIGIN - steps days``; other columns and the row order kept."""
    if events.empty:
        return events.copy()
    steps = ordinal_steps(events["learner_id"], events["timestamp"])
    return events.assign(timestamp=ORIGIN - pd.to_timedelta(steps, unit="D"))


def describe_time(mode: str) -> str:
    """What a run prints and logs about how it reads time."""
    if mode == "ordinal":
        return ("time: ordinal (timestamps read as each learner's event order; the models' "
                "day parameters count steps)")
    return "time: dates"
