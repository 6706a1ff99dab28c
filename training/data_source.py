"""The ``[data]`` section of a training config -> a validated :class:`~recommender.data.Dataset`.

The section builds itself (:mod:`recommender.spec.data`); this only supplies the run's seed,
for the commands (train, tune, demo) that load a config's data.
"""

from __future__ import annotations

from recommender.data import Dataset
from training.config import TrainConfig


def load_dataset(config: TrainConfig) -> Dataset:
    """Generate or read the data the config names (same config and seed: same tables)."""
    return config.data.build(config.seed)
