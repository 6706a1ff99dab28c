"""The API's reasons: the fast path for lists the history explains gives exactly the reasons
of the general path (every fact of every slot), whatever the history, completions, group,
region, interests, and API resources among the slots."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.bundle import Bundle
from recommender.delivery.served import ServedModel
from recommender.delivery.overlay import Overlay
from recommender.delivery.reasons import (
    History,
    _explained_by_history,
    explain,
    explain_general,
)
from recommender.store import ResourceRecord

GROUPS = ("retiree", "rural_resident", "youth", "veteran", None)  # veteran: not in the bundle
REGIONS = ("R1", "R2", "R3", "R9", None)
INTERESTS = (None, "想学智能手机", "smartphone 太极养生", "果树", "")


def side_records() -> list[ResourceRecord]:
    """API resources: new ones (online and offline) and a re-described bundle resource."""
    base = {"description": "新课", "language": "zh", "provider_type": "community_school",
            "duration_minutes": 30, "credit_hours": 1.0, "level": "beginner"}
    rows = [
        {**base, "resource_id": "n1", "title": "智能手机新课", "category": "digital_literacy",
         "tags": "智能手机|微信", "mode": "online", "region": None},
        {**base, "resource_id": "n2", "title": "太极新课", "category": "health_elderly_care",
         "tags": "太极", "mode": "offline", "region": "R1"},
        {**base, "resource_id": "n3", "title": "果树新课", "category": "agricultural_technology",
         "tags": None, "mode": "blended", "region": "R2"},
        {**base, "resource_id": "r05", "title": "果树修剪技术 5 (new)",
         "category": "agricultural_technology", "tags": "果树", "mode": "online", "region": None},
    ]
    return [ResourceRecord.validate(row) for row in rows]


def vector_of(served: ServedModel, items: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A learner vector: mostly a mix of their history's vectors (so history items drive
    scores), plus some of what no history explains."""
    dim = served.bundle.resource_factors.shape[1]
    vector = rng.normal(scale=0.3, size=dim)
    if len(items):
        vector += rng.random(len(items)) @ served.bundle.resource_factors[items]
    return vector.astype(np.float32)


@pytest.fixture(scope="module")
def served(served_bundle: Bundle) -> ServedModel:
    return ServedModel.from_bundle(served_bundle)


@pytest.mark.parametrize("with_side", [False, True], ids=["bundle only", "API resources"])
def test_fast_path_gives_the_general_paths_reasons(served: ServedModel, with_side: bool) -> None:
    overlay = (Overlay.build(served, side_records(), (4, 4)) if with_side
               else Overlay.empty(served))
    n_main, n_all = served.n_resources, served.n_resources + overlay.n_side
    rng = np.random.default_rng(7)
    fast_taken = 0
    seen_kinds: set[str] = set()
    for case in range(400):
        n_items = int(rng.integers(0, 9)) if case % 5 else 0  # some learners without history
        items = rng.choice(n_main, n_items, replace=False).astype(np.int64)
        extra = rng.choice(n_main, int(rng.integers(0, 3)), replace=False).tolist()
        positive = frozenset(items.tolist() + extra) if case % 3 == 0 else frozenset()
        pool = sorted(positive or set(items.tolist()))
        completed = frozenset(x for x in pool if rng.random() < 0.5)
        history = History(items, completed, positive)
        k = int(rng.integers(1, 13))
        universe = n_all if rng.random() < 0.5 else n_main
        vector = vector_of(served, items, rng)
        if rng.random() < 0.5:  # a list as delivered: the best-scored bundle resources
            picked = np.argsort(-(served.bundle.resource_factors @ vector))[:k].astype(np.int64)
        else:
            picked = rng.choice(universe, min(k, universe), replace=False).astype(np.int64)
        if len(items) and rng.random() < 0.3:  # a history resource recommended again
            picked[0] = items[0]
        facts = {"group": GROUPS[case % len(GROUPS)], "region": REGIONS[case % 4],
                 "interests": INTERESTS[case % len(INTERESTS)], "vector": vector}
        general = explain_general(served, overlay, picked, history, **facts)
        assert explain(served, overlay, picked, history, **facts) == general, case
        if len(items) and picked.max() < n_main:
            fast = _explained_by_history(served, picked, picked.tolist(), history,
                                         facts["group"], vector=facts["vector"])
            if fast is not None:
                assert fast == general, case
                fast_taken += 1
        seen_kinds.update(reason.kind for reason in general)
    assert fast_taken >= 50  # the fast path itself was compared, not only the fallback
    assert {"continue", "similar", "interest", "group_popular", "popular"} <= seen_kinds

