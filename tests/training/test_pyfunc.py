"""The registered model the MLflow way: ``mlflow.pyfunc.load_model`` + ``predict`` returns the
same delivery lists as the library (serving's retrieval path over the same bundle)."""

from __future__ import annotations

import shutil

import mlflow
import numpy as np
import pandas as pd
import pytest

from recommender.errors import UnknownIdError
from recommender.serving.model_state import ServedModel
from training.config import load_config
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


def test_predict_equals_the_library(registered, small_world) -> None:
    tracking, result = registered
    use_registry(tracking.uri)
    model = mlflow.pyfunc.load_model(f"models:/pyfunc-model/{result.version}")
    served = ServedModel.from_bundle(result.bundle)
    learner_ids = list(result.bundle.learner_map.ids[:26])
    ks = [5] * 10 + [12] * 16
    lists = model.predict(pd.DataFrame({"learner_id": learner_ids, "k": ks}))
    assert list(lists.columns) == ["learner_id", "rank", "resource_id", "score"]
    assert lists["learner_id"].drop_duplicates().tolist() == learner_ids
    for learner_id, k in zip(learner_ids, ks, strict=True):
        got = lists[lists["learner_id"] == learner_id]
        resource_idx, scores = served.recommend(learner_id, k)
        assert got["rank"].tolist() == list(range(1, len(resource_idx) + 1))
        assert got["resource_id"].tolist() == result.bundle.resource_map.ids[resource_idx].tolist()
        np.testing.assert_allclose(got["score"].to_numpy(), scores, rtol=1e-5, atol=1e-6)


def test_default_k_and_unknown_learner(registered) -> None:
    tracking, result = registered
    use_registry(tracking.uri)
    model = mlflow.pyfunc.load_model(f"models:/pyfunc-model/{result.version}")
    lists = model.predict(pd.DataFrame({"learner_id": ["L000001"]}))
    assert len(lists) == 10
    with pytest.raises(UnknownIdError, match="nobody"):
        model.predict(pd.DataFrame({"learner_id": ["nobody"]}))
