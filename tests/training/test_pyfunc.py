"""The registered model the MLflow way: ``mlflow.pyfunc.load_model`` + ``predict`` returns the
same delivery lists as the batch export (which tests/training/test_deliver.py holds to the API's
path): the learner's constraints at ``as_of`` and exclusions, best first."""

from __future__ import annotations

import shutil

import mlflow
import numpy as np
import pandas as pd
import pytest

from recommender.errors import UnknownIdError
from training.config import load_config
from training.deliver import export_delivery_lists
from training.pipeline import train
from training.tracking import Tracking, use_registry


@pytest.fixture(scope="module")
def registered(empty_store, small_world, tmp_path_factory):
    root = tmp_path_factory.mktemp("pyfunc")
    shutil.copy(empty_store, root / "mlflow.db")
    tracking = Tracking(uri=f"sqlite:///{root / 'mlflow.db'}", artifact_root=root / "artifacts")
    config_path = root / "config.toml"
    config_path.write_text(
        '[data]\nsource = "sample"\nn_learners = 200\nn_resources = 60\n'
        'events_per_learner = 20.0\n[model]\nname = "als"\nfactors = 8\niterations = 5\n'
        '[validation]\nenabled = false\n[tracking]\nregistered_model = "pyfunc-model"\n')
    result = train(load_config(config_path), small_world, tracking, bundle_root=root / "b")
    return tracking, result


AS_OF = "2024-12-31T12:00:00Z"  # the small world's as-of day: its running sessions are open


def test_predict_equals_the_batch_export(registered, tmp_path) -> None:
    tracking, result = registered
    use_registry(tracking.uri)
    model = mlflow.pyfunc.load_model(f"models:/pyfunc-model/{result.version}")
    exported = pd.read_parquet(export_delivery_lists(
        result.bundle, tmp_path / "lists.parquet", k=12, now=AS_OF).path)
    learner_ids = list(result.bundle.learner_map.ids[:26])
    ks = [5] * 10 + [12] * 16
    lists = model.predict(pd.DataFrame({"learner_id": learner_ids, "k": ks}),
                          params={"as_of": AS_OF})
    assert list(lists.columns) == ["learner_id", "rank", "resource_id", "score"]
    assert lists["learner_id"].drop_duplicates().tolist() == learner_ids
    for learner_id, k in zip(learner_ids, ks, strict=True):
        got = lists[lists["learner_id"] == learner_id]
        expected = exported[exported["learner_id"] == learner_id].head(k)
        assert len(got) == k  # this world lets every learner take at least 12
        assert got["rank"].tolist() == expected["rank"].tolist()
        assert got["resource_id"].tolist() == expected["resource_id"].tolist()
        np.testing.assert_allclose(got["score"].to_numpy(), expected["score"].to_numpy(),
                                   rtol=1e-6)


def test_as_of_moves_availability(registered) -> None:
    """A scheduled course shows up only while open: lists at two moments differ."""
    tracking, result = registered
    use_registry(tracking.uri)
    model = mlflow.pyfunc.load_model(f"models:/pyfunc-model/{result.version}")
    learner_ids = pd.DataFrame({"learner_id": list(result.bundle.learner_map.ids[:50])})
    early = model.predict(learner_ids, params={"as_of": "2024-01-15T00:00:00Z"})
    late = model.predict(learner_ids, params={"as_of": AS_OF})
    assert not early.equals(late)
    resources = result.bundle.resources.set_index("resource_id")
    for frame, moment in ((early, "2024-01-15T00:00:00Z"), (late, AS_OF)):
        at = pd.Timestamp(moment)
        opens = pd.to_datetime(resources.loc[frame["resource_id"], "available_from"], utc=True)
        closes = pd.to_datetime(resources.loc[frame["resource_id"], "available_until"], utc=True)
        assert ((opens.isna() | (opens <= at)) & (closes.isna() | (closes >= at))).all()


def test_default_k_and_unknown_learner(registered) -> None:
    tracking, result = registered
    use_registry(tracking.uri)
    model = mlflow.pyfunc.load_model(f"models:/pyfunc-model/{result.version}")
    lists = model.predict(pd.DataFrame({"learner_id": ["L000001"]}))
    assert len(lists) == 10
    with pytest.raises(UnknownIdError, match="nobody"):
        model.predict(pd.DataFrame({"learner_id": ["nobody"]}))
