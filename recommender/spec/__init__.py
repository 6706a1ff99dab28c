"""The one config spec: data source, split, features, model and engine, each section defined once
and able to build its object, read and reported on by one reader for every front end
(``recommender train``/``tune``, ``recommender experiment run``, benchmarks).

Front ends compose these sections with their own (tracking, evaluation, tuning) and call
:func:`validate_config`; a bad file raises one :class:`~recommender.errors.ConfigError` whose
lines read ``file: [section] key 'x': message``.
"""

from recommender.spec.base import OptionsSection, Section
from recommender.spec.data import (
    DATA_FOLDERS,
    DataSection,
    DirectoryData,
    LoaderData,
    SampleData,
)
from recommender.spec.engine import ENGINE_KINDS, EngineSection, LocalEngine, SparkEngine
from recommender.spec.features import EventWeights, FeaturesSection
from recommender.spec.model import ModelSection
from recommender.spec.reader import (
    MOVED_KEYS,
    describe,
    read_config_file,
    tag,
    validate_config,
)
from recommender.spec.split import (
    HOLDOUT_KINDS,
    ColdResourceSplit,
    GivenSplit,
    HoldoutSplit,
    LeaveLastFractionSplit,
    LeaveLastNSplit,
    RandomSplit,
    RollingSplit,
    SplitSection,
    TemporalSplit,
)

__all__ = [
    "DATA_FOLDERS", "ENGINE_KINDS", "HOLDOUT_KINDS", "MOVED_KEYS",
    "ColdResourceSplit", "DataSection", "DirectoryData", "EngineSection", "EventWeights",
    "FeaturesSection", "GivenSplit", "LocalEngine", "SparkEngine",
    "HoldoutSplit", "LeaveLastFractionSplit", "LeaveLastNSplit",
    "LoaderData", "ModelSection", "OptionsSection", "RandomSplit", "RollingSplit",
    "SampleData", "Section", "SplitSection", "TemporalSplit",
    "describe", "read_config_file", "tag", "validate_config",
]
