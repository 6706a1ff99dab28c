"""Each spec section builds its object, the same way from a training and an experiment file."""

from __future__ import annotations

import re

from pathlib import Path

import pandas as pd
import pytest

from experiments.config import load_config as load_experiment
from recommender.data import write_dataset
from recommender.data.sample_world import generate_world
from recommender.errors import ConfigError
from recommender.evaluation.splits import (
    cold_resource_split,
    leave_last_fraction,
    leave_last_n,
    random_per_learner,
    temporal_split,
)
from recommender.features import InteractionWeights
from recommender.models import ALSModel, HybridModel, PopularityModel
from recommender.spec import (
    FeaturesSection,
    LeaveLastFractionSplit,
    ModelSection,
    SampleData,
    TemporalSplit,
)
from training import toml_writer
from training.config import load_config as load_training

AS_OF = "2024-12-31"  # fixed dates: the temporal splits below cut in 2024
SMALL = {"source": "sample", "n_learners": 40, "n_resources": 30, "events_per_learner": 8.0,
         "as_of": AS_OF}


@pytest.fixture(scope="module")
def world():
    return generate_world(40, 30, 3, events_per_learner=8.0, as_of=AS_OF)


def _write(path: Path, tree: dict) -> Path:
    path.write_text(toml_writer.dumps(tree), encoding="utf-8")
    return path


def _both(tmp_path: Path, data: dict, split: dict, **experiment: object):
    """The same [data] and [split] tables in a training config and an experiment file."""
    training = load_training(_write(tmp_path / "train.toml", {"data": data, "split": split}))
    tree = {"name": "same", "data": data, "split": split, "models": [{"name": "popularity"}],
            **experiment}
    experiment_config, data_path = load_experiment(_write(tmp_path / "experiment.toml", tree))
    return training, experiment_config, data_path


def test_sample_data_builds_the_generated_world_with_the_runs_seed(world) -> None:
    section = SampleData.model_validate(SMALL)
    built = section.build(seed=3)
    pd.testing.assert_frame_equal(built.events, world.events)
    own_seed = SampleData.model_validate({**SMALL, "seed": 3}).build(seed=99)
    pd.testing.assert_frame_equal(own_seed.events, world.events)
    assert len(section.build(seed=4).events) and not section.build(seed=4).events.equals(
        world.events)


def test_directory_data_is_identical_from_either_file(tmp_path, world) -> None:
    write_dataset(world, tmp_path / "tables")
    data = {"source": "directory", "path": "tables"}  # relative to each file
    training, experiment, data_path = _both(
        tmp_path, data, {"kind": "leave_last_n", "n": 1})
    assert training.data == experiment.data and data_path == (tmp_path / "tables").resolve()
    pd.testing.assert_frame_equal(training.data.build(seed=0).events,
                                  experiment.data.build(seed=0).events)


def test_sample_data_is_identical_from_either_file(tmp_path) -> None:
    training, experiment, data_path = _both(tmp_path, SMALL, {"kind": "leave_last_n"})
    assert training.data == experiment.data and data_path is None


def test_loader_path_resolution(tmp_path) -> None:
    (tmp_path / "root" / "mars_mandarine_academy_en").mkdir(parents=True)
    (tmp_path / "here").mkdir()
    tree = {"name": "real", "data": {"source": "mars", "path": "here"},
            "split": {"kind": "leave_last_n"}, "models": [{"name": "popularity"}]}
    path = _write(tmp_path / "real.toml", tree)
    assert load_experiment(path)[1] == (tmp_path / "here").resolve()
    overridden = load_experiment(path, data_root=tmp_path / "root")[1]
    assert overridden == (tmp_path / "root" / "mars_mandarine_academy_en").resolve()
    training = _write(tmp_path / "t.toml", {"data": {"source": "mars"}})
    with pytest.raises(ConfigError, match=r"\[data\] missing key 'path'"):
        load_training(training)  # training has no default data root: the path is required


@pytest.mark.parametrize(("fields", "expected"), [
    ({"kind": "leave_last_fraction", "fraction": 0.3, "min_events": 2},
     lambda e: leave_last_fraction(e, 0.3, 2)),
    ({"kind": "leave_last_n", "n": 2, "min_train_events": 1}, lambda e: leave_last_n(e, 2, 1)),
    ({"kind": "temporal", "cut": "2024-09-01"}, lambda e: temporal_split(e, "2024-09-01")),
    ({"kind": "random", "test_ratio": 0.25, "seed": 5}, lambda e: random_per_learner(e, 0.25, 5)),
    ({"kind": "cold_resource", "resource_share": 0.2, "seed": 1},
     lambda e: cold_resource_split(e, 0.2, 1)),
])
def test_splits_build_the_library_split_identically_from_either_file(
    tmp_path, world, fields, expected
) -> None:
    training, experiment, _ = _both(tmp_path, SMALL, fields)
    assert training.split == experiment.split
    ours, theirs, library = (training.split.build(world.events),
                             experiment.split.build(world.events), expected(world.events))
    for built in (ours, theirs):
        assert built.name == library.name
        pd.testing.assert_frame_equal(built.train, library.train)
        pd.testing.assert_frame_equal(built.test, library.test)


def test_test_event_types_filter_the_test_side(world) -> None:
    split = TemporalSplit(cut="2024-09-01", test_event_types=["enroll"])
    built = split.build(world.events)
    assert set(built.test["event_type"]) <= {"enroll"} and len(built.test)
    assert built.report["n_test_dropped_by_type"] > 0
    start, end = split.test_window(built)
    assert start == pd.Timestamp("2024-09-01", tz="UTC") and end > start
    assert LeaveLastFractionSplit().test_window(built) is None


def test_split_identity_ignores_the_scoring_rule() -> None:
    plain = LeaveLastFractionSplit()
    assert plain.identity() == {"split": "leave_last_fraction", "fraction": 0.2, "min_events": 3}
    filtered = LeaveLastFractionSplit(test_event_types=["enroll"])
    assert filtered.identity() != plain.identity()


def test_features_build_interaction_weights() -> None:
    section = FeaturesSection.model_validate(
        {"event_weights": {"complete": 9.0}, "half_life_days": 30, "log_scale": False})
    weights = section.build()
    assert isinstance(weights, InteractionWeights)
    assert weights.event_weights["complete"] == 9.0 and weights.half_life_days == 30.0
    assert weights.log_scale is False and weights.use_value_for == ("view",)


def test_features_build_the_consumption_rule() -> None:
    weights = FeaturesSection.model_validate(
        {"consumed": ["complete", "enroll"], "continuing": ["view"]}).build()
    assert weights.consumption.consumed == ("complete", "enroll")
    assert weights.consumption.continuing == ("view",)
    default = FeaturesSection().build().consumption
    assert default.consumed == ("complete", "dismiss", "rate")


@pytest.mark.parametrize(("tree", "expected"), [
    ({"consumed": ["rate"], "continuing": ["rate", "view"]}, "both name ['rate']"),
    ({"consumed": ["finish"]}, "finish"),
])
def test_features_refuse_a_bad_consumption_rule(tree, expected) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        FeaturesSection.model_validate(tree)


def test_model_section_builds_through_the_one_builder_with_the_runs_seed() -> None:
    als = ModelSection.model_validate({"name": "als", "factors": 4}).build(random_state=7)
    assert isinstance(als, ALSModel) and als.factors == 4 and als.random_state == 7
    own = ModelSection.model_validate({"name": "als", "random_state": 3}).build(random_state=7)
    assert own.random_state == 3  # the section's own seed wins
    weights = InteractionWeights(half_life_days=10.0)
    search = ModelSection.model_validate({"name": "hybrid"}).build(
        random_state=0, interaction_weights=weights)  # weights chosen on validation: a search
    assert search.interaction_weights == weights and isinstance(search.estimator, HybridModel)
    fixed = ModelSection.model_validate({"name": "hybrid", "weights": [1, 1, 1]}).build(
        random_state=5, interaction_weights=weights)
    assert isinstance(fixed, HybridModel) and fixed.random_state == 5
    assert isinstance(ModelSection(name="popularity").build(random_state=1), PopularityModel)


def test_model_section_rejects_what_the_builder_rejects() -> None:
    from pydantic import ValidationError

    for table, fragment in [({"name": "als", "factorz": 1}, "unknown key 'factorz'"),
                            ({"name": "alz"}, "unknown model 'alz'"),
                            ({"name": "hybrid", "interaction_weights": {}}, "set [features]")]:
        with pytest.raises(ValidationError, match=fragment.replace("[", r"\[")):
            ModelSection.model_validate(table)
