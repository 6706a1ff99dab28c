"""Time the library's evaluation beside a plain dense numpy computation of nDCG, in one run.

Two timings on synthetic inputs (by default 100k learners, a 5k-resource catalog):

1. nDCG@10 alone: the library's ``metrics.ndcg_at_k`` against an independent dense numpy
   reference (10 recommendations and ~5 relevant resources each, some of them in the list so
   there are hits; some lists padded with -1; some learners with nothing relevant). The
   reference builds dense boolean relevance in chunks of learners and looks the recommended
   slots up in it: the obvious vectorised way, written independently of the library. Both must
   agree to 1e-9.
2. The whole operator report: ``report_metrics`` (six accuracy metrics at k = 5, 10, 20;
   novelty, category and content-vector diversity, popularity bias and coverage at each k;
   exposure by provider type and mode; every metric broken down by group, age band,
   urban/rural and accessibility need with best-worst gaps) on 20-long lists, per 100k test
   learners, printed beside the plain-numpy nDCG@10 time as a ratio. The model is a stand-in
   that hands back precomputed lists, so ranking is not timed (its own lookup is, and printed).

Run: ``.venv/bin/python benchmarks/evaluate.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.evaluation.evaluate import TestSet, recommend_for_test
from recommender.evaluation.metrics import ndcg_at_k
from recommender.evaluation.report_metrics import report_metrics
from recommender.features import ConsumptionRule, FeatureSet, IdMap

N_LEARNERS = 100_000
N_RESOURCES = 5_000
K = 10
REPORT_K = (5, 10, 20)
N_RELEVANT = 5
N_TRAIN = 8  # training interactions per learner (popularity, novelty)
VECTOR_DIM = 128  # as the experiments' content-vector yardstick
REPEATS = 3


def make_inputs(
    seed: int = 0, n_learners: int = N_LEARNERS, n_resources: int = N_RESOURCES, width: int = K
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Recommended lists (``width`` long) without repeats, and a relevance matrix overlapping them."""
    rng = np.random.default_rng(seed)
    recommended = rng.integers(0, n_resources, size=(n_learners, width))
    while True:  # redraw the rows that repeat a resource
        ordered = np.sort(recommended, axis=1)
        repeated = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not repeated.any():
            break
        recommended[repeated] = rng.integers(0, n_resources, size=(int(repeated.sum()), width))
    recommended[rng.random(n_learners) < 0.05, int(width * 0.7):] = -1  # 5% of lists are short
    # Each relevant resource is, with probability 0.3, one of the learner's recommendations.
    slot = rng.integers(0, width, (n_learners, N_RELEVANT))
    from_list = recommended[np.arange(n_learners)[:, None], slot]
    random_pick = rng.integers(0, n_resources, size=(n_learners, N_RELEVANT))
    use_list = (rng.random((n_learners, N_RELEVANT)) < 0.3) & (from_list >= 0)
    picked = np.where(use_list, from_list, random_pick)
    rows = np.repeat(np.arange(n_learners), N_RELEVANT)
    keep = np.repeat(rng.random(n_learners) >= 0.02, N_RELEVANT)  # 2% have nothing relevant
    relevant = sp.csr_matrix(
        (np.ones(int(keep.sum())), (rows[keep], picked.ravel()[keep])),
        shape=(n_learners, n_resources),
    )
    relevant.sum_duplicates()
    relevant.data[:] = 1.0
    return recommended, relevant


def dense_ndcg(
    recommended: np.ndarray, relevant: sp.csr_matrix, k: int, chunk: int = 10_000
) -> np.ndarray:
    """Reference nDCG@k: dense boolean relevance per chunk of learners, gathered at the slots."""
    n, n_resources = relevant.shape
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])
    n_rel = np.diff(relevant.indptr)
    out = np.empty(n)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        dense = np.zeros((stop - start, n_resources), dtype=bool)
        lo, hi = relevant.indptr[start], relevant.indptr[stop]
        dense[np.repeat(np.arange(stop - start), n_rel[start:stop]), relevant.indices[lo:hi]] = True
        top = recommended[start:stop, :k]
        hits = dense[np.arange(stop - start)[:, None], np.maximum(top, 0)] & (top >= 0)
        dcg = hits @ discounts[: top.shape[1]]
        idcg = ideal[np.minimum(n_rel[start:stop], k)]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:stop] = np.where(idcg > 0, dcg / idcg, np.nan)
    return out


def best_time(fn, *args, repeats: int = REPEATS, **kwargs):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return min(times), result


class ListedModel:
    """A stand-in model whose ``recommend`` hands back precomputed lists (row = learner_idx),
    so ``report_metrics`` times the metrics, not a ranking."""

    def __init__(self, lists: np.ndarray) -> None:
        self.lists = lists

    def recommend(self, learner_idx, k=10, exclude=None, exclude_resources=None):  # type: ignore[no-untyped-def]
        rows = self.lists[np.atleast_1d(learner_idx), :k]
        return rows, np.zeros(rows.shape, dtype=np.float32)


def make_report_world(
    recommended: np.ndarray, relevant: sp.csr_matrix, seed: int = 1
) -> tuple[FeatureSet, TestSet, np.ndarray]:
    """Training features (learner attributes, catalog attributes, ``N_TRAIN`` interactions per
    learner with a popularity skew), the test set (learners with something relevant, as
    ``build_test_set`` keeps) and content vectors, around the given lists."""
    rng = np.random.default_rng(seed)
    n_learners, n_resources = relevant.shape
    learner_ids = np.array([f"L{i:07d}" for i in range(n_learners)], dtype=object)
    resource_ids = np.array([f"R{i:06d}" for i in range(n_resources)], dtype=object)
    needs = np.array([None, None, None, None, "captions", "large_print", "audio|captions"], dtype=object)
    learners = pd.DataFrame({
        "learner_id": learner_ids,
        "group": rng.choice(["employee", "retiree", "rural_resident", "migrant_worker", "youth",
                             "unemployed", "veteran", "disabled"], n_learners),
        "age_band": rng.choice(["16-24", "25-34", "35-44", "45-54", "55-64", "65+"], n_learners),
        "urban_rural": rng.choice(["urban", "rural"], n_learners),
        "accessibility_needs": needs[rng.integers(0, len(needs), n_learners)],
    })
    resources = pd.DataFrame({
        "resource_id": resource_ids,
        "category": rng.choice([f"c{i}" for i in range(12)], n_resources),
        "provider_type": rng.choice(["open_university", "community_school", "library_museum",
                                     "enterprise", "vocational_school"], n_resources),
        "mode": rng.choice(["online", "offline", "blended"], n_resources, p=[0.7, 0.2, 0.1]),
    })
    popularity = rng.zipf(1.5, n_resources).astype(np.float64)
    train_cols = rng.choice(n_resources, size=(n_learners, N_TRAIN), p=popularity / popularity.sum())
    interactions = sp.csr_matrix(
        (np.ones(n_learners * N_TRAIN, dtype=np.float32),
         (np.repeat(np.arange(n_learners), N_TRAIN), train_cols.ravel())),
        shape=(n_learners, n_resources),
    )
    interactions.sum_duplicates()
    train = FeatureSet(
        learner_map=IdMap("learner", learner_ids), resource_map=IdMap("resource", resource_ids),
        interactions=interactions, exclusions=sp.csr_matrix((n_learners, n_resources), dtype=np.float32),
        learners=learners, resources=resources,
        events=pd.DataFrame(columns=["learner_id", "resource_id", "event_type", "timestamp"]),
        consumption=ConsumptionRule().resolve(()),
    )
    learner_idx = np.flatnonzero(np.diff(relevant.indptr) > 0)
    test = TestSet(learner_idx=learner_idx, learner_ids=learner_ids[learner_idx],
                   relevant=sp.csr_matrix(relevant[learner_idx]), n_cold_learners=0)
    vectors = rng.standard_normal((n_resources, VECTOR_DIM)).astype(np.float32)
    return train, test, vectors


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=N_LEARNERS, help="test learners (default %(default)s)")
    parser.add_argument("--resources", type=int, default=N_RESOURCES, help="catalog size (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="best of this many runs (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="input seed (default %(default)s)")
    args = parser.parse_args(argv)
    for name in ("learners", "resources", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.resources <= max(REPORT_K):
        parser.error(f"--resources must exceed {max(REPORT_K)} (the longest list)")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    n_learners, n_resources, repeats = args.learners, args.resources, args.repeats
    recommended, relevant = make_inputs(args.seed, n_learners, n_resources)
    library_s, ours = best_time(ndcg_at_k, recommended, relevant, K, repeats=repeats)
    dense_s, reference = best_time(dense_ndcg, recommended, relevant, K, repeats=repeats)
    same_nan = np.array_equal(np.isnan(ours), np.isnan(reference))
    max_diff = float(np.nanmax(np.abs(ours - reference)))
    if not same_nan or max_diff > 1e-9:
        raise SystemExit(f"disagreement: same NaN pattern={same_nan}, max |diff|={max_diff:.3g}")
    per_100k = 100_000 / n_learners
    print(
        f"nDCG@{K}: {n_learners:,} learners x {n_resources:,} resources, "
        f"{relevant.nnz / n_learners:.2f} relevant each, mean nDCG {np.nanmean(ours):.4f}, "
        f"{int(np.isnan(ours).sum()):,} learners with nothing relevant (NaN); best of {repeats}"
    )
    print(f"  library metrics.ndcg_at_k : {library_s * per_100k * 1000:8.1f} ms per 100k learners")
    print(f"  plain dense numpy         : {dense_s * per_100k * 1000:8.1f} ms per 100k learners")
    print(f"  ratio library / dense     : {library_s / dense_s:8.2f}x")
    print(f"  agree: max |diff| = {max_diff:.2e} (<= 1e-9), same NaN learners")

    lists, list_relevant = make_inputs(args.seed, n_learners, n_resources, width=max(REPORT_K))
    train, test, vectors = make_report_world(lists, list_relevant, seed=args.seed + 1)
    model = ListedModel(lists)
    n_test = len(test.learner_idx)
    per_100k_test = 100_000 / n_test
    report_s, report = best_time(report_metrics, model, train, test, REPORT_K, main_k=K,
                                 resource_vectors=vectors, repeats=repeats)
    lookup_s, _ = best_time(recommend_for_test, model, train, test, max(REPORT_K), repeats=repeats)
    print(
        f"report_metrics at k={','.join(map(str, REPORT_K))}: {n_test:,} test learners, "
        f"{len(report.per_learner)} per-learner metrics, {len(report.groups):,} group rows, "
        f"{len(report.gaps):,} gaps; best of {repeats}"
    )
    print(f"  whole report_metrics      : {report_s * per_100k_test * 1000:8.1f} ms per 100k test learners"
          f" (of which handing back the lists {lookup_s * per_100k_test * 1000:.1f} ms)")
    print(f"  plain dense numpy nDCG@{K} : {dense_s * per_100k * 1000:8.1f} ms per 100k learners")
    print(f"  ratio report / dense nDCG : {report_s * per_100k_test / (dense_s * per_100k):8.2f}x")


if __name__ == "__main__":
    main()
