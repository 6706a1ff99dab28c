"""Offline evaluation of an embedding model on a split, with the same exclusions as serving."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.evaluation.metrics import metrics_at_k
from recommender.features import FeatureSet, IdMap

if TYPE_CHECKING:  # evaluation sits below models: the hybrid's weight search calls it
    from recommender.models.base import EmbeddingModel

# Test events that show interest; a dismissal in the test period is not a hit.
RELEVANT_EVENT_TYPES: tuple[str, ...] = (
    "view", "enroll", "progress", "complete", "rate", "bookmark",
)


def relevance_matrix(
    test_events: pd.DataFrame, learners: IdMap, resources: IdMap, exclusions: sp.csr_matrix
) -> sp.csr_matrix:
    """Learners x resources: what each learner engaged with in test, minus what serving hides.

    A resource the learner completed or dismissed in training can never be recommended, so it
    cannot count as a miss either. Test events on ids unknown to the model are dropped here;
    callers report them (see the split summary).
    """
    engaged = test_events[test_events["event_type"].isin(RELEVANT_EVENT_TYPES)]
    learner_idx = learners.indices_of(engaged["learner_id"], strict=False)
    resource_idx = resources.indices_of(engaged["resource_id"], strict=False)
    known = (learner_idx >= 0) & (resource_idx >= 0)
    data = np.ones(int(known.sum()), dtype=np.float32)
    matrix = sp.csr_matrix(
        (data, (learner_idx[known], resource_idx[known])), shape=(len(learners), len(resources))
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    matrix = matrix - matrix.multiply(exclusions.astype(np.float32))
    matrix.eliminate_zeros()
    return sp.csr_matrix(matrix)


@dataclass(frozen=True)
class TestSet:
    """The learners a split can score: rows of ``relevant`` line up with ``learner_idx``.

    ``relevant`` holds what each learner engaged with in test, minus what serving would hide
    from them (completed or dismissed in training).
    """

    learner_idx: np.ndarray
    learner_ids: np.ndarray
    relevant: sp.csr_matrix
    n_cold_learners: int  # test learners without a single training interaction


def build_test_set(train: FeatureSet, test_events: pd.DataFrame) -> TestSet:
    """Test learners (at least one relevant test resource) and their relevance rows."""
    relevant = relevance_matrix(
        test_events, train.learner_map, train.resource_map, train.exclusions
    )
    learner_idx = np.flatnonzero(np.diff(relevant.indptr) > 0)
    history = np.diff(sp.csr_matrix(train.interactions).indptr)
    return TestSet(
        learner_idx=learner_idx,
        learner_ids=np.asarray(train.learner_map.ids, dtype=object)[learner_idx],
        relevant=sp.csr_matrix(relevant[learner_idx]),
        n_cold_learners=int((history[learner_idx] == 0).sum()),
    )


def recommend_for_test(
    model: EmbeddingModel,
    train: FeatureSet,
    test: TestSet,
    k: int,
    exclude_resources: np.ndarray | None = None,
    *,
    chunk_size: int = 10_000,
    on_progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Top-``k`` lists for the test learners with serving's per-learner exclusions, in chunks
    (memory stays flat; ``on_progress`` hears how many learners each chunk held)."""
    recommended = np.empty((len(test.learner_idx), k), dtype=np.int64)
    for lo in range(0, len(test.learner_idx), chunk_size):
        chunk = test.learner_idx[lo: lo + chunk_size]
        recommended[lo: lo + len(chunk)], _ = model.recommend(
            chunk, k=k, exclude=train.exclusions, exclude_resources=exclude_resources
        )
        if on_progress is not None:
            on_progress(len(chunk))
    return recommended


def evaluate_per_learner(
    model: EmbeddingModel,
    train: FeatureSet,
    test_events: pd.DataFrame,
    k_values: Sequence[int] = (5, 10, 20),
    exclude_resources: np.ndarray | None = None,
) -> tuple[TestSet, Mapping[str, np.ndarray]]:
    """The test learners and each metric at each k per learner (rows of ``test``), for callers
    that need more than the mean (e.g. a group's mean); empty metrics when nobody is tested.
    ``exclude_resources`` are no candidate for anyone (a split's candidate rule)."""
    test = build_test_set(train, test_events)
    if len(test.learner_idx) == 0:
        return test, {}
    recommended = recommend_for_test(model, train, test, max(k_values), exclude_resources)
    return test, metrics_at_k(recommended, test.relevant, k_values)


def evaluate(
    model: EmbeddingModel,
    train: FeatureSet,
    test_events: pd.DataFrame,
    k_values: Sequence[int] = (5, 10, 20),
    exclude_resources: np.ndarray | None = None,
) -> dict[str, float]:
    """Mean of each metric at each k over learners with at least one relevant test resource.

    Candidates exclude what each learner completed or dismissed in training, as serving does,
    and ``exclude_resources`` for everyone (a split's candidate rule).
    """
    test, per_learner = evaluate_per_learner(model, train, test_events, k_values,
                                             exclude_resources)
    results: dict[str, float] = {"n_test_learners": float(len(test.learner_idx))}
    results.update({name: float(np.nanmean(values)) for name, values in per_learner.items()})
    return results
