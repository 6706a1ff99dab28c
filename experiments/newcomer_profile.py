"""How much should a newcomer's stated profile count once they have a few events? Measured.

A newcomer (no training history) who stated a profile is placed by it; each event they add is
folded in, and the served vector is ``w * profile + (1 - w) * history`` with
``w = n0 / (n0 + n)`` for ``n`` resources in their history (:class:`~recommender.models.ColdStart`,
setting ``profile_prior_events``). ``n0 = 0`` is the old behaviour: the first event replaces the
profile.

Protocol, per data set (the sample world of ``experiments/sample_world.toml``, the OULAD of
``experiments/oulad_per_learner.toml``): learners with at least ``MIN_EVENTS`` events are
candidates; a seeded ``share`` of them (at most ``max_newcomers``) become newcomers, and **all**
their events leave the training data (the model, ALS as ``training/configs/sample.toml`` trains
it, never sees them). For each newcomer and each ``n`` in (1, 3, 10), their first ``n`` events
(in time order) are their stored history, their profile is their learners-table row, and the
delivery core (the code the API runs, over a bundle of this fit) makes their top-10 list; the
resources of their later events that are not in those first ``n`` are relevant, and nDCG@10 is
:func:`recommender.evaluation.metrics.ndcg_at_k`. Newcomers are split in half: ``n0`` is chosen
on one half (the smallest prior within ``TOLERANCE`` of the best mean over the data sets and
the three ``n``: the profile is held on to only as long as that pays), the other half reports
it against ``n0 = 0`` with a paired bootstrap CI. Only stated interests are blended (see
:class:`~recommender.models.ColdStart`), so OULAD newcomers, whose profiles state none, get
the same lists for every ``n0``.

Run: ``python -m experiments.newcomer_profile [--data sample oulad] [--data-root DIR]
[--out DIR]``; prints the tables and writes ``newcomer_profile.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from experiments.config import load_config
from experiments.tables import markdown
from recommender.checks import is_missing
from recommender.delivery.batch import core_for_fit
from recommender.delivery.core import DeliveryCore, ListRequest
from recommender.evaluation.metrics import ndcg_at_k
from recommender.evaluation.significance import paired_comparison
from recommender.features import build_feature_set
from recommender.models.cold_start import PROFILE_COLUMNS
from recommender.selection import build_model
from recommender.store import EventRecord, LearnerSnapshot
from recommender.store.records import to_micros

EXPERIMENTS_DIR = Path(__file__).resolve().parent
CONFIGS = {"sample": "sample_world.toml", "oulad": "oulad_per_learner.toml"}
MODEL = ("als", {"factors": 64, "regularization": 0.05, "alpha": 2.0, "iterations": 15})
HISTORY_SIZES = (1, 3, 10)
PRIORS = (0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0)
MIN_EVENTS = 15  # 10 for the longest history, and some left to predict
K = 10
# n0 is the smallest prior whose validation mean (over data sets and history sizes) is within
# this much nDCG@10 of the best: holding on to the profile longer must buy more than this.
TOLERANCE = 0.02


@dataclass(frozen=True)
class Newcomers:
    """One data set's fitted core and its held-out newcomers (split into two halves)."""

    name: str
    core: DeliveryCore
    learner_ids: list[str]
    profiles: dict[str, dict]
    events: dict[str, pd.DataFrame]  # each newcomer's events, oldest first
    half: np.ndarray  # 0: choose n0 on them, 1: report on them


def prepare(name: str, data_root: Path | None, share: float, max_newcomers: int,
            seed: int) -> Newcomers:
    """Hold newcomers out, fit the model on everyone else, build the served core."""
    config, _ = load_config(EXPERIMENTS_DIR / CONFIGS[name], data_root)
    dataset = config.data.build(config.seed)
    events = dataset.events[dataset.events["event_type"] != "dismiss"]
    counts = events.groupby("learner_id").size()
    eligible = np.sort(counts[counts >= MIN_EVENTS].index.to_numpy(dtype=object))
    rng = np.random.default_rng(seed)
    n = min(max_newcomers, int(round(share * len(eligible))))
    chosen = rng.choice(eligible, size=n, replace=False)
    held = dataset.events["learner_id"].isin(set(chosen))
    weights = config.features.build()
    features = build_feature_set(dataset, dataset.events[~held], weights)
    model = build_model(MODEL[0], MODEL[1], random_state=seed, interaction_weights=weights)
    model.fit(features)
    core = core_for_fit(model, features, regions=dataset.regions, weights=weights)
    learners = dataset.learners.set_index("learner_id")
    columns = [c for c in PROFILE_COLUMNS if c in learners.columns and c != "learner_id"]
    profiles = {str(i): {c: (None if is_missing(v) else v)
                         for c, v in learners.loc[i, columns].items()} for i in chosen}
    ordered = events[events["learner_id"].isin(set(chosen))].sort_values(
        ["timestamp", "event_id"], kind="stable")
    per_learner = {str(i): frame for i, frame in ordered.groupby("learner_id")}
    half = rng.permutation(np.arange(n) % 2)
    return Newcomers(name, core, [str(i) for i in chosen], profiles, per_learner, half)


def _records(frame: pd.DataFrame) -> list[EventRecord]:
    return [EventRecord(str(row.event_id), str(row.learner_id), str(row.resource_id),
                        str(row.event_type), None if is_missing(row.value) else float(row.value),
                        to_micros(pd.Timestamp(row.timestamp)))
            for row in frame.itertuples(index=False)]


def ndcg_by_prior(newcomers: Newcomers, n_events: int) -> dict[float, np.ndarray]:
    """Per newcomer nDCG@10 with their first ``n_events`` events, for every n0 in PRIORS."""
    served = newcomers.core.served
    resource_map = served.bundle.resource_map
    request = ListRequest(k=K, now=None)
    rows, cols = [], []
    snapshots = []
    for row, learner_id in enumerate(newcomers.learner_ids):
        frame = newcomers.events[learner_id]
        first, later = frame.iloc[:n_events], frame.iloc[n_events:]
        relevant = set(later["resource_id"]) - set(first["resource_id"])
        idx = resource_map.indices_of(sorted(relevant), strict=False)
        cols.extend(idx[idx >= 0].tolist())
        rows.extend([row] * int((idx >= 0).sum()))
        snapshots.append(LearnerSnapshot(profile=newcomers.profiles[learner_id],
                                         events=_records(first), resources_signature=(0, 0)))
    relevant = sp.csr_matrix((np.ones(len(rows)), (rows, cols)),
                             shape=(len(newcomers.learner_ids), len(resource_map)))
    out = {}
    for prior in PRIORS:
        core = DeliveryCore(served, profile_prior_events=prior)
        recommended = np.full((len(snapshots), K), -1, dtype=np.int64)
        for row, (learner_id, snapshot) in enumerate(zip(newcomers.learner_ids, snapshots)):
            idx, _ = core.ranked(core.learner(learner_id, snapshot), request)
            recommended[row, :len(idx)] = idx
        out[prior] = ndcg_at_k(recommended, relevant, K)
    return out


def run(names: Sequence[str], data_root: Path | None, share: float, max_newcomers: int,
        seed: int) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The grid (validation half) and the chosen n0 against n0 = 0 (report half)."""
    scores: dict[tuple[str, int], dict[float, np.ndarray]] = {}
    halves = {}
    for name in names:
        started = time.perf_counter()
        newcomers = prepare(name, data_root, share, max_newcomers, seed)
        halves[name] = newcomers.half
        print(f"{name}: {len(newcomers.learner_ids)} newcomers held out, model fitted "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
        for n_events in HISTORY_SIZES:
            scores[(name, n_events)] = ndcg_by_prior(newcomers, n_events)
            print(f"{name}: n={n_events} done ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    grid = pd.DataFrame({
        f"n0={prior:g}": [np.nanmean(scores[key][prior][halves[key[0]] == 0]) for key in scores]
        for prior in PRIORS}, index=pd.MultiIndex.from_tuples(list(scores), names=["data", "n"]))
    means = grid.mean(axis=0).to_numpy()
    chosen = float(PRIORS[int(np.flatnonzero(means >= means.max() - TOLERANCE)[0])])
    rows = []
    for (name, n_events), by_prior in scores.items():
        report = halves[name] == 1
        test = paired_comparison(by_prior[0.0][report], by_prior[chosen][report], seed=seed)
        rows.append({"data": name, "n": n_events, "newcomers": test.n_learners,
                     "no profile (n0=0)": test.mean_baseline,
                     f"n0={chosen:g}": test.mean_candidate,
                     "Δ [95% CI]": f"{test.mean_difference:+.4f} [{test.ci_low:+.4f}, "
                                   f"{test.ci_high:+.4f}]{' *' if test.significant else ''}"})
    return grid, pd.DataFrame(rows).set_index(["data", "n"]), chosen


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", choices=sorted(CONFIGS), default=["sample", "oulad"])
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--share", type=float, default=0.25,
                        help="Share of eligible learners held out as newcomers")
    parser.add_argument("--max-newcomers", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("work/experiments/newcomer_profile"))
    args = parser.parse_args(argv)
    grid, report, chosen = run(args.data, args.data_root, args.share, args.max_newcomers,
                               args.seed)
    text = (f"Validation half, mean nDCG@10 by n0:\n\n{markdown(grid)}\n\n"
            f"Chosen n0 = {chosen:g}. Report half, against no profile:\n\n{markdown(report)}\n")
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "newcomer_profile.md").write_text(text)


if __name__ == "__main__":
    main()
