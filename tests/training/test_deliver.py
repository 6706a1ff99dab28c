"""Batch delivery export: row for row the lists the API gives (the learner's hard constraints,
exclusions, filtered top-k), with a reason each, written in chunks, and never a half-written
file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from recommender.bundle import build_bundle
from recommender.delivery import CatalogArrays, Delivery, learner_profiles
from recommender.explain import Explainer
from recommender.features import build_feature_set
from recommender.index import ResourceIndex
from recommender.models import ALSModel
from training import deliver
from training.deliver import export_delivery_lists
from training.lists import ConstrainedLists


@pytest.fixture(scope="module")
def small_bundle(small_world):
    features = build_feature_set(small_world)
    model = ALSModel(factors=8, iterations=5).fit(features)
    bundle = build_bundle(model, None, features, {"version": "als-test"})
    return bundle, model, features


NOW = pd.Timestamp("2024-09-01", tz="UTC")


def test_export_matches_the_api_path_row_for_row(small_bundle, tmp_path) -> None:
    """Each learner's rows are the API's list: the learner's constraint mask, their
    exclusions, filtered retrieval of the best k (never fewer than they may take)."""
    bundle, _, _ = small_bundle
    out = tmp_path / "lists.parquet"
    stats = export_delivery_lists(bundle, out, k=10, chunk_size=37, now=NOW)
    lists = pd.read_parquet(out)
    assert list(lists.columns) == ["learner_id", "rank", "resource_id", "score", "reason"]
    assert stats.rows == len(lists) and stats.learners == len(bundle.learner_map)
    assert pq.ParquetFile(out).metadata.num_row_groups == -(-len(bundle.learner_map) // 37)

    catalog = CatalogArrays.build(bundle.resources, bundle.regions)
    delivery = Delivery(catalog, bundle.resource_factors)
    profiles = learner_profiles(bundle.learners)
    grouped = dict(tuple(lists.groupby("learner_id", sort=False)))
    constrained = 0
    for learner_idx, learner_id in enumerate(bundle.learner_map.ids):
        done = bundle.exclusions[learner_idx].indices
        idx, scores = delivery.recommend(bundle.learner_factors[learner_idx], 10, now=NOW,
                                         profile=profiles[learner_idx], exclude=done)
        got = grouped.get(learner_id, lists.iloc[:0])
        assert got["rank"].tolist() == list(range(1, len(got) + 1))
        assert got["resource_id"].tolist() == bundle.resource_map.ids[idx[idx >= 0]].tolist()
        np.testing.assert_allclose(got["score"], scores[idx >= 0], rtol=1e-5, atol=1e-6)
        allowed = catalog.mask(None, profiles[learner_idx], now=NOW)
        shown = bundle.resource_map.indices_of(got["resource_id"].tolist())
        assert allowed[shown].all() and not np.isin(shown, done).any()
        constrained += int((~allowed).any())
    assert constrained > 0  # the world has learners the constraints bind

    assert lists["reason"].notna().all()
    everyone = np.arange(len(bundle.learner_map))
    slots = np.full((len(everyone), 10), -1, dtype=np.int64)
    for row, (learner_id, rows) in enumerate(zip(bundle.learner_map.ids, [
            grouped.get(i, lists.iloc[:0]) for i in bundle.learner_map.ids])):
        slots[row, : len(rows)] = bundle.resource_map.indices_of(rows["resource_id"].tolist())
    explained = Explainer.from_bundle(bundle).explain(everyone, slots).text[slots >= 0]
    assert lists["reason"].tolist() == explained.tolist()


def test_closed_and_out_of_place_resources_never_appear(small_bundle, tmp_path) -> None:
    bundle, _, _ = small_bundle
    resources = bundle.resources
    export_delivery_lists(bundle, tmp_path / "lists.parquet", k=30, now=NOW)
    lists = pd.read_parquet(tmp_path / "lists.parquet")
    facts = resources.set_index("resource_id")
    learners = bundle.learners.set_index("learner_id")
    rows = lists.join(facts[["mode", "region", "available_from", "available_until"]],
                      on="resource_id").join(
        learners[["region"]].rename(columns={"region": "region_learner"}), on="learner_id")
    in_person = rows["mode"].isin(["offline", "blended"])
    assert in_person.any()
    assert (rows.loc[in_person, "region"] == rows.loc[in_person, "region_learner"]).all()
    opens = pd.to_datetime(rows["available_from"], utc=True)
    closes = pd.to_datetime(rows["available_until"], utc=True)
    assert not (opens > NOW).any() and not (closes < NOW).any()
    closed = (pd.to_datetime(resources["available_until"], utc=True) < NOW).sum()
    assert closed > 0  # the world has closed courses to leave out


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


class ShortIndex:
    """An index that returns only its first two hits, as an approximate index may."""

    def __init__(self, index) -> None:
        self.index = index

    def search(self, queries, k, exclude=None):
        found, scores = self.index.search(queries, k, exclude)
        found[:, 2:], scores[:, 2:] = -1, -np.inf
        return found, scores


@pytest.mark.parametrize("k", [1, 4, 25])
def test_batched_lists_equal_the_per_learner_search(small_bundle, k) -> None:
    bundle, _, _ = small_bundle
    lists = ConstrainedLists(bundle, ResourceIndex(bundle.resource_factors), NOW)
    learner_idx = np.arange(len(bundle.learner_map))
    batched = lists.top_k(learner_idx, k)
    lists.index = ShortIndex(lists.index)  # rows the batch leaves short go one by one
    completed = lists.top_k(learner_idx, k)
    for row, learner in enumerate(learner_idx.tolist()):
        found = lists.retriever.search(bundle.learner_factors[learner], k,
                                       lists.allowed(learner), lists.exclusions(learner))
        for idx, scores in (batched, completed):
            shown = idx[row][idx[row] >= 0]
            assert shown.tolist() == found.resource_idx.tolist()
            np.testing.assert_allclose(scores[row][: len(shown)], found.scores, rtol=1e-5,
                                       atol=1e-6)
