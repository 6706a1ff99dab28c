"""Batch delivery export: row for row the lists recommend() gives, with a reason each, written
in chunks, and never a half-written file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from recommender.bundle import build_bundle
from recommender.explain import Explainer
from recommender.features import build_feature_set
from recommender.models import ALSModel
from recommender.serving.model_state import ServedModel
from training import deliver
from training.deliver import export_delivery_lists


@pytest.fixture(scope="module")
def small_bundle(small_world):
    features = build_feature_set(small_world)
    model = ALSModel(factors=8, iterations=5).fit(features)
    bundle = build_bundle(model, None, features, {"version": "als-test"})
    return bundle, model, features


def test_export_matches_recommend_row_for_row(small_bundle, tmp_path) -> None:
    bundle, model, features = small_bundle
    out = tmp_path / "lists.parquet"
    stats = export_delivery_lists(bundle, out, k=10, chunk_size=37)
    lists = pd.read_parquet(out)
    assert list(lists.columns) == ["learner_id", "rank", "resource_id", "score", "reason"]
    assert stats.rows == len(lists) and stats.learners == len(bundle.learner_map)
    assert pq.ParquetFile(out).metadata.num_row_groups == -(-len(bundle.learner_map) // 37)

    # the library's batch recommend(), same exclusions as serving
    everyone = np.arange(len(bundle.learner_map))
    resource_idx, scores = model.recommend(everyone, k=10, exclude=features.exclusions)
    filled = resource_idx >= 0
    expected = pd.DataFrame({
        "learner_id": np.repeat(bundle.learner_map.ids, filled.sum(axis=1)),
        "rank": np.nonzero(filled)[1] + 1,
        "resource_id": bundle.resource_map.ids[resource_idx[filled]],
        "score": scores[filled],
    })
    pd.testing.assert_frame_equal(lists.drop(columns="reason"), expected, check_dtype=False)

    # and serving's per-learner path
    served = ServedModel.from_bundle(bundle)
    for learner_id in bundle.learner_map.ids[::17]:
        got = lists[lists["learner_id"] == learner_id]
        idx, score = served.recommend(learner_id, 10)
        assert got["resource_id"].tolist() == bundle.resource_map.ids[idx].tolist()
        np.testing.assert_allclose(got["score"], score, rtol=1e-5, atol=1e-6)

    assert lists["reason"].notna().all()
    explained = Explainer.from_bundle(bundle).explain(everyone, resource_idx).text[filled]
    assert lists["reason"].tolist() == explained.tolist()


def test_chunk_size_does_not_change_the_file(small_bundle, tmp_path) -> None:
    bundle, _, _ = small_bundle
    export_delivery_lists(bundle, tmp_path / "a.parquet", k=5, chunk_size=1000)
    export_delivery_lists(bundle, tmp_path / "b.parquet", k=5, chunk_size=13)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a.parquet"),
                                  pd.read_parquet(tmp_path / "b.parquet"))


def test_a_crash_leaves_no_file(small_bundle, tmp_path, monkeypatch) -> None:
    bundle, _, _ = small_bundle
    calls = {"n": 0}
    real = deliver._chunk_table

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise MemoryError("injected")
        return real(*args, **kwargs)

    monkeypatch.setattr(deliver, "_chunk_table", crash_on_second)
    with pytest.raises(MemoryError):
        export_delivery_lists(bundle, tmp_path / "lists.parquet", chunk_size=50)
    assert list(tmp_path.iterdir()) == []
