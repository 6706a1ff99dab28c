"""Offline evaluation of an embedding model on a split, with the same exclusions as serving."""

from __future__ import annotations

from collections.abc import Sequence
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


def evaluate(
    model: EmbeddingModel,
    train: FeatureSet,
    test_events: pd.DataFrame,
    k_values: Sequence[int] = (5, 10, 20),
) -> dict[str, float]:
    """Mean of each metric at each k over learners with at least one relevant test resource.

    Candidates exclude what each learner completed or dismissed in training, as serving does.
    """
    exclusions = train.exclusions
    relevant = relevance_matrix(test_events, train.learner_map, train.resource_map, exclusions)
    learner_idx = np.flatnonzero(np.diff(relevant.indptr) > 0)
    results: dict[str, float] = {"n_test_learners": float(len(learner_idx))}
    if len(learner_idx) == 0:
        return results
    recommended, _ = model.recommend(learner_idx, k=max(k_values), exclude=exclusions)
    per_learner = metrics_at_k(recommended, relevant[learner_idx], k_values)
    results.update({name: float(np.nanmean(values)) for name, values in per_learner.items()})
    return results
