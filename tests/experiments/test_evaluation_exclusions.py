"""Offline evaluation hides exactly what serving hides: each learner's completed and dismissed
training resources (the exclusion matrix the bundle stores), and nothing else."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fastapi.testclient import TestClient

from recommender.bundle import build_bundle, save_bundle
from recommender.data import validate_dataset
from recommender.evaluation.evaluate import evaluate
from recommender.evaluation.evaluate import build_test_set
from recommender.evaluation.report_metrics import candidate_exclusions, report_metrics
from recommender.features import build_exclusion_matrix, build_feature_set
from recommender.models import ALSModel, PopularityModel
from recommender.delivery.batch import core_for_fit, delivered_matrix
from recommender.delivery.core import ListRequest
from recommender.serving.app import create_app
from recommender.serving.bundle_source import BundleSource
from recommender.serving.runtime import ServingOptions

LEARNERS = ["a1", "a2", "a3", "b1", "b2", "b3"]
RESOURCES = [f"r{i}" for i in range(1, 9)]
# (learner, resource, event_type): the training period.
TRAIN = [
    ("a1", "r1", "view"), ("a1", "r2", "complete"), ("a1", "r4", "dismiss"), ("a1", "r5", "enroll"),
    ("a2", "r1", "view"), ("a2", "r2", "view"), ("a2", "r3", "complete"),
    ("a3", "r2", "view"), ("a3", "r3", "bookmark"), ("a3", "r6", "dismiss"),
    ("b1", "r4", "complete"), ("b1", "r5", "view"), ("b1", "r7", "view"),
    ("b2", "r5", "progress"), ("b2", "r6", "complete"), ("b3", "r7", "view"), ("b3", "r8", "view"),
]
# The test period: a1 returns to r1 (viewed, not excluded) and r2 (completed: excluded).
TEST = [
    ("a1", "r1", "view"), ("a1", "r2", "view"), ("a1", "r3", "enroll"),
    ("a2", "r4", "view"), ("a3", "r6", "view"), ("a3", "r1", "view"),
    ("b1", "r8", "view"), ("b2", "r1", "view"), ("b3", "r5", "complete"), ("b3", "r4", "dismiss"),
]


@pytest.fixture
def world():
    rows = [(*row, f"2024-01-{day + 1:02d}T10:00:00Z") for day, row in enumerate(TRAIN)]
    rows += [(*row, f"2024-03-{day + 1:02d}T10:00:00Z") for day, row in enumerate(TEST)]
    events = pd.DataFrame(rows, columns=["learner_id", "resource_id", "event_type", "timestamp"])
    events.insert(0, "event_id", [f"e{i}" for i in range(len(events))])
    events["value"] = ""
    learners = pd.DataFrame({"learner_id": LEARNERS, "group": ["retiree"] * 3 + ["rural_resident"] * 3,
                             "age_band": ["65+"] * 3 + ["35-44"] * 3, "urban_rural": ["urban"] * 3 + ["rural"] * 3})
    resources = pd.DataFrame({"resource_id": RESOURCES, "title": [f"course {r}" for r in RESOURCES],
                              "category": ["digital_literacy"] * 4 + ["agricultural_technology"] * 4,
                              "mode": ["online"] * 8, "language": ["zh"] * 8})
    dataset = validate_dataset(learners, resources, events)
    cut = pd.Timestamp("2024-02-15", tz="UTC")
    train = dataset.events[dataset.events["timestamp"] < cut]
    test = dataset.events[dataset.events["timestamp"] >= cut]
    return dataset, build_feature_set(dataset, train), test


def _pairs(features, learner_idx, resource_idx):
    return {(features.learner_map.id_of(l), features.resource_map.id_of(r))
            for l, r in zip(learner_idx, resource_idx) if r >= 0}


def test_exclusions_are_the_completed_and_dismissed_training_pairs(world):
    dataset, features, _ = world
    rows, cols = features.exclusions.nonzero()
    assert _pairs(features, rows, cols) == {
        ("a1", "r2"), ("a1", "r4"), ("a2", "r3"), ("a3", "r6"), ("b1", "r4"), ("b2", "r6"),
    }
    rebuilt = build_exclusion_matrix(features.events, features.learner_map, features.resource_map,
                                     features.consumption)
    assert (rebuilt != features.exclusions).nnz == 0


def test_an_excluded_resource_is_neither_a_candidate_nor_a_miss(world):
    _, features, test_events = world
    test = build_test_set(features, test_events)
    relevant = _pairs(features, *np.nonzero(test.relevant.toarray()))
    relevant = {(test.learner_ids[i], features.resource_map.id_of(r)) for i, r in
                zip(*test.relevant.nonzero())}
    assert ("a1", "r2") not in relevant and ("a3", "r6") not in relevant  # excluded in training
    assert {("a1", "r1"), ("a1", "r3"), ("a3", "r1"), ("b3", "r5")} <= relevant
    assert ("b3", "r4") not in relevant  # a test dismissal is not interest
    model = PopularityModel().fit(features)
    recommended, _ = delivered_matrix(core_for_fit(model, features), test.learner_ids,
                                      ListRequest(k=8, now=None))
    report = report_metrics(recommended, features, test, (3, 8), main_k=3,
                            resource_vectors=model.resource_factors_,
                            group_attributes=("group",), min_group_size=1)
    listed = {(test.learner_ids[i], features.resource_map.id_of(r))
              for i, row in enumerate(report.recommended) for r in row if r >= 0}
    excluded = _pairs(features, *features.exclusions.nonzero())
    assert not listed & excluded
    assert ("a1", "r1") in listed  # viewed but not completed: still offered, as in serving
    full_lists = report.recommended[:, :8]
    for i, learner_id in enumerate(test.learner_ids):
        n_excluded = features.exclusions[features.learner_map.index_of(learner_id)].nnz
        assert (full_lists[i] >= 0).sum() == len(RESOURCES) - n_excluded


@pytest.mark.parametrize("model_class", [PopularityModel, ALSModel])
def test_evaluation_metrics_equal_the_model_level_means_when_nothing_constrains(world,
                                                                                 model_class):
    """On a world without hard constraints (no regions, languages or schedules), the core's
    exact lists are the model's own top-k without the learner's exclusions: the report's means
    equal :func:`evaluate`'s."""
    dataset, features, test_events = world
    model = model_class() if model_class is PopularityModel else ALSModel(factors=4, iterations=5)
    model.fit(features)
    test = build_test_set(features, test_events)
    recommended, _ = delivered_matrix(core_for_fit(model, features, index_factory="Flat"),
                                      test.learner_ids, ListRequest(k=3, now=None))
    report = report_metrics(recommended, features, test, (3,), main_k=3,
                            resource_vectors=model.resource_factors_,
                            group_attributes=("group",), min_group_size=1)
    means = evaluate(model, features, test_events, (3,))
    for name in ("precision_at_3", "recall_at_3", "ndcg_at_3", "map_at_3", "hit_rate_at_3", "mrr_at_3"):
        assert report.summary[name] == pytest.approx(means[name])
    assert report.summary["n_test_learners"] == means["n_test_learners"]


API_KEY = "exclusion-test-key-0123456789"


@pytest.mark.parametrize("model_class", [PopularityModel, ALSModel])
@pytest.mark.parametrize("k", [3, len(RESOURCES)])
def test_evaluation_excludes_what_the_http_endpoint_leaves_out(world, model_class, k, tmp_path):
    """GET /v1/learners/{id}/recommendations on a bundle of the same training data: the
    experiment's candidates (catalog rule "all" plus per-learner exclusions) are what the API
    may list, and the lists agree id for id."""
    dataset, features, test_events = world
    model = model_class() if model_class is PopularityModel else ALSModel(factors=4, iterations=5)
    model.fit(features)
    test = build_test_set(features, test_events)
    assert candidate_exclusions(features, "all") is None  # the runner's rule: nothing dropped
    recommended, _ = delivered_matrix(core_for_fit(model, features), test.learner_ids,
                                      ListRequest(k=k, now=None))
    evaluated = {learner_id: [features.resource_map.id_of(r) for r in row if r >= 0]
                 for learner_id, row in zip(test.learner_ids, recommended)}
    excluded: dict[str, set[str]] = {}
    for learner_idx, resource_idx in zip(*features.exclusions.nonzero()):
        excluded.setdefault(features.learner_map.id_of(learner_idx), set()).add(
            features.resource_map.id_of(resource_idx))
    assert set(excluded) == {"a1", "a2", "a3", "b1", "b2"}  # completed or dismissed in training

    directory = save_bundle(build_bundle(model, None, features, {"version": "exclusion-http"}),
                            tmp_path / "bundle")
    options = ServingOptions(database_url=f"sqlite:///{tmp_path / 'serving.db'}", api_keys=(API_KEY,),
                             poll_seconds=0.0)
    app = create_app(options=options, source=BundleSource(path=directory))
    with TestClient(app, raise_server_exceptions=True) as client:
        for learner_id in sorted(excluded):
            response = client.get(f"/v1/learners/{learner_id}/recommendations", params={"k": k},
                                  headers={"X-API-Key": API_KEY})
            assert response.status_code == 200, response.text
            served = [item["resource_id"] for item in response.json()["items"]]
            assert not set(served) & excluded[learner_id], learner_id
            if k == len(RESOURCES):  # the whole catalog asked for: what is missing is the exclusions
                assert set(RESOURCES) - set(served) == excluded[learner_id], learner_id
            assert evaluated[learner_id] == served, learner_id


def test_ties_resolve_by_resource_index_whatever_the_batch():
    """A batch fetches for its longest exclusion row, serving for one learner's; tied scores
    must not make the two lists differ."""
    from recommender.index import ResourceIndex
    from recommender.retrieval import FilteredRetriever

    vectors = np.array([[2], [3], [1], [1], [1], [1], [2], [1], [0], [1]], dtype=np.float32)
    index = FilteredRetriever(vectors, ResourceIndex(vectors))
    queries = np.ones((3, 1), dtype=np.float32)
    rows = [np.array([1]), np.array([0, 1, 2, 3, 4]), np.array([], dtype=np.int64)]
    batch, _ = index.search_many(queries, 4, exclude=rows)
    for i, row in enumerate(rows):
        alone, _ = index.search_many(queries[i], 4, exclude=[row])
        assert list(batch[i]) == list(alone[0])
    assert list(batch[0]) == [0, 6, 2, 3]  # ties (score 1) in index order
