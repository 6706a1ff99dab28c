"""On a trained model, a history resource is cited only when it drives the slot's score: it is
among the largest terms when the learner's vector is split over their history (checked here
with numpy's own least squares, not the reasons module's solve)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.bundle import build_bundle
from recommender.data.sample_world import generate_world
from recommender.delivery.core import DeliveryCore, ListRequest
from recommender.delivery.reasons import MIN_SHARE
from recommender.delivery.served import ServedModel
from recommender.features import build_feature_set
from recommender.models import ALSModel

AS_OF = "2024-12-31"
NOW = pd.Timestamp("2024-12-31T12:00", tz="UTC")


def test_cited_history_items_are_among_the_top_contributors() -> None:
    world = generate_world(n_learners=400, n_resources=150, seed=2, as_of=AS_OF)
    features = build_feature_set(world)
    model = ALSModel(factors=16, iterations=10, random_state=0).fit(features)
    bundle = build_bundle(model, None, features, {"version": "drive"}, regions=world.regions)
    core = DeliveryCore(ServedModel.from_bundle(bundle, "Flat"))
    titles = dict(zip(world.resources["resource_id"], world.resources["title"]))
    vectors = bundle.resource_factors.astype(np.float64)
    cited = not_cited = 0
    for learner_id in world.learners["learner_id"]:
        view = core.learner(learner_id)
        items = view.history.resource_idx
        if not len(items):
            continue
        weights = np.linalg.lstsq(vectors[items].T, view.vector.astype(np.float64),
                                  rcond=None)[0]
        for picked in core.deliver(view, ListRequest(k=10, now=NOW)).items:
            slot = bundle.resource_map.index_of(picked.resource_id)
            adds = weights * (vectors[items] @ vectors[slot])
            adds[items == slot] = -np.inf
            if picked.reason.kind == "similar":
                named = [i for i in items.tolist()
                         if f"\u201c{titles[bundle.resource_map.ids[i]]}\u201d" in picked.reason.text
                         or f"《{titles[bundle.resource_map.ids[i]]}》" in picked.reason.text]
                assert named, picked.reason.text
                top = np.argsort(-adds)[:3]
                assert any(items[t] in named for t in top), (learner_id, picked)
                best = max(adds[items == i].max() for i in named)
                assert best >= MIN_SHARE * picked.score - 1e-4
                cited += 1
            elif picked.reason.kind != "continue":
                not_cited += 1
                # nothing in the history adds enough to the score to be named
                assert adds.max() < MIN_SHARE * picked.score + 1e-4 or picked.score <= 0
    # both branches ran: 2,135 and 16 times on all 400 learners since the sample world's
    # in-person use follows the group (issue 20); 626 and 23 on the first 120 before (4 since)
    assert cited >= 100 and not_cited >= 5
