""""Why not X?" on a tiny world where every answer is known: each verdict of the delivery core's
steps (unknown, withdrawn, excluded by the request, done, closed, filtered by named
constraints, ranked lower with its rank, listed) for one learner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender.bundle import Bundle
from recommender.delivery.core import DeliveryCore, ListRequest
from recommender.delivery.overlay import Overlay
from recommender.delivery.served import ServedModel
from recommender.features.catalog import RequestFilters
from recommender.features.idmap import IdMap
from recommender.store import ResourceRecord

NOW = pd.Timestamp("2024-09-01", tz="UTC")
# resource: (score for the learner, mode, region, language, accessibility, open until, category)
RESOURCES = {
    "top": (0.90, "online", None, "zh", "captions", None, "a"),
    "second": (0.80, "online", None, "zh", "captions", None, "b"),
    "third": (0.70, "online", None, "zh", "captions", None, "a"),
    "closed": (0.99, "online", None, "zh", "captions", "2020-01-01T00:00:00Z", "a"),
    "far": (0.98, "offline", "R9", "zh", "captions", None, "a"),
    "english": (0.97, "online", None, "en", None, None, "a"),
    "done": (0.96, "online", None, "zh", "captions", None, "a"),
    "gone": (0.95, "online", None, "zh", "captions", None, "a"),
}


@pytest.fixture(scope="module")
def core_and_view():
    ids = list(RESOURCES)
    resources = pd.DataFrame({
        "resource_id": ids, "title": [f"title of {i}" for i in ids],
        "mode": [v[1] for v in RESOURCES.values()], "region": [v[2] for v in RESOURCES.values()],
        "language": [v[3] for v in RESOURCES.values()],
        "accessibility": [v[4] for v in RESOURCES.values()],
        "available_until": [v[5] for v in RESOURCES.values()],
        "category": [v[6] for v in RESOURCES.values()],
    })
    learners = pd.DataFrame({"learner_id": ["L1"], "region": ["R1"], "languages": ["zh"],
                             "accessibility_needs": ["captions"]})
    vectors = np.array([[v[0], 0.0] for v in RESOURCES.values()], dtype=np.float32)
    done = sp.csr_matrix(([1.0], ([0], [ids.index("done")])), shape=(1, len(ids)),
                         dtype=np.float32)
    bundle = Bundle(
        learner_map=IdMap("learner", learners["learner_id"]),
        resource_map=IdMap("resource", resources["resource_id"]),
        learner_factors=np.array([[1.0, 0.0]], dtype=np.float32), resource_factors=vectors,
        exclusions=done, interactions=done.copy(), resources=resources, learners=learners,
        manifest={"version": "why-not-test"},
    )
    served = ServedModel.from_bundle(bundle, "Flat")
    withdrawn = ResourceRecord("gone", {"resource_id": "gone", "title": "gone"}, True)
    core = DeliveryCore(served, Overlay.build(served, [withdrawn], (1, 1)))
    return core, core.learner("L1")


def test_every_verdict_has_its_known_answer(core_and_view) -> None:
    core, view = core_and_view
    request = ListRequest(k=2, now=NOW, exclude_ids=("second",))
    listed = [p.resource_id for p in core.deliver(view, request).items]
    assert listed == ["top", "third"]  # what the answers below must agree with

    def ask(resource_id: str):
        return core.why_not(view, request, resource_id)

    assert ask("nowhere").verdict == "unknown"
    assert ask("gone").verdict == "withdrawn"
    assert ask("second").verdict == "excluded"
    assert ask("done").verdict == "done"
    assert ask("closed").verdict == "closed"
    far, english = ask("far"), ask("english")
    assert (far.verdict, far.constraints) == ("filtered", ("learner_place",))
    assert (english.verdict, english.constraints) == (
        "filtered", ("learner_language", "learner_access"))
    top, third = ask("top"), ask("third")
    assert (top.verdict, top.rank, top.n_allowed) == ("listed", 1, 2)
    assert (third.verdict, third.rank) == ("listed", 2)
    assert third.score == pytest.approx(0.70)


def test_a_resource_ranked_below_k_gets_its_rank_and_request_filters_are_named(
        core_and_view) -> None:
    core, view = core_and_view
    plain = ListRequest(k=1, now=NOW)
    second = core.why_not(view, plain, "second")
    assert (second.verdict, second.rank, second.n_allowed) == ("ranked_lower", 2, 3)
    only_b = ListRequest(k=5, now=NOW, filters=RequestFilters(category="b", mode="offline"))
    third = core.why_not(view, only_b, "third")
    assert (third.verdict, third.constraints) == ("filtered", ("category", "mode"))
