"""Events: what each encounter turns into, stamped in time and trimmed to each learner's budget.

An encounter's match with the learner's hidden taste drives the funnel (view, bookmark, enroll,
progress, complete, rate); clear mismatches end in a dismiss. Every step is decided before any
timestamp is drawn, and steps that would fall after the window or the course's closing date never
happen, as on a real platform observed for one year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.data.sample_world.arrays import DAY, Window, ids, iso, labels
from recommender.data.sample_world.catalog import Resources
from recommender.data.sample_world.encounters import Pairs, encounter, fit
from recommender.data.sample_world.learners import Learners
from recommender.data.sample_world.priors import ENROLL_BASE, ENROLL_GAIN, REVISIT_SHARE
from recommender.data.schema import EVENT_TYPES

_MEAN_EVENTS_PER_PAIR = 2.0  # first guess when oversampling candidate interactions
_OVERSAMPLE = 1.8  # spare candidates, as repeats of an already seen resource are mostly dropped
_HEAVY_LEARNER_EVENTS = 150  # ... and more spare for learners this busy and busier
_CENSORED_SHARE = 0.08  # funnel steps that would fall after the window or the closing date


def make_events(learners: Learners, resources: Resources, window: Window,
                rng: np.random.Generator) -> pd.DataFrame:
    """Encounters (who meets what, when), then what each turns into, trimmed to each budget.

    The earliest encounter of a learner with a resource runs the full funnel; a few later ones
    come back as plain views (revisits) and the rest are dropped.
    """
    target = learners.target_events
    spare = _OVERSAMPLE * (1 + target / _HEAVY_LEARNER_EVENTS)  # heavy learners repeat themselves
    candidates = np.ceil(target / _MEAN_EVENTS_PER_PAIR * spare).astype(np.int64) + 2
    pairs = encounter(np.repeat(np.arange(len(target)), candidates), learners, resources, window,
                      rng)
    match = _match(pairs, learners, resources, window, rng)
    funnels = _decide_funnels(pairs, match, learners, resources, rng)
    first = _first_encounters(pairs)
    revisit = ~first & ~pairs.dismissed & (rng.random(len(first)) < REVISIT_SHARE)
    length = np.where(first, funnels.length, 1)
    budget = np.rint(target / (1 - _CENSORED_SHARE))
    keep = _keep_to_targets(np.where(first | revisit, length, 0), pairs.learner, budget)
    keep &= first | revisit
    return _funnel_events(pairs.take(keep), match[keep], funnels.select(first, keep), resources,
                          window, rng)


def _match(pairs: Pairs, learners: Learners, resources: Resources, window: Window,
           rng: np.random.Generator) -> np.ndarray:
    """How well each encounter matches the learner's hidden taste (0..1): drives the funnel."""
    learner_idx, resource_idx = pairs.learner, pairs.resource
    wanted = np.column_stack([learners.topics[learner_idx],
                              np.where(pairs.time >= learners.emerging_from[learner_idx],
                                       learners.emerging_topic[learner_idx], -1)])
    offered = resources.topics[resource_idx]
    topic_hit = ((wanted[:, :, None] == offered[:, None, :]) & (offered[:, None, :] >= 0)).any(
        axis=(1, 2))
    progress = window.progress(pairs.time)
    category = resources.category_idx[resource_idx]
    affinity = _drifted(learners.affinity_start[learner_idx, category],
                        learners.affinity_end[learner_idx, category], progress)
    strongest = _drifted(learners.affinity_start.max(axis=1)[learner_idx],
                         learners.affinity_end.max(axis=1)[learner_idx], progress)
    category_share = np.minimum(affinity / strongest, 1.0)
    suits = fit(learner_idx, resource_idx, learners, resources)
    match = (0.15 + 0.45 * topic_hit + 0.4 * category_share) * np.sqrt(suits)
    return np.clip(match + rng.normal(0, 0.08, size=len(match)), 0.0, 1.0)


def _drifted(start: np.ndarray, end: np.ndarray, progress: np.ndarray) -> np.ndarray:
    """A taste that moves linearly from its start-of-window value to its end-of-window one."""
    return (1 - progress) * start + progress * end


@dataclass(frozen=True)
class _Funnels:
    """What each encounter turns into, decided before any timestamp is drawn."""

    bookmark: np.ndarray
    enroll: np.ndarray
    n_progress: np.ndarray
    complete: np.ndarray
    rate: np.ndarray

    @property
    def length(self) -> np.ndarray:
        """Events per encounter: the view (or dismiss) plus every later step."""
        return 1 + self.bookmark + self.enroll + self.n_progress + self.complete + self.rate

    def select(self, full: np.ndarray, keep: np.ndarray) -> _Funnels:
        """The kept encounters; those not ``full`` (revisits) become a plain view."""
        return _Funnels(
            bookmark=(self.bookmark & full)[keep], enroll=(self.enroll & full)[keep],
            n_progress=np.where(full, self.n_progress, 0)[keep],
            complete=(self.complete & full)[keep], rate=(self.rate & full)[keep],
        )


def _decide_funnels(pairs: Pairs, match: np.ndarray, learners: Learners,
                    resources: Resources, rng: np.random.Generator) -> _Funnels:
    """View > enroll > progress > complete, each step likelier when the match is good."""
    n = len(match)
    shown = ~pairs.dismissed
    fmt = resources.format_idx[pairs.resource]
    diligence = learners.diligence[pairs.learner]
    bookmark = shown & (rng.random(n) < 0.03 + 0.08 * match)
    enroll = shown & (rng.random(n) < ENROLL_BASE + ENROLL_GAIN * match ** 1.3)
    finish_base = np.array([0.55, 0.40, 0.18])[fmt]
    finish = finish_base + 0.4 * match + 0.3 * (diligence - 0.5)
    complete = enroll & (rng.random(n) < np.clip(finish, 0.02, 0.97))
    hours = resources.duration[pairs.resource] / 60
    expected_steps = np.select([fmt == 0, fmt == 1], [0.2, 0.8], np.minimum(1 + hours / 8, 4))
    n_progress = np.where(enroll, np.minimum(rng.poisson(expected_steps), 8), 0)
    rate = complete & (rng.random(n) < 0.3)
    return _Funnels(bookmark, enroll, n_progress, complete, rate)


def _keep_to_targets(length: np.ndarray, learner_idx: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Keep each learner's encounters (in random order) until their event budget is spent."""
    order = np.argsort(learner_idx, kind="stable")
    sorted_length = length[order]
    total = np.cumsum(sorted_length)
    starts = np.searchsorted(learner_idx[order], np.arange(len(target)))
    before_learner = np.where(starts > 0, total[np.maximum(starts - 1, 0)], 0)
    spent_before = total - sorted_length - before_learner[learner_idx[order]]
    keep = np.zeros(len(length), dtype=bool)
    keep[order] = spent_before < target[learner_idx[order]]
    return keep


def _first_encounters(pairs: Pairs) -> np.ndarray:
    """True for the earliest encounter of each learner-resource pair; later ones are revisits."""
    pair_key = pairs.learner * (int(pairs.resource.max(initial=0)) + 1) + pairs.resource
    order = np.lexsort((pairs.time, pair_key))
    same = pair_key[order][1:] == pair_key[order][:-1]
    first = np.ones(len(order), dtype=bool)
    first[order[1:][same]] = False
    return first


def _funnel_events(pairs: Pairs, match: np.ndarray, funnels: _Funnels, resources: Resources,
                   window: Window, rng: np.random.Generator) -> pd.DataFrame:
    """Timestamp every step; steps after the window or the course's closing date never happen."""
    n = len(pairs.time)
    view = pairs.time
    limit = np.minimum(window.end - 1, resources.open_until[pairs.resource])
    duration = resources.duration[pairs.resource] * 60
    fmt = resources.format_idx[pairs.resource]
    enroll_delay = np.where(rng.random(n) < 0.1, rng.uniform(1, 7, n) * DAY,
                            rng.lognormal(np.log(180), 0.8, n))
    enroll_at = view + 1 + enroll_delay.astype(np.int64)
    sitting = duration * rng.uniform(1.0, 2.5, n)
    hours_per_day = rng.uniform(0.5, 2.0, n)
    spread = duration / 60 / hours_per_day * DAY * rng.uniform(1.0, 2.0, n)
    study = np.where(fmt == 2, spread, sitting).astype(np.int64) + 60
    complete_at = enroll_at + study
    reached = np.where(funnels.complete, 1.0, rng.uniform(0.05, 0.9, n))

    parts: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []

    def add(kind: str, rows: np.ndarray, stamp: np.ndarray,
            value: np.ndarray | None = None) -> None:
        """One funnel step for ``rows``; steps without a value get NaN."""
        parts.append((rows, EVENT_TYPES.index(kind),
                      np.full(rows.size, np.nan) if value is None else value, stamp))

    rows = np.flatnonzero(~pairs.dismissed)
    add("view", rows, view[rows])
    rows = np.flatnonzero(pairs.dismissed)
    add("dismiss", rows, view[rows])
    rows = np.flatnonzero(funnels.bookmark)
    add("bookmark", rows, view[rows] + rng.integers(5, 600, rows.size))
    rows = np.flatnonzero(funnels.enroll)
    add("enroll", rows, enroll_at[rows])
    rows = np.repeat(np.arange(n), funnels.n_progress)
    fraction = _sorted_within(rows, rng.uniform(0.05, 0.95, rows.size)) * reached[rows]
    fraction = np.maximum(np.round(fraction, 2), 0.01)
    add("progress", rows, enroll_at[rows] + 1 + (study[rows] * fraction).astype(np.int64), fraction)
    rows = np.flatnonzero(funnels.complete)
    add("complete", rows, complete_at[rows], np.ones(rows.size))
    rows = np.flatnonzero(funnels.rate)
    stars = np.clip(np.rint(1 + 4 * match[rows] + rng.normal(0, 0.7, rows.size)), 1, 5)
    add("rate", rows, complete_at[rows] + rng.integers(30, 3 * DAY, rows.size), stars)

    pair_row = np.concatenate([p[0] for p in parts])
    event_type = np.concatenate([np.full(p[0].size, p[1]) for p in parts])
    value = np.concatenate([p[2] for p in parts])
    stamp = np.concatenate([p[3] for p in parts]).astype(np.int64)
    happened = stamp <= limit[pair_row]
    happened &= ~_censored_completion(pair_row, event_type, stamp, limit)
    return _event_frame(pairs, pair_row[happened], event_type[happened], value[happened],
                        stamp[happened])


def _sorted_within(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sort ``values`` ascending within each run of equal ``rows`` (rows are grouped)."""
    order = np.lexsort((values, rows))
    return values[order]


def _censored_completion(pair_row: np.ndarray, event_type: np.ndarray, stamp: np.ndarray,
                         limit: np.ndarray) -> np.ndarray:
    """A rating needs the completion it follows to have happened inside the window."""
    complete = event_type == EVENT_TYPES.index("complete")
    completed_in_time = np.zeros(len(limit), dtype=bool)
    completed_in_time[pair_row[complete]] = stamp[complete] <= limit[pair_row[complete]]
    return (event_type == EVENT_TYPES.index("rate")) & ~completed_in_time[pair_row]


def _event_frame(pairs: Pairs, pair_row: np.ndarray, event_type: np.ndarray, value: np.ndarray,
                 stamp: np.ndarray) -> pd.DataFrame:
    """Events in time order with ids E0000001...; ties broken by learner, then funnel step."""
    learner_idx = pairs.learner[pair_row]
    order = np.lexsort((event_type, pairs.resource[pair_row], learner_idx, stamp))
    return pd.DataFrame({
        "event_id": ids("E", len(order), 7),
        "learner_idx": learner_idx[order],
        "resource_idx": pairs.resource[pair_row][order],
        "event_type": labels(EVENT_TYPES, event_type[order]),
        "value": value[order],
        "timestamp": iso(stamp[order]),
    })
