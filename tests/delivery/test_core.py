"""The delivery core end to end: lists and plans obey the learner's constraints and exclusions,
selective requests still fill the list, credit plans cover or say why not, and a resource
re-described through the API stays excluded for whoever is done with it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender.bundle import Bundle
from recommender.data.sample_world import generate_world
from recommender.delivery import RequestFilters, learner_profiles
from recommender.delivery.core import DeliveryCore, ListRequest, PlanRequest
from recommender.delivery.overlay import Overlay
from recommender.delivery.served import ServedModel
from recommender.features.idmap import IdMap
from recommender.store import ResourceRecord

NOW = pd.Timestamp("2024-09-01", tz="UTC")


def vectors_bundle(learners: pd.DataFrame, resources: pd.DataFrame, learner_vectors: np.ndarray,
                   resource_vectors: np.ndarray, exclusions: sp.csr_matrix | None = None,
                   regions: pd.DataFrame | None = None) -> Bundle:
    """A vectors-only bundle over given tables (learners keep their trained vectors)."""
    shape = (len(learners), len(resources))
    done = exclusions if exclusions is not None else sp.csr_matrix(shape, dtype=np.float32)
    return Bundle(
        learner_map=IdMap("learner", learners["learner_id"]),
        resource_map=IdMap("resource", resources["resource_id"]),
        learner_factors=learner_vectors.astype(np.float32),
        resource_factors=resource_vectors.astype(np.float32),
        exclusions=sp.csr_matrix(done, dtype=np.float32), interactions=sp.csr_matrix(done),
        resources=resources.reset_index(drop=True), learners=learners.reset_index(drop=True),
        manifest={"version": "core-test"}, regions=regions,
    )


@pytest.fixture(scope="module")
def world_core():
    world = generate_world(n_learners=200, n_resources=1500, seed=5, as_of="2024-12-31")
    rng = np.random.default_rng(0)
    done = sp.random(200, 1500, density=0.01, random_state=1, format="csr", dtype=np.float32)
    done.data[:] = 1.0
    bundle = vectors_bundle(world.learners, world.resources, rng.normal(size=(200, 16)),
                            rng.normal(size=(1500, 16)), done, world.regions)
    return world, DeliveryCore(ServedModel.from_bundle(bundle, "Flat"))


def test_lists_and_plans_stay_inside_the_mask_and_leave_out_what_is_done(world_core) -> None:
    world, core = world_core
    bundle = core.served.bundle
    profiles = learner_profiles(world.learners)
    for learner_idx in range(30):
        learner_id = str(bundle.learner_map.ids[learner_idx])
        allowed = core.served.catalog.mask(None, profiles[learner_idx], now=NOW)
        allowed[bundle.exclusions[learner_idx].indices] = False
        view = core.learner(learner_id)
        for diversity, service in ((0.0, 0.0), (0.3, 0.5)):
            items = core.deliver(view, ListRequest(k=10, now=NOW, diversity=diversity,
                                                   equal_service=service)).items
            shown = bundle.resource_map.indices_of([p.resource_id for p in items])
            assert len(shown) == min(10, int(allowed.sum()))
            assert allowed[shown].all()
        plan = core.plan(view, PlanRequest(hours_per_week=2, weeks=8, now=NOW)).plan
        assert allowed[plan.resource_idx].all()
        assert plan.total_minutes <= plan.budget_minutes


def test_a_list_carries_its_local_slots_and_the_local_share_of_what_was_allowed(
        world_core) -> None:
    """What exposure monitoring counts comes with the list, equal to a hand computation: per
    item, in person and in or next to the learner's region; the share of such resources among
    everything the learner could be listed (the mask, less what they are done with)."""
    world, core = world_core
    bundle, catalog = core.served.bundle, core.served.catalog
    profiles = learner_profiles(world.learners)
    regions = world.learners["region"].to_numpy()
    adjacent = {(a, b) for a, b in zip(world.regions.iloc[:, 0], world.regions.iloc[:, 1])}
    resource_region = world.resources.set_index("resource_id")["region"]
    in_person = world.resources.set_index("resource_id")["mode"].isin(["offline", "blended"])

    def local_by_hand(resource_id: str, region: str) -> bool:
        there = resource_region[resource_id]
        return bool(in_person[resource_id]) and isinstance(there, str) and (
            there == region or (there, region) in adjacent or (region, there) in adjacent)

    checked = in_person_far = 0
    for learner_idx in range(0, 200, 3):
        region = regions[learner_idx]
        # a region asked for that is not the learner's: its in-person resources may be
        # listed but are not local to this learner
        far = next(r for r in sorted(set(resource_region.dropna()))
                   if r != region and (r, region) not in adjacent)
        for filters, service in ((None, 0.0), (None, 1.0), (RequestFilters(region=far, mode=("offline", "blended")), 0.0)):
            allowed = catalog.mask(filters, profiles[learner_idx], now=NOW)
            allowed[bundle.exclusions[learner_idx].indices] = False
            delivered = core.deliver(
                core.learner(str(bundle.learner_map.ids[learner_idx])),
                ListRequest(k=10, now=NOW, equal_service=service,
                            filters=filters or RequestFilters()))
            ids = [p.resource_id for p in delivered.items]
            assert bundle.resource_map.ids[delivered.served_idx].tolist() == ids
            assert delivered.local.tolist() == [local_by_hand(i, region) for i in ids]
            reach = bundle.resource_map.ids[np.flatnonzero(allowed)]
            if len(reach) == 0:
                assert delivered.reachable_local_share is None and not ids
                continue
            assert delivered.reachable_local_share == pytest.approx(
                np.mean([local_by_hand(i, region) for i in reach]))
            checked += int(delivered.local.any())
            in_person_far += int(filters is not None and in_person[ids].any())
    assert checked > 0 and in_person_far > 0  # local and non-local in-person slots were seen


def test_the_plain_list_is_the_exact_top_k_of_what_is_allowed(world_core) -> None:
    world, core = world_core
    bundle = core.served.bundle
    profiles = learner_profiles(world.learners)
    for learner_idx in range(0, 200, 7):
        allowed = core.served.catalog.mask(None, profiles[learner_idx], now=NOW)
        allowed[bundle.exclusions[learner_idx].indices] = False
        scores = bundle.resource_factors @ bundle.learner_factors[learner_idx]
        best = np.flatnonzero(allowed)[np.argsort(-scores[allowed], kind="stable")][:10]
        items = core.deliver(core.learner(str(bundle.learner_map.ids[learner_idx])),
                             ListRequest(k=10, now=NOW)).items
        assert [p.resource_id for p in items] == bundle.resource_map.ids[best].tolist()


def test_selective_request_still_fills_the_list(world_core) -> None:
    world, core = world_core
    filters = RequestFilters(category="law_civics", max_duration_minutes=60, level="beginner")
    view = core.learner(str(core.served.bundle.learner_map.ids[0]))
    allowed = core.served.catalog.mask(filters, view.constraints, now=NOW)
    assert 10 <= allowed.sum() < 0.05 * len(allowed)
    items = core.deliver(view, ListRequest(k=10, now=NOW, filters=filters)).items
    shown = core.served.bundle.resource_map.indices_of([p.resource_id for p in items])
    assert len(shown) == 10 and allowed[shown].all()


def test_credit_learner_gets_a_covering_plan(world_core) -> None:
    _, core = world_core
    view = core.learner(str(core.served.bundle.learner_map.ids[3]))
    plan = core.plan(view, PlanRequest(hours_per_week=3, weeks=52, now=NOW, credit_required=72,
                                       credit_completed=12)).plan
    assert plan.credit_required == 60
    assert plan.credit_hours >= 60 and plan.shortfall_hours == 0
    assert plan.total_minutes <= plan.budget_minutes


def small_core(n_plain: int, n_credit: int, done: list[int] = ()) -> DeliveryCore:
    """One learner (vector (1, 0)); online resources of one hour; the plain ones score higher
    than the credit-bearing ones."""
    n = n_plain + n_credit
    resources = pd.DataFrame({
        "resource_id": [f"r{i}" for i in range(n)], "title": [f"t{i}" for i in range(n)],
        "category": ["literacy"] * n, "mode": ["online"] * n,
        "duration_minutes": np.full(n, 60.0),
        "credit_hours": np.r_[np.zeros(n_plain), np.full(n_credit, 1.0)],
    })
    vectors = np.zeros((n, 2), dtype=np.float32)
    vectors[:, 0] = np.r_[np.linspace(2.0, 1.0, n_plain), np.linspace(0.5, 0.1, n_credit)]
    exclusions = sp.csr_matrix((np.ones(len(done)), (np.zeros(len(done), int), list(done))),
                               shape=(1, n))
    bundle = vectors_bundle(pd.DataFrame({"learner_id": ["l0"]}), resources,
                            np.array([[1.0, 0.0]]), vectors, exclusions)
    return DeliveryCore(ServedModel.from_bundle(bundle, "Flat"))


def test_credit_candidates_are_found_below_the_best_scored_pool() -> None:
    core = small_core(n_plain=150, n_credit=40)
    plan = core.plan(core.learner("l0"), PlanRequest(hours_per_week=10, weeks=1, now=NOW,
                                                     credit_required=5)).plan
    assert plan.credit_hours >= 5 and plan.shortfall_hours == 0
    assert plan.total_minutes <= plan.budget_minutes
    # the covering courses are the best-scored credit-bearing ones
    assert set(plan.resource_idx[plan.resource_idx >= 150].tolist()) == set(range(150, 155))


def test_catalog_shortfall_leaves_out_what_the_learner_is_done_with() -> None:
    core = small_core(n_plain=5, n_credit=4, done=[5])
    plan = core.plan(core.learner("l0"), PlanRequest(
        hours_per_week=40, weeks=1, now=NOW, credit_required=4, n_credit_candidates=2)).plan
    assert plan.credit_hours == 3 and plan.shortfall_hours == 1
    assert plan.shortfall_reason == "catalog"  # 3 takeable credit hours, not 4


def test_a_redescribed_resource_stays_excluded_for_whoever_is_done_with_it() -> None:
    """PUT-then-dismiss: a bundle resource re-described through the API is served from the
    side catalog; the learner completed it in the bundle and dismisses it now, and neither the
    bundle copy nor the new copy may come back (nor one named in ``exclude``)."""
    core = small_core(n_plain=6, n_credit=0, done=[0])
    served = core.served
    record = ResourceRecord.validate({"resource_id": "r0", "title": "t0 again",
                                      "category": "literacy", "mode": "online"})
    other = ResourceRecord.validate({"resource_id": "r1", "title": "t1 again",
                                     "category": "literacy", "mode": "online"})
    # A vectors-only bundle cannot embed new content: the API's copies are blocked, nothing
    # else (their bundle rows stay out, as for a withdrawn resource).
    blocked = Overlay.build(served, [record, other], (2, 2))
    assert blocked.n_side == 0 and blocked.active(np.array([0, 1, 2])).tolist() == [-1, -1, 2]
    # With content vectors (here: the bundle's, x10, so they would rank first if exclusions
    # missed them) the copies are served as side resources 6 and 7.
    side = Overlay(
        signature=(2, 2), blocked=blocked.blocked, ids=np.array(["r0", "r1"], dtype=object),
        titles=np.array(["t0 again", "t1 again"], dtype=object),
        vectors=served.bundle.resource_factors[:2] * 10, unit_vectors=served.unit_vectors[:2],
        catalog=type(served.catalog).build(served.bundle.resources.iloc[:2]),
        tags=[(), ()], _position={"r0": 0, "r1": 1}, bundle_ids=served.resource_ids,
    )
    assert side.active(np.array([0, 1, 2])).tolist() == [6, 7, 2]
    changed = DeliveryCore(served, side)
    ids = [p.resource_id for p in changed.deliver(changed.learner("l0"),
                                                  ListRequest(k=6, now=NOW)).items]
    assert "r0" not in ids and ids[0] == "r1"  # r1's new copy (x10) ranks first
    ids = [p.resource_id for p in changed.deliver(changed.learner("l0"), ListRequest(
        k=6, now=NOW, exclude_ids=("r1",))).items]
    assert "r0" not in ids and "r1" not in ids and len(ids) == 4
