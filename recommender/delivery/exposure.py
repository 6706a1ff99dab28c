"""Exposure of what is served: the share of list slots each provider type and mode gets, beside
its share of the catalog, for a sample of the served model's learners (their current lists,
through the delivery core), so an operator sees whether local and community providers are
shown as often as they exist. The share is :func:`exposure_share`, the evaluation's metric."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.delivery.core import DeliveryCore, ListRequest
from recommender.evaluation.beyond_accuracy import exposure_share

ATTRIBUTES = ("provider_type", "mode")


@dataclass(frozen=True)
class ExposureRow:
    attribute: str
    value: str
    share: float  # of the list slots
    catalog_share: float  # of the bundle's resources


def served_exposure(
    core: DeliveryCore, learner_ids: Sequence[str], request: ListRequest,
    attributes: Sequence[str] = ATTRIBUTES,
) -> list[ExposureRow]:
    """Slot shares of each attribute value over ``learner_ids``' current lists (bundle
    resources; the API's own are not in the catalog shares and are left out of both)."""
    served = core.served
    n_main = served.n_resources
    lists = np.full((len(learner_ids), request.k), -1, dtype=np.int64)
    for row, learner_id in enumerate(learner_ids):
        idx, _ = core.ranked(core.learner(learner_id), request)
        idx = idx[idx < n_main][: request.k]
        lists[row, : len(idx)] = idx
    resources = served.bundle.resources
    out = []
    for attribute in attributes:
        if attribute not in resources:
            continue
        values = resources[attribute].astype(object).where(resources[attribute].notna(), None)
        shares = exposure_share(lists, values.to_numpy(dtype=object), request.k)
        catalog = values.value_counts(normalize=True, dropna=False)
        for value, share in sorted(shares.items(), key=lambda kv: str(kv[0])):
            out.append(ExposureRow(attribute, "(none)" if value is None else str(value),
                                   share, float(catalog.get(value, 0.0))))
    return out
