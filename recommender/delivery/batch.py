"""The delivery core for a freshly fitted model, and its lists as arrays: what offline
evaluation scores.

An experiment or a training run's hold-out asks "how good are the lists the API would serve
from this fit?". :func:`core_for_fit` builds the same served model the API builds from a
bundle of the fit (vectors, exclusions, catalog, the cold start for learners without a
history, the served index), and :func:`delivered_matrix` gives the core's lists (its
:meth:`~DeliveryCore.ranked` step, everything but the labels and reasons) as a
``(n_learners, k)`` array of resource indices, the form the metrics take.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from recommender.bundle import build_bundle
from recommender.delivery.core import DeliveryCore, ListRequest
from recommender.delivery.served import ServedModel
from recommender.features import FeatureSet, InteractionWeights
from recommender.index import SERVING_INDEX
from recommender.models.base import EmbeddingModel


def core_for_fit(
    model: EmbeddingModel,
    features: FeatureSet,
    *,
    regions: pd.DataFrame | None = None,
    weights: InteractionWeights | None = None,
    index_factory: str = SERVING_INDEX,
) -> DeliveryCore:
    """The delivery core the API would run on a bundle of this fit (no catalog changes)."""
    bundle = build_bundle(model, None, features, {"version": "evaluation"}, regions=regions,
                          weights=weights)
    return DeliveryCore(ServedModel.from_bundle(bundle, index_factory))


def delivered_matrix(
    core: DeliveryCore, learner_ids: Sequence[str], request: ListRequest
) -> tuple[np.ndarray, np.ndarray]:
    """``(resource_idx, score)``, each ``(len(learner_ids), request.k)``: each learner's list
    from the core as the bundle knows them, padded with -1 / -inf where it is shorter."""
    out_idx = np.full((len(learner_ids), request.k), -1, dtype=np.int64)
    out_scores = np.full((len(learner_ids), request.k), -np.inf, dtype=np.float32)
    for row, learner_id in enumerate(learner_ids):
        idx, scores = core.ranked(core.learner(str(learner_id)), request)
        out_idx[row, :len(idx)] = idx  # no catalog changes: served index = bundle index
        out_scores[row, :len(idx)] = scores
    return out_idx, out_scores
