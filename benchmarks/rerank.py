"""Time the delivery core's re-rank step per list beside the plain list, in one run.

The sample world (``--learners`` x ``--resources``), ALS fitted on all of it, served through the
delivery core as the API serves it (:func:`recommender.delivery.batch.core_for_fit`, the
default index). Per learner we time :meth:`DeliveryCore.ranked` (mask, exclusions, retrieval,
re-rank; no labels or reasons) for k = 10 at:

* ``plain``: no re-rank (the baseline);
* ``equal_service=<default>`` and ``=1``: the exposure constraint (its target share over
  everything the learner can reach, the best local resources added to the pool, the bounded
  greedy pick over 5k candidates);
* ``calibration=0.5``: Steck's calibrated greedy pick over the learner's category mix;
* ``diversity=0.3``: MMR over the served vectors;
* ``all three``.

Timings are the fastest of ``--repeats`` runs per learner (a busy machine's spikes do not count
as cost), medians over the sampled learners, and each setting's ratio to ``plain`` from the
same run. Run: ``.venv/bin/python benchmarks/rerank.py [--learners 2000] [--resources 400]
[--sample 300] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from recommender.data.sample_world import generate_world
from recommender.delivery.batch import core_for_fit
from recommender.delivery.core import ListRequest
from recommender.delivery.rerank import DEFAULT_EQUAL_SERVICE
from recommender.features import build_feature_set
from recommender.models import ALSModel

K = 10


def settings() -> dict[str, dict[str, float]]:
    return {
        "plain": {},
        f"equal_service={DEFAULT_EQUAL_SERVICE:g}": {"equal_service": DEFAULT_EQUAL_SERVICE},
        "equal_service=1": {"equal_service": 1.0},
        "calibration=0.5": {"calibration": 0.5},
        "diversity=0.3": {"diversity": 0.3},
        "all three": {"equal_service": DEFAULT_EQUAL_SERVICE, "calibration": 0.5,
                      "diversity": 0.3},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=2000)
    parser.add_argument("--resources", type=int, default=400)
    parser.add_argument("--sample", type=int, default=300, help="learners timed")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    world = generate_world(n_learners=args.learners, n_resources=args.resources, seed=0)
    features = build_feature_set(world)
    model = ALSModel(factors=64, iterations=10, random_state=0).fit(features)
    core = core_for_fit(model, features, regions=world.regions)
    rng = np.random.default_rng(0)
    ids = features.learner_map.ids
    learner_ids = [str(i) for i in rng.choice(ids, min(args.sample, len(ids)), replace=False)]
    views = [core.learner(learner_id) for learner_id in learner_ids]
    medians: dict[str, float] = {}
    for name, knobs in settings().items():
        request = ListRequest(k=K, now=None, **knobs)
        times = []
        for view in views:
            best = np.inf
            for _ in range(args.repeats):
                started = time.perf_counter()
                idx, _ = core.ranked(view, request)
                best = min(best, time.perf_counter() - started)
            assert len(idx) == K, f"{name}: a list of {len(idx)} < {K}"
            times.append(best)
        medians[name] = float(np.median(times))
    print(f"delivery list per learner, k={K}, {len(views)} learners of a {args.learners} x "
          f"{args.resources} sample world, ALS(64), median of per-learner fastest of "
          f"{args.repeats}")
    plain = medians["plain"]
    for name, seconds in medians.items():
        print(f"{name:>20}: {seconds * 1e6:8.1f} us per list   {seconds / plain:5.2f}x plain")


if __name__ == "__main__":
    main()
