"""Encounters: which learner meets which resource, and when.

A learner comes looking at an hour typical of their group, with an intent (something in person
near home, one of their own topics, a favourite category, or just the bestsellers); a resource
is proposed accordingly and taken only if it suits them (level, language, accessibility, place,
credit) and is open at the time. Which resources get met is therefore driven by hidden taste; what each encounter then turns
into is up to :mod:`recommender.data.sample_world.events`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.data.sample_world.arrays import (
    BEIJING_OFFSET,
    DAY,
    HOUR,
    GroupedSampler,
    Window,
    sample_rows,
)
from recommender.data.sample_world.catalog import Resources
from recommender.data.sample_world.learners import Learners
from recommender.data.sample_world.priors import (
    DISMISS_SHARE,
    EMERGING_TOPIC_SHARE,
    FOREIGN_LANGUAGE_FIT,
    HOURS_BY_GROUP,
    INTENT_SHARE,
    INACCESSIBLE_FIT,
    LEVEL_FIT,
    NEED_TOLERANCE,
    NEIGHBOUR_FIT,
    POPULARITY_WITHIN_TASTE,
    STATED_TOPIC_WEIGHTS,
)
from recommender.data.sample_world.vocabulary import N_TOPICS, REGION_NEIGHBOURS
from recommender.data.schema import (
    ACCESSIBILITY_FEATURES,
    CATEGORIES,
    LEARNER_GROUPS,
    NEED_GROUPS,
)

_INTENT_TOPIC, _INTENT_CATEGORY, _INTENT_BROWSE = 0, 1, 2  # the order of INTENT_SHARE
# In person near home (LOCAL_INTENT_BY_GROUP): first in a favourite category, then whatever is
# on nearby, then the favourite category online.
_INTENT_LOCAL, _INTENT_LOCAL_ANY = 3, 4
_NEXT_INTENT = np.array([_INTENT_CATEGORY, _INTENT_BROWSE, _INTENT_BROWSE, _INTENT_LOCAL_ANY,
                         _INTENT_CATEGORY])  # what each intent gives up to
# one bitmask per barrier: a resource suits a need only if it meets every barrier declared
_BARRIER_BITS = np.array([sum(1 << ACCESSIBILITY_FEATURES.index(f) for f in features)
                          for features in NEED_GROUPS.values()], dtype=np.int64)
_MAX_ROUNDS = 40
_NEARBY_DRAWS = 8  # draws per round for a visit looking nearby, until one is open


@dataclass
class Pairs:
    """Learner-resource encounters, one row each."""

    learner: np.ndarray
    time: np.ndarray
    resource: np.ndarray
    dismissed: np.ndarray

    def take(self, rows: np.ndarray) -> Pairs:
        return Pairs(self.learner[rows], self.time[rows], self.resource[rows],
                     self.dismissed[rows])


def encounter(learner_idx: np.ndarray, learners: Learners, resources: Resources, window: Window,
              rng: np.random.Generator) -> Pairs:
    """One try per entry of ``learner_idx``; tries that find nothing acceptable are dropped."""
    times = _encounter_times(learner_idx, learners, rng)
    return _choose_resources(learner_idx, times, learners, resources, window, rng)


def fit(learner_idx: np.ndarray, resource_idx: np.ndarray, learners: Learners,
        resources: Resources) -> np.ndarray:
    """How acceptable a resource is to a learner (0..1), apart from topic and category taste."""
    level = LEVEL_FIT[np.abs(resources.level_idx[resource_idx]
                             - learners.preferred_level[learner_idx])]
    speaks = (learners.language_flags[learner_idx] & resources.language_flags[resource_idx]) > 0
    language = np.where(speaks, 1.0, FOREIGN_LANGUAGE_FIT)
    access = np.where(meets_needs(learners.need_flags[learner_idx],
                                  resources.feature_flags[resource_idx]), 1.0, INACCESSIBLE_FIT)
    region = resources.region_idx[resource_idx]
    home = learners.region_idx[learner_idx]
    in_person = resources.mode_idx[resource_idx] > 0
    same = region == home
    nearby = REGION_NEIGHBOURS[home, np.maximum(region, 0)]
    place = np.where(~in_person | same, 1.0, np.where(nearby, NEIGHBOUR_FIT, 0.0))
    credit = np.where(learners.wants_credit[learner_idx] & ~resources.has_credit[resource_idx],
                      0.6, 1.0)
    return level * language * access * place * credit


def meets_needs(need_flags: np.ndarray, feature_flags: np.ndarray) -> np.ndarray:
    """Whether each resource meets each learner's needs by the delivery filter's rule
    (:data:`~recommender.data.schema.NEED_GROUPS`): for every barrier the learner declared a
    need in, the resource offers at least one of the needs declared for it."""
    wanted = need_flags[:, None] & _BARRIER_BITS[None, :]
    return ((wanted == 0) | ((feature_flags[:, None] & wanted) != 0)).all(axis=1)


def _encounter_times(
    learner_idx: np.ndarray, learners: Learners, rng: np.random.Generator
) -> np.ndarray:
    """A day inside the learner's active stretch, at an hour typical for their group."""
    low, high = learners.active_from[learner_idx], learners.active_until[learner_idx]
    moment = low + rng.random(len(learner_idx)) * (high - low)
    local_day = np.floor((moment + BEIJING_OFFSET) / DAY)
    hour = np.empty(len(learner_idx), dtype=np.int64)
    group = learners.group_idx[learner_idx]
    for group_idx in range(len(LEARNER_GROUPS)):
        rows = group == group_idx
        hour[rows] = rng.choice(24, size=int(rows.sum()), p=HOURS_BY_GROUP[group_idx])
    local = local_day * DAY + hour * HOUR + rng.integers(0, HOUR, size=len(hour))
    return np.clip(local - BEIJING_OFFSET, low, np.maximum(high - 1, low)).astype(np.int64)


def _is_open(resource_idx: np.ndarray, times: np.ndarray, resources: Resources) -> np.ndarray:
    """Whether each resource exists and, if scheduled, is open at each time."""
    return ((resources.created[resource_idx] <= times)
            & (resources.open_from[resource_idx] <= times)
            & (times <= resources.open_until[resource_idx]))


def _choose_resources(learner_idx: np.ndarray, times: np.ndarray, learners: Learners,
                      resources: Resources, window: Window, rng: np.random.Generator) -> Pairs:
    """Rejection sampling: propose by intent and popularity, accept by fit and availability.

    Proposals come from in-person resources of a favourite category in or next to the learner's
    province (as often as the learner's ``local_propensity``; a visit that finds none open
    and suitable turns to the category online), the learner's own topics (the emerging one
    after it appears), a favourite category (drifting through the year) or the global
    bestsellers; they are accepted with the probability given by :func:`fit` and only while
    the resource is open; one failing the learner's declared needs only on the rare visit that
    tolerates it (:data:`NEED_TOLERANCE`), and it is passed over, not dismissed (the learner
    sees it lacks what they need). Other clear mismatches are sometimes dismissed, which is
    where dismiss events come from.
    """
    n = len(learner_idx)
    resource_idx = np.arange(len(resources.category_idx))
    has_second = resources.topics[:, 1] >= 0
    entries = np.concatenate([resource_idx, resource_idx[has_second]])
    entry_topics = np.concatenate([resources.topics[:, 0], resources.topics[has_second, 1]])
    taste_weight = resources.popularity ** POPULARITY_WITHIN_TASTE
    by_topic = GroupedSampler(entry_topics, entries, taste_weight[entries], N_TOPICS)
    by_category = GroupedSampler(resources.category_idx, resource_idx, taste_weight,
                                 len(CATEGORIES))
    overall = GroupedSampler(np.zeros_like(resource_idx), resource_idx, resources.popularity, 1)
    nearby, nearby_any = _nearby_samplers(resources, taste_weight)

    category = _drifting_categories(learner_idx, window.progress(times), learners, rng)
    topic = _pair_topics(learner_idx, times, learners, rng)
    intent = rng.choice(3, size=n, p=INTENT_SHARE)
    goes_out = rng.random(n) < learners.local_propensity[learner_idx]
    intent = np.where(goes_out, _INTENT_LOCAL, intent)
    home = learners.region_idx[learner_idx]
    near_key = home * len(CATEGORIES) + category
    tolerant = rng.random(n) < NEED_TOLERANCE
    topic_offered = (topic >= 0) & by_topic.has[np.maximum(topic, 0)]
    intent = np.where((intent == _INTENT_TOPIC) & ~topic_offered, _INTENT_CATEGORY, intent)

    no_key = np.zeros(n, dtype=np.int64)
    chosen = np.full(n, -1)
    dismissed = np.zeros(n, dtype=bool)
    waiting = np.arange(n)
    for round_no in range(_MAX_ROUNDS):
        if waiting.size == 0:
            break
        if round_no == _MAX_ROUNDS // 4:  # nothing of the favourite category on nearby
            intent[waiting] = np.where(intent[waiting] == _INTENT_LOCAL, _INTENT_LOCAL_ANY,
                                       intent[waiting])
        if round_no in (_MAX_ROUNDS // 2, 3 * _MAX_ROUNDS // 4):  # give up on narrow intents
            intent[waiting] = _NEXT_INTENT[intent[waiting]]
        want = intent[waiting]
        want = np.where((want == _INTENT_LOCAL) & ~nearby.has[near_key[waiting]],
                        _INTENT_LOCAL_ANY, want)
        want = np.where((want == _INTENT_LOCAL_ANY) & ~nearby_any.has[home[waiting]],
                        _INTENT_CATEGORY, want)
        want = np.where((want == _INTENT_CATEGORY) & ~by_category.has[category[waiting]],
                        _INTENT_BROWSE, want)
        proposal = np.empty(waiting.size, dtype=np.int64)
        for kind, sampler, keys in ((_INTENT_TOPIC, by_topic, topic),
                                    (_INTENT_CATEGORY, by_category, category),
                                    (_INTENT_BROWSE, overall, no_key),
                                    (_INTENT_LOCAL, nearby, near_key),
                                    (_INTENT_LOCAL_ANY, nearby_any, home)):
            rows = want == kind
            proposal[rows] = sampler.sample(keys[waiting[rows]], rng)
        open_now = _is_open(proposal, times[waiting], resources)
        # nearby, the learner looks at what is on now (the "near me" listing): redraw closed ones
        for _ in range(_NEARBY_DRAWS):
            redraw = np.flatnonzero(~open_now & (want >= _INTENT_LOCAL))
            if redraw.size == 0:
                break
            for kind, sampler, keys in ((_INTENT_LOCAL, nearby, near_key),
                                        (_INTENT_LOCAL_ANY, nearby_any, home)):
                rows = redraw[want[redraw] == kind]
                proposal[rows] = sampler.sample(keys[waiting[rows]], rng)
            open_now[redraw] = _is_open(proposal[redraw], times[waiting[redraw]], resources)
        suits = fit(learner_idx[waiting], proposal, learners, resources)
        usable = tolerant[waiting] | meets_needs(learners.need_flags[learner_idx[waiting]],
                                                 resources.feature_flags[proposal])
        accept = open_now & usable & (rng.random(waiting.size) < suits)
        dismiss = (open_now & usable & ~accept & (suits < 0.35)
                   & (rng.random(waiting.size) < DISMISS_SHARE))
        done = accept | dismiss
        chosen[waiting[done]] = proposal[done]
        dismissed[waiting[done]] = dismiss[done]
        waiting = waiting[~done]
    found = chosen >= 0
    return Pairs(learner_idx[found], times[found], chosen[found], dismissed[found])


def _nearby_samplers(
    resources: Resources, weight: np.ndarray
) -> tuple[GroupedSampler, GroupedSampler]:
    """In-person resources keyed by (home province, category) and by home province alone,
    listed under every province they are local to: their own and its neighbours (where fewer
    get accepted, NEIGHBOUR_FIT)."""
    n_regions = len(REGION_NEIGHBOURS)
    in_person = np.flatnonzero((resources.mode_idx > 0) & (resources.region_idx >= 0))
    region = resources.region_idx[in_person]
    near = REGION_NEIGHBOURS[:, region] | (np.arange(n_regions)[:, None] == region[None, :])
    home, column = np.nonzero(near)
    items = in_person[column]
    by_category = GroupedSampler(home * len(CATEGORIES) + resources.category_idx[items], items,
                                 weight[items], n_regions * len(CATEGORIES))
    return by_category, GroupedSampler(home, items, weight[items], n_regions)


def _drifting_categories(learner_idx: np.ndarray, progress: np.ndarray, learners: Learners,
                         rng: np.random.Generator) -> np.ndarray:
    """A favourite category per encounter, from the start-of-year taste or the end-of-year one
    with odds that move through the year (a mixture, so taste drifts smoothly)."""
    n_learners, n_categories = learners.affinity_start.shape
    owners = np.repeat(np.arange(n_learners), n_categories)
    categories = np.tile(np.arange(n_categories), n_learners)
    late = rng.random(len(learner_idx)) < progress
    category = np.empty(len(learner_idx), dtype=np.int64)
    for taste, rows in ((learners.affinity_start, ~late), (learners.affinity_end, late)):
        sampler = GroupedSampler(owners, categories, taste.ravel(), n_learners)
        category[rows] = sampler.sample(learner_idx[rows], rng)
    return category


def _pair_topics(learner_idx: np.ndarray, times: np.ndarray, learners: Learners,
                 rng: np.random.Generator) -> np.ndarray:
    """One of the learner's stated topics, or the emerging one once it has appeared."""
    stated = learners.topics[learner_idx]
    weights = np.where(stated >= 0, STATED_TOPIC_WEIGHTS, 0.0)
    pick = sample_rows(weights, rng)
    topic = stated[np.arange(len(learner_idx)), pick]
    emerged = ((times >= learners.emerging_from[learner_idx])
               & (rng.random(len(learner_idx)) < EMERGING_TOPIC_SHARE))
    return np.where(emerged, learners.emerging_topic[learner_idx], topic)
