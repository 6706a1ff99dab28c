"""Events -> confidence-weighted learner x resource matrix, and the exclusion matrix.

The confidence of a (learner, resource) pair is the sum of its events' weights, each weight
depending on the event type (a completion says more than a view), optionally decayed by age,
then optionally log-scaled (OULAD clicks and MARS views are heavy-tailed counts). A dismissal is
negative evidence: a pair whose summed weight is not positive gets no confidence at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.features.consumption import Consumption, ConsumptionRule
from recommender.features.idmap import IdMap

# Measured in experiments/results/interaction_weights.md (ALS and EASE, sample world, OULAD,
# Canvas, MARS; chosen on validation, test reported): flat weights or a steeper funnel (view 1,
# enroll 4, progress 4, complete 8) move test ndcg@10 by -0.009..+0.006 with no consistent sign
# across data sets, and dismiss -10 vs 0 by ~0.001 (dismissed resources are excluded anyway).
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "bookmark": 2.0,
    "enroll": 3.0,
    "progress": 3.0,
    "rate": 2.0,
    "complete": 5.0,
    "dismiss": -10.0,
}


# Defaults measured in experiments/results/interaction_weights.md: log_scale off costs EASE on
# every test (-0.001..-0.021 ndcg@10; ALS gains or loses by data set); no half-life wins across
# data sets (MARS -0.02..-0.13; below 1/alpha a decayed confidence makes implicit's ALS count
# a pair less than a missing one); use_value_for=() lifts EASE on OULAD's click counts (test
# ndcg@10 0.570 -> 0.625 per learner, 0.689 -> 0.779 temporal; ALS -0.003/+0.020): set in the
# OULAD experiment files only, since OULAD is the only data set whose views carry a value.
@dataclass(frozen=True)
class InteractionWeights:
    """How events become confidence; every field is a logged training parameter."""

    event_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    use_value_for: tuple[str, ...] = ("view",)  # value (e.g. a click count) multiplies the weight
    half_life_days: float | None = None  # recency decay relative to the newest event
    log_scale: bool = True  # confidence = log1p(summed weight)
    # Which events mean "done with it" (exclusions); not a weight, but built from the same
    # [features] section and logged with it.
    consumption: ConsumptionRule = field(default_factory=ConsumptionRule)
    # Timestamps are only each learner's event order (recommender.features.ordinal).
    ordinal_time: bool = False


EventIndices = tuple[np.ndarray, np.ndarray]  # each event's (learner_idx, resource_idx)


def event_indices(events: pd.DataFrame, learners: IdMap, resources: IdMap) -> EventIndices:
    """Each event's learner_idx and resource_idx; an unknown id raises UnknownIdError."""
    return (
        learners.indices_of(events["learner_id"].to_numpy(dtype=object)),
        resources.indices_of(events["resource_id"].to_numpy(dtype=object)),
    )


def event_weight_values(
    events: pd.DataFrame, weights: InteractionWeights | None = None, *,
    now: pd.Timestamp | None = None,
) -> np.ndarray:
    """Each event's signed weight (type weight, times its value where configured, decayed by
    age): what is summed per pair before clipping and log-scaling."""
    weights = weights or InteractionWeights()
    # A handful of event types: look each one up once.
    codes, types = pd.factorize(events["event_type"].to_numpy(dtype=object))
    type_weight = pd.Series(types, dtype=object).map(weights.event_weights).fillna(0.0)
    weight = np.append(type_weight.to_numpy(np.float64), 0.0)[codes]  # code -1: missing type
    if weights.use_value_for:
        values = events["value"].to_numpy(dtype=np.float64, na_value=np.nan)
        type_scaled = np.append(np.isin(np.asarray(types, dtype=object),
                                        list(weights.use_value_for)), False)
        scaled = type_scaled[codes] & np.isfinite(values) & (values > 0)
        weight = np.where(scaled, weight * values, weight)
    if weights.half_life_days:
        stamps = events["timestamp"]
        reference = now if now is not None else stamps.max()
        age_days = (reference - stamps).dt.total_seconds().to_numpy() / 86400.0
        weight = weight * np.power(0.5, np.clip(age_days, 0.0, None) / weights.half_life_days)
    return weight


def build_interaction_matrix(
    events: pd.DataFrame,
    learners: IdMap,
    resources: IdMap,
    weights: InteractionWeights | None = None,
    *,
    now: pd.Timestamp | None = None,
    indices: EventIndices | None = None,
) -> sp.csr_matrix:
    """A float32 CSR matrix (learners x resources) of non-negative confidences.

    ``indices``: the events' :func:`event_indices` when the caller has them already.
    """
    weights = weights or InteractionWeights()
    shape = (len(learners), len(resources))
    if events.empty:
        return sp.csr_matrix(shape, dtype=np.float32)
    learner_idx, resource_idx = indices or event_indices(events, learners, resources)
    weight = event_weight_values(events, weights, now=now)
    summed = sp.coo_matrix((weight, (learner_idx, resource_idx)), shape=shape).tocsr()
    summed.sum_duplicates()
    summed.data = pair_confidence(summed.data, weights)
    summed.eliminate_zeros()
    return summed.astype(np.float32)


def pair_confidence(summed: np.ndarray, weights: InteractionWeights | None = None) -> np.ndarray:
    """Each pair's confidence from the sum of its :func:`event_weight_values`: a sum that is
    not positive (a dismissal outweighs the rest) gives 0, the rest are log-scaled when
    configured. Every engine finishes a pair with this one rule (the Spark engine applies it
    per partition)."""
    weights = weights or InteractionWeights()
    confidence = np.where(summed > 0, summed, 0.0)
    return np.log1p(confidence) if weights.log_scale else confidence


def build_exclusion_matrix(
    events: pd.DataFrame, learners: IdMap, resources: IdMap, consumption: Consumption, *,
    indices: EventIndices | None = None,
) -> sp.csr_matrix:
    """A boolean CSR matrix of the resources each learner consumed, by ``consumption``
    (resolved on the whole data set, so every split of it excludes alike; ``indices`` as for
    :func:`build_interaction_matrix`)."""
    done = events["event_type"].isin(consumption.consumed).to_numpy()
    shape = (len(learners), len(resources))
    if indices is not None:
        learner_idx, resource_idx = indices[0][done], indices[1][done]
    else:
        learner_idx = learners.indices_of(events["learner_id"].to_numpy(dtype=object)[done])
        resource_idx = resources.indices_of(events["resource_id"].to_numpy(dtype=object)[done])
    data = np.ones(len(learner_idx), dtype=bool)
    matrix = sp.coo_matrix((data, (learner_idx, resource_idx)), shape=shape).tocsr()
    matrix.sum_duplicates()
    matrix.data[:] = True
    return matrix


def build_completion_matrix(
    events: pd.DataFrame, learners: IdMap, resources: IdMap, *,
    indices: EventIndices | None = None,
) -> sp.csr_matrix:
    """When each learner first completed each resource: an int64 CSR matrix of microseconds
    since the epoch (UTC), for the credit ledger (which year a completion counts for); pairs
    never completed are absent. ``indices`` as for :func:`build_interaction_matrix`."""
    shape = (len(learners), len(resources))
    done = (events["event_type"] == "complete").to_numpy()
    if not done.any():
        return sp.csr_matrix(shape, dtype=np.int64)
    if indices is not None:
        learner_idx, resource_idx = indices[0][done], indices[1][done]
    else:
        learner_idx = learners.indices_of(events["learner_id"].to_numpy(dtype=object)[done])
        resource_idx = resources.indices_of(events["resource_id"].to_numpy(dtype=object)[done])
    stamps = pd.to_datetime(events["timestamp"].to_numpy()[done], utc=True)
    micros = (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
    first = (pd.DataFrame({"l": learner_idx, "r": resource_idx, "t": np.asarray(micros)})
             .groupby(["l", "r"], sort=True)["t"].min().reset_index())
    # One entry per pair (no duplicates to sum); explicit zeros (the epoch itself) are kept.
    return sp.csr_matrix((first["t"].to_numpy(np.int64),
                          (first["l"].to_numpy(np.int64), first["r"].to_numpy(np.int64))),
                         shape=shape)
