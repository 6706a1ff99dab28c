"""Learner profiles: the visible learner table and the hidden state that drives each learner's
events (taste that drifts over the year, stated and emerging topics, needs, activity).

A learner's group comes first and everything else is drawn given it, so groups differ the way
the policies expect them to (retirees are older, rural residents farm, employees owe credit
hours). Only the table reaches the output; models must infer the rest from events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.data.sample_world.arrays import (
    DAY,
    Window,
    ids,
    iso,
    join_flags,
    labels,
    sample_rows,
    sample_topics,
)
from recommender.data.sample_world.priors import (
    ACTIVITY_BY_GROUP,
    AFFINITY_BY_GROUP,
    AGE_BY_GROUP,
    EDUCATION_BY_GROUP,
    ENGLISH_BY_EDUCATION,
    GROUP_SHARE,
    LEVEL_BY_EDUCATION,
    LOCAL_INTENT_BY_GROUP,
    LOCAL_INTENT_CONCENTRATION,
    MIN_EVENTS,
    TASTE_CONCENTRATION,
    URBAN_BY_GROUP,
)
from recommender.data.sample_world.text import interests_text
from recommender.data.sample_world.vocabulary import (
    AGE_BANDS,
    EDUCATION_LEVELS,
    LANGUAGES,
    MUNICIPALITIES,
    REGION_IDS,
    REGION_SHARE,
    REGIONS,
)
from recommender.data.schema import ACCESSIBILITY_FEATURES, LEARNER_GROUPS


@dataclass(frozen=True)
class Learners:
    """Visible learner table plus the hidden state that drives their events."""

    table: pd.DataFrame
    group_idx: np.ndarray
    region_idx: np.ndarray
    language_flags: np.ndarray  # bit per LANGUAGES member
    need_flags: np.ndarray  # bit per ACCESSIBILITY_FEATURES member
    local_propensity: np.ndarray  # share of visits looking for something in person nearby
    preferred_level: np.ndarray
    wants_credit: np.ndarray
    affinity_start: np.ndarray  # (n, categories) at the start of the window
    affinity_end: np.ndarray  # ... and at its end; interests drift linearly between
    topics: np.ndarray  # (n, 3) stated topic interests, -1 where absent
    emerging_topic: np.ndarray  # a new need, not stated, that appears at emerging_from
    emerging_from: np.ndarray
    diligence: np.ndarray  # how likely this learner finishes what they start
    active_from: np.ndarray
    active_until: np.ndarray
    target_events: np.ndarray


def make_learners(
    n: int, epl: float, window: Window, topic_weight: np.ndarray, rng: np.random.Generator
) -> Learners:
    """Learners: group first, then everything that depends on it (age, place, needs, taste)."""
    group_idx = rng.choice(len(LEARNER_GROUPS), size=n, p=GROUP_SHARE)
    group_idx[: min(n, len(LEARNER_GROUPS))] = np.arange(min(n, len(LEARNER_GROUPS)))
    age_idx = sample_rows(AGE_BY_GROUP[group_idx], rng)
    region_idx = rng.choice(len(REGIONS), size=n, p=REGION_SHARE)
    urban_p = np.clip(URBAN_BY_GROUP[group_idx] + 0.15 * MUNICIPALITIES[region_idx], 0, 0.97)
    urban = rng.random(n) < urban_p
    education_idx = sample_rows(EDUCATION_BY_GROUP[group_idx], rng)
    education_idx = np.where(age_idx == 5, np.minimum(education_idx, 4), education_idx)
    preferred_level = sample_rows(LEVEL_BY_EDUCATION[education_idx], rng)
    language_flags = _learner_languages(group_idx, region_idx, education_idx, rng)
    need_flags = _learner_needs(group_idx, age_idx, rng)
    local_propensity = _local_propensity(group_idx, rng)
    affinity_start, affinity_end = _learner_affinities(group_idx, rng)
    topics = _learner_topics(affinity_start, topic_weight, rng)
    joins_during = rng.random(n) < 0.3  # the others registered in the three years before
    created = window.arrivals(joins_during, 3, 0.85, rng)
    active_from, active_until = _active_windows(created, window, rng)
    emerging_topic = sample_topics(sample_rows(affinity_end, rng), topic_weight, rng)
    emerging_from = (active_from + rng.random(n) * (active_until - active_from)).astype(np.int64)
    wants_credit, credit_required = _credit_hours(group_idx, rng)
    target = _activity(group_idx, epl, rng)
    table = pd.DataFrame({
        "learner_id": ids("L", n, 6),
        "group": labels(LEARNER_GROUPS, group_idx),
        "age_band": labels(AGE_BANDS, age_idx),
        "region": REGION_IDS[region_idx],
        "urban_rural": np.where(urban, "urban", "rural").astype(object),
        "education_level": labels(EDUCATION_LEVELS, education_idx),
        "languages": join_flags(language_flags, LANGUAGES),
        "accessibility_needs": join_flags(need_flags, ACCESSIBILITY_FEATURES),
        "interests": interests_text(topics, language_flags, rng),
        "credit_hours_required": credit_required,
        "created_at": iso(created),
    })
    return Learners(
        table=table, group_idx=group_idx, region_idx=region_idx, language_flags=language_flags,
        need_flags=need_flags, local_propensity=local_propensity,
        preferred_level=preferred_level,
        wants_credit=wants_credit, affinity_start=affinity_start, affinity_end=affinity_end,
        topics=topics, emerging_topic=emerging_topic, emerging_from=emerging_from,
        diligence=rng.beta(2.0, 2.0, size=n), active_from=active_from,
        active_until=active_until, target_events=target,
    )


def _learner_languages(
    group_idx: np.ndarray, region_idx: np.ndarray, education_idx: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Everyone reads Chinese; some also English; a few Tibetan or Uyghur alongside it."""
    n = len(group_idx)
    youth = group_idx == LEARNER_GROUPS.index("youth")
    english = rng.random(n) < ENGLISH_BY_EDUCATION[education_idx] + 0.15 * youth
    region = REGION_IDS[region_idx]
    tibetan_p = np.select([region == "xizang", region == "sichuan"], [0.6, 0.04], 0.002)
    tibetan = rng.random(n) < tibetan_p
    migrant = group_idx == LEARNER_GROUPS.index("migrant_worker")
    uyghur = ~tibetan & (rng.random(n) < np.where(migrant, 0.04, 0.005))
    return (1 | english << 1 | tibetan << 2 | uyghur << 3).astype(np.int64)


def _feature_bits(*names: str) -> int:
    """The bitmask of the named accessibility features."""
    return sum(1 << ACCESSIBILITY_FEATURES.index(name) for name in names)


def _learner_needs(
    group_idx: np.ndarray, age_idx: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Most disabled learners need one or two features; older learners sometimes large print."""
    n = len(group_idx)
    needs = np.zeros(n, dtype=np.int64)
    disabled = (group_idx == LEARNER_GROUPS.index("disabled")) & (rng.random(n) < 0.88)
    kind = rng.choice(4, size=n, p=[0.35, 0.2, 0.2, 0.25])  # hearing, blind, low vision, cognitive
    extra = rng.random(n) < 0.45
    options = [
        (_feature_bits("captions"), _feature_bits("sign_language")),
        (_feature_bits("screen_reader"), _feature_bits("audio")),
        (_feature_bits("large_print"), _feature_bits("audio")),
        (_feature_bits("easy_read"), _feature_bits("audio")),
    ]
    for k, (base, more) in enumerate(options):
        rows = disabled & (kind == k)
        needs[rows] = base | np.where(extra[rows], more, 0)
    older = (group_idx == LEARNER_GROUPS.index("retiree")) | (age_idx == 5)
    needs |= np.where(older & (rng.random(n) < 0.25), _feature_bits("large_print"), 0)
    needs |= np.where(older & (rng.random(n) < 0.10), _feature_bits("audio"), 0)
    others = (needs == 0) & (rng.random(n) < 0.02)
    some = np.array([_feature_bits(f) for f in ("captions", "large_print", "audio")])
    needs[others] = rng.choice(some, size=int(others.sum()))
    return needs


def _local_propensity(group_idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each learner's share of visits looking for something in person nearby: a beta draw
    around the group's mean (:data:`LOCAL_INTENT_BY_GROUP`)."""
    mean = LOCAL_INTENT_BY_GROUP[group_idx]
    return rng.beta(mean * LOCAL_INTENT_CONCENTRATION, (1 - mean) * LOCAL_INTENT_CONCENTRATION)


def _learner_affinities(
    group_idx: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Group taste times a personal, concentrated twist; later in the year it drifts."""
    base = AFFINITY_BY_GROUP[group_idx]
    start = _personal_taste(base, rng)
    fresh = _personal_taste(base, rng)
    drift = rng.uniform(0.2, 0.7, size=(len(base), 1))
    return start, (1 - drift) * start + drift * fresh


def _personal_taste(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Category shares: each group weight scaled by a personal gamma draw, then normalised."""
    taste = base * rng.gamma(TASTE_CONCENTRATION, size=base.shape) + 1e-3
    return taste / taste.sum(axis=1, keepdims=True)


def _learner_topics(
    affinity: np.ndarray, topic_weight: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One to three distinct topic interests, from the learner's favourite categories."""
    n = len(affinity)
    count = 1 + rng.binomial(2, 0.45, size=n)
    topics = np.full((n, 3), -1)
    for slot in range(3):
        drawn = sample_topics(sample_rows(affinity, rng), topic_weight, rng)
        repeated = (topics[:, :slot] == drawn[:, None]).any(axis=1)
        topics[:, slot] = np.where((slot < count) & ~repeated, drawn, -1)
    return topics


def _active_windows(
    created: np.ndarray, window: Window, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The stretch of the year each learner is active in (some stay all year, some drop out)."""
    first = np.maximum(created, window.start)
    available = window.end - first
    span = available * rng.beta(1.5, 0.7, size=len(created))
    span = np.maximum(span, np.minimum(available, 7 * DAY))
    begin = first + rng.random(len(created)) * (available - span)
    return begin.astype(np.int64), (begin + span).astype(np.int64)


def _credit_hours(group_idx: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Employees owe 72 class hours a year; some veterans and job seekers owe fewer."""
    n = len(group_idx)
    draw = rng.random(n)
    hours = np.full(n, np.nan)
    employee = group_idx == LEARNER_GROUPS.index("employee")
    hours[employee & (draw < 0.82)] = 72.0
    hours[employee & (draw >= 0.82) & (draw < 0.92)] = 48.0
    veteran = group_idx == LEARNER_GROUPS.index("veteran")
    hours[veteran & (draw < 0.35)] = 72.0
    seekers = np.isin(group_idx, [LEARNER_GROUPS.index("migrant_worker"),
                                  LEARNER_GROUPS.index("unemployed")])
    hours[seekers & (draw < 0.15)] = 24.0
    return ~np.isnan(hours), hours


def _activity(group_idx: np.ndarray, epl: float, rng: np.random.Generator) -> np.ndarray:
    """Heavy-tailed events per learner (lognormal), mean about ``epl``, never below two."""
    sigma = 1.1
    raw = rng.lognormal(0.0, sigma, size=len(group_idx)) * ACTIVITY_BY_GROUP[group_idx]
    scaled = raw * epl / max(raw.mean(), 1e-9)
    floor = min(MIN_EVENTS, max(1, int(epl)))
    return np.clip(np.rint(scaled), floor, 60 * epl + floor).astype(np.int64)
