"""The ``[data]`` section of a config -> a validated :class:`~recommender.data.Dataset`."""

from __future__ import annotations

from recommender.data import Dataset, load_directory
from recommender.data.loaders import LOADERS
from recommender.data.sample_world import generate_world
from recommender.callable_params import coerce_params
from training.config import DirectoryData, LoaderData, SampleData, TrainConfig


def load_dataset(config: TrainConfig) -> Dataset:
    """Generate or read the data the config names (same config and seed: same tables)."""
    data = config.data
    if isinstance(data, SampleData):
        return generate_world(
            data.n_learners, data.n_resources, config.data_seed(),
            events_per_learner=data.events_per_learner, start=data.start, days=data.days,
        )
    if isinstance(data, DirectoryData):
        return load_directory(data.path)
    if isinstance(data, LoaderData):
        loader = LOADERS[data.source]
        return loader(data.path, **coerce_params(loader, data.options))
    raise TypeError(f"unhandled data section {type(data).__name__}")
