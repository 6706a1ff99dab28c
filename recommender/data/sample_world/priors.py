"""The numbers behind the sample world: who the learners are, how the catalog is shaped and how
hidden taste turns into events.

Pure data, kept apart from the generators so the world can be re-tuned without reading them
(and the generators read without wading through tables). Rows of the by-group tables follow
LEARNER_GROUPS, rows of the by-category ones CATEGORIES; columns follow the vocabulary named in
each comment. Knobs that only steer the sampling machinery (rounds, oversampling) stay with it.
"""

from __future__ import annotations

import math

import numpy as np

from recommender.data.sample_world.vocabulary import TOPIC_RANK
from recommender.data.schema import CATEGORIES

# --------------------------------------------------------------------------------------------
# Who the learners are. Rows follow LEARNER_GROUPS; columns follow the named vocabulary.
# --------------------------------------------------------------------------------------------
GROUP_SHARE = np.array([0.28, 0.18, 0.12, 0.07, 0.16, 0.06, 0.05, 0.08])
AGE_BY_GROUP = np.array([  # AGE_BANDS
    [0.07, 0.32, 0.30, 0.22, 0.09, 0.00],  # employee
    [0.07, 0.14, 0.20, 0.25, 0.21, 0.13],  # rural_resident
    [0.20, 0.35, 0.27, 0.15, 0.03, 0.00],  # migrant_worker
    [0.24, 0.26, 0.20, 0.20, 0.10, 0.00],  # unemployed
    [0.00, 0.00, 0.00, 0.05, 0.45, 0.50],  # retiree
    [0.10, 0.20, 0.20, 0.20, 0.15, 0.15],  # disabled
    [0.05, 0.35, 0.30, 0.20, 0.08, 0.02],  # veteran
    [1.00, 0.00, 0.00, 0.00, 0.00, 0.00],  # youth
])
URBAN_BY_GROUP = np.array([0.85, 0.06, 0.70, 0.65, 0.62, 0.55, 0.60, 0.62])
EDUCATION_BY_GROUP = np.array([  # EDUCATION_LEVELS
    [0.01, 0.08, 0.18, 0.20, 0.43, 0.10],  # employee
    [0.22, 0.45, 0.18, 0.10, 0.05, 0.00],  # rural_resident
    [0.12, 0.46, 0.22, 0.17, 0.03, 0.00],  # migrant_worker
    [0.06, 0.30, 0.27, 0.20, 0.16, 0.01],  # unemployed
    [0.18, 0.32, 0.26, 0.08, 0.14, 0.02],  # retiree
    [0.16, 0.34, 0.24, 0.16, 0.09, 0.01],  # disabled
    [0.02, 0.20, 0.38, 0.22, 0.16, 0.02],  # veteran
    [0.01, 0.14, 0.32, 0.28, 0.23, 0.02],  # youth
])
# Preferred course level by education (LEVELS): the better schooled want harder material.
LEVEL_BY_EDUCATION = np.array([
    [0.85, 0.13, 0.02], [0.75, 0.22, 0.03], [0.50, 0.40, 0.10],
    [0.40, 0.45, 0.15], [0.25, 0.45, 0.30], [0.15, 0.40, 0.45],
])
ENGLISH_BY_EDUCATION = np.array([0.01, 0.03, 0.10, 0.08, 0.35, 0.60])
# Hidden taste: how strongly each group leans to each category (CATEGORIES order:
# vocational, digital, agriculture, health/elderly, literacy, law, culture, family, enterprise).
AFFINITY_BY_GROUP = np.array([
    [5.0, 3.0, 0.3, 1.5, 1.0, 2.0, 1.5, 2.0, 1.5],  # employee
    [1.5, 2.0, 6.0, 1.5, 1.0, 1.0, 0.7, 1.0, 3.5],  # rural_resident
    [6.0, 2.0, 0.5, 1.0, 1.5, 3.5, 0.5, 1.5, 1.5],  # migrant_worker
    [6.0, 2.5, 0.8, 0.7, 1.0, 1.5, 0.5, 0.8, 4.0],  # unemployed
    [0.3, 4.0, 0.5, 6.0, 0.7, 1.0, 5.5, 2.0, 0.2],  # retiree
    [4.0, 4.5, 0.5, 2.0, 1.5, 1.5, 1.5, 0.5, 1.5],  # disabled
    [4.5, 2.0, 1.0, 1.0, 0.7, 2.0, 1.0, 1.0, 4.5],  # veteran
    [4.0, 4.0, 0.5, 0.5, 2.5, 1.0, 2.5, 0.3, 2.5],  # youth
])
# How busy each group is relative to the mean (employees owe credit hours; retirees have time).
ACTIVITY_BY_GROUP = np.array([1.2, 0.7, 0.7, 1.0, 1.1, 0.9, 1.0, 1.0])
# How often a learner goes looking for something in person nearby (an offline or blended course
# in or next to their province) instead of browsing online: the group's mean of a personal
# propensity (beta, LOCAL_INTENT_CONCENTRATION). A stated assumption, not a measured figure:
# elder universities and community schools teach mostly in classrooms and are where retirees
# learn; township adult schools and farm-technique training reach rural residents in person;
# re-employment and skills training for job seekers, migrant workers and veterans is largely
# given at training centres; employees earn credit hours on online platforms; disabled
# learners face travel barriers; the young learn on their phones. Whether a visit ends in person
# still depends on reach: on what is offered near the learner, open at the time and acceptable.
LOCAL_INTENT_BY_GROUP = np.array([0.05, 0.30, 0.12, 0.15, 0.35, 0.06, 0.12, 0.06])
LOCAL_INTENT_CONCENTRATION = 4.0  # beta a + b: some learners of a group never go, some often
# Local hour-of-day profiles: office workers learn at lunch and in the evening, retirees in the
# morning and afternoon, farmers early and after dark.
_HOURS = np.arange(24)


def _hour_profile(*peaks: tuple[float, float, float]) -> np.ndarray:
    """A 24-hour activity profile from (centre, width, height) peaks; nights stay quiet."""
    weights = np.full(24, 0.05)
    for centre, width, height in peaks:
        weights += height * np.exp(-0.5 * ((_HOURS - centre) / width) ** 2)
    weights[1:6] *= 0.1
    return weights / weights.sum()


_EVENING = _hour_profile((12.5, 1.0, 0.6), (20.5, 1.6, 1.0))
_DAYTIME = _hour_profile((9.5, 1.5, 1.0), (15.0, 1.5, 0.8), (19.5, 1.0, 0.4))
_FARMER = _hour_profile((6.5, 1.0, 0.5), (13.0, 1.0, 0.5), (20.5, 1.2, 1.0))
_LATE = _hour_profile((14.0, 2.0, 0.5), (22.0, 1.5, 1.0))
HOURS_BY_GROUP = np.vstack([_EVENING, _FARMER, _LATE, _DAYTIME, _DAYTIME, _DAYTIME, _EVENING,
                            _LATE])
TASTE_CONCENTRATION = 0.4  # gamma shape of personal category taste: lower = more focused
MIN_EVENTS = 2  # the fewest events a learner leaves (unless events_per_learner asks for fewer)

# --------------------------------------------------------------------------------------------
# Topics: within a category, earlier topics are asked for (and produced) more: Zipf by position.
# --------------------------------------------------------------------------------------------
TOPIC_WEIGHT = 1.0 / (1.0 + TOPIC_RANK) ** 0.8
RESOURCES_PER_TOPIC = 8  # a small catalog keeps about this many resources per topic


def topic_weights(n_resources: int) -> np.ndarray:
    """How often each topic is asked for and offered; a small catalog covers only core topics.

    Limiting a small catalog to the most asked-for topics of each category keeps several
    resources per topic, as on a real small platform, instead of one resource per niche.
    """
    per_category = max(3, math.ceil(n_resources / len(CATEGORIES) / RESOURCES_PER_TOPIC))
    core = TOPIC_RANK < per_category
    return np.where(core, TOPIC_WEIGHT, 0.0)


# --------------------------------------------------------------------------------------------
# The catalog: how categories map to levels, providers, modes and formats.
# --------------------------------------------------------------------------------------------
CATEGORY_SHARE = np.array([0.20, 0.15, 0.12, 0.13, 0.06, 0.08, 0.12, 0.07, 0.07])
LEVEL_BY_CATEGORY = np.array([
    [0.45, 0.38, 0.17], [0.70, 0.25, 0.05], [0.50, 0.38, 0.12], [0.60, 0.32, 0.08],
    [0.75, 0.20, 0.05], [0.60, 0.32, 0.08], [0.55, 0.33, 0.12], [0.60, 0.32, 0.08],
    [0.45, 0.40, 0.15],
])
PROVIDER_TYPE_BY_CATEGORY = np.array([  # PROVIDER_TYPES
    [0.18, 0.10, 0.07, 0.40, 0.23, 0.02],
    [0.25, 0.20, 0.30, 0.05, 0.15, 0.05],
    [0.25, 0.10, 0.15, 0.35, 0.15, 0.00],
    [0.30, 0.25, 0.30, 0.05, 0.08, 0.02],
    [0.30, 0.20, 0.25, 0.00, 0.00, 0.25],
    [0.35, 0.20, 0.25, 0.05, 0.00, 0.15],
    [0.15, 0.20, 0.30, 0.00, 0.00, 0.35],
    [0.30, 0.25, 0.35, 0.00, 0.05, 0.05],
    [0.25, 0.15, 0.10, 0.20, 0.30, 0.00],
])
MODE_BY_PROVIDER_TYPE = np.array([  # MODES: online, offline, blended
    [0.92, 0.01, 0.07], [0.72, 0.16, 0.12], [0.50, 0.40, 0.10],
    [0.70, 0.15, 0.15], [0.95, 0.03, 0.02], [0.65, 0.27, 0.08],
])
LANGUAGE_SHARE = {"en": 0.11, "bo": 0.015, "ug": 0.015}  # the rest is Chinese
BILINGUAL_TITLE_SHARE = 0.08
ZIPF_EXPONENT = 0.85  # hidden popularity of the i-th most popular resource ~ 1 / i**s
CATALOG_EXISTING_SHARE = 0.75  # the rest of the catalog is published during the window
SCHEDULED_ONLINE_SHARE = 0.10  # online courses that run as dated sessions (MOOC-like)
CURRENT_SESSION_SHARE = 0.35  # dated sessions running at the as-of moment
UPCOMING_DAYS = 60  # dated sessions are announced up to this long before they open
# Accessibility features per mode (ACCESSIBILITY_FEATURES order) and the elder-care bonus.
ACCESS_BY_MODE = np.array([
    [0.70, 0.20, 0.08, 0.03, 0.12, 0.08],  # online: videos mostly captioned
    [0.04, 0.08, 0.20, 0.06, 0.02, 0.10],  # offline
    [0.40, 0.15, 0.15, 0.04, 0.08, 0.08],  # blended
])
# Format by mode: micro-lesson, short talk or workshop, course.
FORMAT_BY_MODE = np.array([[0.45, 0.30, 0.25], [0.0, 0.40, 0.60], [0.0, 0.0, 1.0]])

# --------------------------------------------------------------------------------------------
# How hidden preferences become events.
# --------------------------------------------------------------------------------------------
INTENT_SHARE = np.array([0.60, 0.28, 0.12])  # own topic, favourite category, browse popular
# (a visit that looks for something nearby, LOCAL_INTENT_BY_GROUP, comes before these)
POPULARITY_WITHIN_TASTE = 0.3  # learners who know what they want look past the bestsellers
STATED_TOPIC_WEIGHTS = np.array([0.55, 0.28, 0.17])  # the first interest named matters most
EMERGING_TOPIC_SHARE = 0.25  # once a new need appears, this share of topic intents go to it
LEVEL_FIT = np.array([1.0, 0.4, 0.1])  # by distance between resource and preferred level
FOREIGN_LANGUAGE_FIT = 0.03
# A resource that fails a barrier the learner declared a need for (the delivery filter's rule,
# schema.NEED_GROUPS): a learner who declares a need means it (a deaf learner does not sit
# through an uncaptioned video), so only this share of their visits may settle for one, and
# then it is hard to use (its fit, which drives how far the funnel goes, is scaled by
# INACCESSIBLE_FIT).
NEED_TOLERANCE = 0.05
INACCESSIBLE_FIT = 0.3
NEIGHBOUR_FIT = 0.25  # an offline course one province away
DISMISS_SHARE = 0.04  # of clear mismatches shown to a learner, how many get dismissed
ENROLL_BASE, ENROLL_GAIN = 0.12, 0.75
REVISIT_SHARE = 0.25  # of repeat encounters, how many come back as a plain view
