"""Array helpers shared by the generators: the clock, categorical draws, bit flags and the cells
of the output tables.

Everything works on whole columns: loops run over groups, categories or templates, never over
rows, which is what keeps a million events to seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.data.sample_world.vocabulary import N_TOPICS, TOPIC_CATEGORY
from recommender.data.schema import CATEGORIES, LIST_SEPARATOR

DAY = 86_400
HOUR = 3_600
BEIJING_OFFSET = 8 * HOUR  # activity follows local (UTC+8) clocks; timestamps are stored in UTC


@dataclass(frozen=True)
class Window:
    """The observed period, in epoch seconds."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def progress(self, times: np.ndarray) -> np.ndarray:
        """How far into the window each time is: 0 at its start, 1 at its end."""
        return (times - self.start) / self.length

    def arrivals(self, during: np.ndarray, years_before: int, within: float,
                 rng: np.random.Generator) -> np.ndarray:
        """Registration or publication times: rows ``during`` arrive in the first ``within``
        share of the window, the others at any time in the ``years_before`` years before it."""
        n = len(during)
        before = self.start - rng.random(n) * years_before * 365 * DAY
        inside = self.start + rng.random(n) * within * self.length
        return np.where(during, inside, before).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Draws
# --------------------------------------------------------------------------------------------


def sample_rows(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative /= cumulative[:, -1:]
    draws = rng.random(len(probabilities))[:, None]
    return np.minimum((draws > cumulative).sum(axis=1), probabilities.shape[1] - 1)


class GroupedSampler:
    """Draws an item with probability proportional to its weight among the items of a key.

    One cumulative array over all (key, item) entries sorted by key lets a single
    ``searchsorted`` serve a million draws with a million different keys.
    """

    def __init__(self, keys: np.ndarray, items: np.ndarray, weights: np.ndarray, n_keys: int):
        order = np.argsort(keys, kind="stable")
        self.items = items[order]
        self.cumulative = np.cumsum(weights[order])
        counts = np.bincount(keys, minlength=n_keys)
        self.first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.last = self.first + counts - 1
        self.has = counts > 0
        padded = np.append(self.cumulative, 0.0)  # no entries at all: every key is empty
        before = np.where(self.first > 0, padded[np.maximum(self.first - 1, 0)], 0.0)
        self.low = np.where(self.has, before, 0.0)
        self.high = np.where(self.has, padded[np.maximum(self.last, 0)], 0.0)

    def sample(self, keys: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Items for keys that have at least one entry (callers route the others elsewhere)."""
        targets = self.low[keys] + rng.random(len(keys)) * (self.high[keys] - self.low[keys])
        positions = np.searchsorted(self.cumulative, targets, side="right")
        return self.items[np.clip(positions, self.first[keys], self.last[keys])]


def sample_topics(
    category_idx: np.ndarray, topic_weight: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A topic of each given category, the popular ones more often."""
    sampler = GroupedSampler(TOPIC_CATEGORY, np.arange(N_TOPICS), topic_weight, len(CATEGORIES))
    return sampler.sample(category_idx, rng)


# --------------------------------------------------------------------------------------------
# Bit flags (languages, accessibility features)
# --------------------------------------------------------------------------------------------
def join_flags(flags: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Turn a bitmask per row into a "|"-joined list cell (None when no bit is set)."""
    lookup = np.empty(2 ** len(names), dtype=object)
    for mask in range(len(lookup)):
        members = [name for bit, name in enumerate(names) if mask >> bit & 1]
        lookup[mask] = LIST_SEPARATOR.join(members) if members else None
    return lookup[flags]


# --------------------------------------------------------------------------------------------
# Table cells
# --------------------------------------------------------------------------------------------


def labels(names: tuple[str, ...], idx: np.ndarray) -> np.ndarray:
    """The name of each index, as an object column."""
    return np.array(names, dtype=object)[idx]


def ids(prefix: str, n: int, width: int) -> np.ndarray:
    """Zero-padded ids like L000001, widened when ``n`` needs more digits."""
    width = max(width, len(str(n)))
    numbers = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)
    return (prefix + numbers).to_numpy(dtype=object)


def iso(seconds: np.ndarray) -> pd.Series:
    """Epoch seconds (NaN for empty) to a UTC datetime column."""
    return pd.Series(pd.to_datetime(seconds, unit="s", utc=True))
