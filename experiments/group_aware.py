"""Group-aware selection on an experiment's split: the same candidate settings chosen by the
mean alone and by an objective that counts the worst group, each choice then judged on the test
learners through the delivery core (the lists the API would serve).

Run: ``python -m experiments.group_aware --config experiments/sample_world.toml
[--attribute group] [--weights 0,0.5]``; prints one row per worst-group weight: the choice,
its validation objective, test ndcg@10 (paired CI against the mean's choice) and the relative
best-worst test gap over the attribute.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.config import load_config
from experiments.runner import candidate_mask, prepare
from recommender.delivery.batch import core_for_fit, delivered_matrix
from recommender.delivery.core import ListRequest
from recommender.evaluation.equity import equity_gaps, group_accuracy
from recommender.evaluation.metrics import metrics_at_k
from recommender.evaluation.significance import paired_comparison
from recommender.models.hybrid import HybridModel
from recommender.selection.equity import GroupAwareSearch

GRID: tuple[dict[str, object], ...] = tuple(
    {"weights": (1.0 - share, share)} for share in (0.0, 0.25, 0.5, 0.75))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("experiments/sample_world.toml"))
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--attribute", default="group")
    parser.add_argument("--weights", default="0,0.5", help="worst-group weights to compare")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    config, _ = load_config(args.config, args.data_root)
    prepared = prepare(config, lambda message: None)
    test, train = prepared.test, prepared.train
    request = ListRequest(k=args.k, now=None, candidates=candidate_mask(prepared))
    rows, baseline = [], None
    for worst_weight in (float(w) for w in args.weights.split(",")):
        search = GroupAwareSearch(
            HybridModel(parts=["als", "content"], random_state=config.seed), list(GRID),
            attribute=args.attribute, worst_weight=worst_weight, k=args.k,
            interaction_weights=prepared.weights).fit(train)
        core = core_for_fit(search, train, regions=prepared.dataset.regions,
                            weights=prepared.weights)
        recommended, _ = delivered_matrix(core, list(test.learner_ids), request)
        ndcg = metrics_at_k(recommended, test.relevant, [args.k], names=["ndcg"])[f"ndcg_at_{args.k}"]
        gaps = equity_gaps(group_accuracy(ndcg, train.learners, [args.attribute],
                                          learner_ids=list(test.learner_ids), per_need=False,
                                          n_resamples=1))
        difference = "baseline"
        if baseline is None:
            baseline = ndcg
        else:
            result = paired_comparison(baseline, ndcg, n_resamples=1000, seed=config.seed)
            difference = (f"{result.mean_difference:+.4f} [{result.ci_low:+.4f}, "
                          f"{result.ci_high:+.4f}]")
        gap = gaps.iloc[0]
        rows.append({
            "worst_weight": worst_weight, "chosen (als, content)": search.best_params_["weights"],
            "validation objective": round(search.best_score_, 4),
            f"test ndcg@{args.k}": round(float(np.nanmean(ndcg)), 4),
            "Δ vs mean's choice [95% CI]": difference,
            "test worst group": f"{gap['worst_value']} ({gap['worst_mean']:.3f})",
            "test relative gap": round(float(gap["relative_gap"]), 3),
        })
        print(search.cv_results_.round(4).to_string(index=False), flush=True)
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False))
    print(f"[{time.perf_counter() - started:.0f} s]")


if __name__ == "__main__":
    main()
