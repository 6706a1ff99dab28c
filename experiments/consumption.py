"""Which event types should consume a resource by default? Measured on the shipped data.

Two measurements per data set (the experiment file's data, as ``recommender experiment run``
loads it):

1. **Returns by event type**: of the events of each type, the share followed by a later event
   of the same learner on the same resource. A type after which learners rarely come back
   (a completion, a rating, a dismissal) means "done with it"; one they often come back after
   (a view, progress, an enrolment) keeps the resource a candidate.
2. **The rule at work**: EASE and ALS on ``leave_last_fraction(0.2)`` with the rule before
   consumption rules (only complete and dismiss consume) and with the default rule: test
   nDCG@10 and how many list slots hold resources the learner already had in training; on
   the data as shipped, and with its (learner, resource) pairs re-encoded as a single
   ``rate`` or ``enroll`` event each (dismissals dropped), as a ratings-only or
   enrolment-only export would give them.

Run: ``python -m experiments.consumption --data sample|oulad|mars|canvas`` (``--data-root`` as
for the other experiment scripts); prints both tables.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.config import load_config
from recommender.data import Dataset
from recommender.evaluation.evaluate import build_test_set, evaluate, recommend_for_test
from recommender.evaluation.splits import leave_last_fraction
from recommender.features import ConsumptionRule, InteractionWeights, build_feature_set
from recommender.models import ALSModel, EASEModel

EXPERIMENTS_DIR = Path(__file__).resolve().parent
EXPERIMENT_FILES = {"sample": "sample_world.toml", "oulad": "oulad.toml", "mars": "mars.toml",
                    "canvas": "canvas.toml"}
# What excluded a resource before the consumption rule existed.
BEFORE = ConsumptionRule(consumed=("complete", "dismiss"),
                         continuing=("view", "progress", "bookmark", "rate", "enroll"))


def return_shares(events: pd.DataFrame) -> pd.Series:
    """Per event type, the share of its events followed by a later event (strictly later
    timestamp) of the same learner on the same resource."""
    latest = events.groupby(["learner_id", "resource_id"])["timestamp"].transform("max")
    return (events["timestamp"] < latest).groupby(events["event_type"]).mean()


def one_type(dataset: Dataset, event_type: str) -> Dataset:
    """Each (learner, resource) pair once, as one ``event_type`` event at its latest time."""
    events = dataset.events[dataset.events["event_type"] != "dismiss"]
    events = events.sort_values("timestamp", kind="stable").drop_duplicates(
        ["learner_id", "resource_id"], keep="last")
    events = events.assign(event_type=event_type, value=np.nan).reset_index(drop=True)
    return dataclasses.replace(dataset, events=events)


def one_type_rows(dataset: Dataset, event_type: str, seed: int) -> list[dict[str, object]]:
    return rule_rows(one_type(dataset, event_type), f"{event_type} only", seed)


def rule_rows(data: Dataset, table: str, seed: int) -> list[dict[str, object]]:
    """EASE and ALS on ``leave_last_fraction(0.2)`` of ``data`` under the rule before and the
    default rule: test nDCG@10 and list slots holding what the learner already had."""
    split = leave_last_fraction(data.events, 0.2, 3)
    rows = []
    for label, rule in (("before", BEFORE), ("default", ConsumptionRule())):
        train = build_feature_set(data, split.train, InteractionWeights(consumption=rule))
        test = build_test_set(train, split.test)
        for model in (EASEModel(), ALSModel(random_state=seed)):
            model.fit(train)
            metrics = evaluate(model, train, split.test, (10,))
            lists = recommend_for_test(model, train, test, 10)
            had = train.interactions[test.learner_idx]
            already = sum(int(np.isin(row, had[i].indices).sum()) for i, row in enumerate(lists))
            rows.append({"table": table, "rule": label,
                         "consumed": ",".join(train.consumption.consumed),
                         "model": type(model).__name__.removesuffix("Model"),
                         "ndcg@10": round(metrics["ndcg_at_10"], 3),
                         "slots already had": f"{already}/{lists.size}",
                         "test learners": int(metrics["n_test_learners"])})
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", choices=sorted(EXPERIMENT_FILES), default="sample")
    parser.add_argument("--data-root", type=Path, default=None)
    args = parser.parse_args(argv)
    config, _ = load_config(EXPERIMENTS_DIR / EXPERIMENT_FILES[args.data], args.data_root)
    dataset = config.data.build(config.seed)
    shares = return_shares(dataset.events)
    print(f"{args.data}: {len(dataset.events)} events; share followed by a later event on the "
          "same pair, by type:")
    print("  " + ", ".join(f"{t} {v:.3f}" for t, v in shares.items()))
    rows = rule_rows(dataset, "as shipped", config.seed)
    for kind in ("rate", "enroll"):
        rows += one_type_rows(dataset, kind, config.seed)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
