"""Delivery lists for a chunk of learners: the one retrieval path batch export and pyfunc share.

Exactly serving's path: the bundle's learner vectors searched in a
:class:`~recommender.index.ResourceIndex` over its resource vectors, without each learner's
exclusions (completed or dismissed resources).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.bundle import Bundle
from recommender.index import ResourceIndex

LIST_COLUMNS = ["learner_id", "rank", "resource_id", "score"]


def top_k(
    bundle: Bundle, index: ResourceIndex, learner_idx: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(resource_idx, score)``, each ``(len(learner_idx), k)``; -1 / -inf pad short lists."""
    learner_idx = np.asarray(learner_idx, dtype=np.int64)
    return index.search(
        bundle.learner_factors[learner_idx], int(k), bundle.exclusions[learner_idx]
    )


def long_format(
    bundle: Bundle, learner_idx: np.ndarray, resource_idx: np.ndarray, scores: np.ndarray
) -> dict[str, np.ndarray]:
    """Columns ``learner_id, rank, resource_id, score`` (one row per filled slot) plus
    ``_slot``, the (row, column) positions kept, for attaching per-slot data such as reasons."""
    filled = resource_idx >= 0
    rows, cols = np.nonzero(filled)
    return {
        "learner_id": bundle.learner_map.ids[np.asarray(learner_idx)[rows]],
        "rank": (cols + 1).astype(np.int32),
        "resource_id": bundle.resource_map.ids[resource_idx[rows, cols]],
        "score": scores[rows, cols].astype(np.float32),
        "_slot": np.stack([rows, cols], axis=1),
    }


def delivery_frame(
    bundle: Bundle, index: ResourceIndex, learner_idx: np.ndarray, k: int
) -> pd.DataFrame:
    """A DataFrame of delivery lists for ``learner_idx``, best first within each learner."""
    resource_idx, scores = top_k(bundle, index, learner_idx, k)
    columns = long_format(bundle, learner_idx, resource_idx, scores)
    columns.pop("_slot")
    return pd.DataFrame(columns, columns=LIST_COLUMNS)
