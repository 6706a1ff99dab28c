"""The catalog: the visible resource table and the hidden popularity that shapes events.

A resource's category comes first and everything else is drawn given it (topics, level,
provider, mode, format, accessibility, schedule), so the catalog hangs together the way a real
one does: agricultural courses come from vocational schools, offline ones sit in a province,
and courses run as dated sessions that open and close during the year, some of them running
at the world's as-of moment and some still to come.
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
    ACCESS_BY_MODE,
    BILINGUAL_TITLE_SHARE,
    CATALOG_EXISTING_SHARE,
    CATEGORY_SHARE,
    CURRENT_SESSION_SHARE,
    FORMAT_BY_MODE,
    LANGUAGE_SHARE,
    LEVEL_BY_CATEGORY,
    MODE_BY_PROVIDER_TYPE,
    PROVIDER_TYPE_BY_CATEGORY,
    SCHEDULED_ONLINE_SHARE,
    UPCOMING_DAYS,
    ZIPF_EXPONENT,
)
from recommender.data.sample_world.text import (
    descriptions,
    provider_names,
    tags,
    titles,
)
from recommender.data.sample_world.vocabulary import (
    LANGUAGES,
    REGION_IDS,
    REGION_INDEX,
    REGION_SHARE,
    REGIONS,
)
from recommender.data.schema import (
    ACCESSIBILITY_FEATURES,
    CATEGORIES,
    LEVELS,
    MODES,
    PROVIDER_TYPES,
)


@dataclass(frozen=True)
class Resources:
    """Visible resource table plus the hidden popularity that shapes events."""

    table: pd.DataFrame
    category_idx: np.ndarray
    topics: np.ndarray  # (n, 2), -1 where absent
    level_idx: np.ndarray
    language_flags: np.ndarray
    feature_flags: np.ndarray
    mode_idx: np.ndarray
    region_idx: np.ndarray  # -1 for national online resources
    format_idx: np.ndarray
    duration: np.ndarray
    has_credit: np.ndarray
    created: np.ndarray
    open_from: np.ndarray  # epoch seconds; always-open resources span everything
    open_until: np.ndarray
    popularity: np.ndarray


def make_resources(
    n: int, window: Window, topic_weight: np.ndarray, rng: np.random.Generator
) -> Resources:
    """The catalog: category and topics first, then provider, mode, format, text, schedule."""
    category_idx = rng.choice(len(CATEGORIES), size=n, p=CATEGORY_SHARE)
    category_idx[: min(n, len(CATEGORIES))] = np.arange(min(n, len(CATEGORIES)))
    topics = _resource_topics(category_idx, topic_weight, rng)
    level_idx = sample_rows(LEVEL_BY_CATEGORY[category_idx], rng)
    provider_type_idx = sample_rows(PROVIDER_TYPE_BY_CATEGORY[category_idx], rng)
    mode_idx = sample_rows(MODE_BY_PROVIDER_TYPE[provider_type_idx], rng)
    language_idx = _resource_languages(n, mode_idx, rng)
    region_idx = _resource_regions(mode_idx, language_idx, rng)
    format_idx = sample_rows(FORMAT_BY_MODE[mode_idx], rng)
    duration = _durations(format_idx, rng)
    credit = _credit(format_idx, duration, rng)
    features = _features(mode_idx, category_idx, rng)
    created, open_from, open_until, scheduled = _schedule(mode_idx, format_idx, window, rng)
    provider = provider_names(provider_type_idx, region_idx, rng)
    bilingual = (language_idx == 0) & (rng.random(n) < BILINGUAL_TITLE_SHARE)
    title = titles(topics, level_idx, format_idx, mode_idx, language_idx, bilingual, duration, rng)
    description = descriptions(topics, category_idx, level_idx, format_idx, mode_idx,
                               language_idx, provider, credit)
    popularity = 1.0 / (1.0 + rng.permutation(n)) ** ZIPF_EXPONENT
    popularity *= np.where(region_idx < 0, 1.5, 1.0)  # national platforms reach further
    table = pd.DataFrame({
        "resource_id": ids("R", n, 5),
        "title": title,
        "description": description,
        "language": labels(LANGUAGES, language_idx),
        "category": labels(CATEGORIES, category_idx),
        "tags": tags(topics),
        "provider": provider,
        "provider_type": labels(PROVIDER_TYPES, provider_type_idx),
        "mode": labels(MODES, mode_idx),
        "region": np.where(region_idx >= 0, REGION_IDS[np.maximum(region_idx, 0)], None),
        "duration_minutes": duration,
        "credit_hours": credit,
        "level": labels(LEVELS, level_idx),
        "accessibility": join_flags(features, ACCESSIBILITY_FEATURES),
        "available_from": iso(np.where(scheduled, open_from, np.nan)),
        "available_until": iso(np.where(scheduled, open_until, np.nan)),
        "created_at": iso(created),
    })
    return Resources(
        table=table, category_idx=category_idx, topics=topics, level_idx=level_idx,
        language_flags=(1 << language_idx).astype(np.int64), feature_flags=features,
        mode_idx=mode_idx, region_idx=region_idx, format_idx=format_idx, duration=duration,
        has_credit=credit > 0, created=created, open_from=open_from, open_until=open_until,
        popularity=popularity,
    )


def _resource_topics(
    category_idx: np.ndarray, topic_weight: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A main topic and, for some, a second one of the same category."""
    main = sample_topics(category_idx, topic_weight, rng)
    second = sample_topics(category_idx, topic_weight, rng)
    keep = (rng.random(len(main)) < 0.4) & (second != main)
    return np.column_stack([main, np.where(keep, second, -1)])


def _resource_languages(n: int, mode_idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mostly Chinese; English mostly online; a few in Tibetan or Uyghur."""
    draw = rng.random(n)
    english = LANGUAGE_SHARE["en"] * np.where(mode_idx == 0, 1.2, 0.4)
    tibetan = english + LANGUAGE_SHARE["bo"]
    uyghur = tibetan + LANGUAGE_SHARE["ug"]
    language = np.select([draw < english, draw < tibetan, draw < uyghur], [1, 2, 3], 0)
    if n >= 2 and not (language == 1).any():  # a catalog always has some English
        language[1] = 1
    return language


def _resource_regions(
    mode_idx: np.ndarray, language_idx: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Offline and blended resources sit in a province; half the online ones are national."""
    n = len(mode_idx)
    region = rng.choice(len(REGIONS), size=n, p=REGION_SHARE)
    tibetan = language_idx == 2
    xizang, sichuan = REGION_INDEX["xizang"], REGION_INDEX["sichuan"]
    region[tibetan] = np.where(rng.random(int(tibetan.sum())) < 0.7, xizang, sichuan)
    national = (mode_idx == 0) & (rng.random(n) < 0.5)
    return np.where(national, -1, region)


def _durations(format_idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Micro-lessons of 5-20 minutes, talks of 30-240, courses of 6-40 hours."""
    n = len(format_idx)
    micro = rng.integers(5, 21, size=n).astype(float)
    short = 5.0 * np.rint(rng.uniform(30, 240, size=n) / 5)
    course = 30.0 * np.rint(np.exp(rng.uniform(np.log(360), np.log(2400), size=n)) / 30)
    return np.choose(format_idx, [micro, short, course])


def _credit(format_idx: np.ndarray, duration: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Credit-bank hours: a class hour is 45 minutes; micro content earns none."""
    hours = np.rint(duration / 45 * 2) / 2
    counts = (format_idx == 2) | ((format_idx == 1) & (rng.random(len(duration)) < 0.5))
    return np.where(counts, hours, 0.0)


def _features(
    mode_idx: np.ndarray, category_idx: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Accessibility flags: captions are common on videos, large print in elder-care topics."""
    probabilities = ACCESS_BY_MODE[mode_idx].copy()
    for_elders = np.isin(category_idx, [CATEGORIES.index("health_elderly_care"),
                                        CATEGORIES.index("digital_literacy")])
    probabilities[:, ACCESSIBILITY_FEATURES.index("large_print")] += 0.15 * for_elders
    probabilities[:, ACCESSIBILITY_FEATURES.index("audio")] += 0.10 * for_elders
    has = rng.random(probabilities.shape) < probabilities
    return (has * (1 << np.arange(len(ACCESSIBILITY_FEATURES)))).sum(axis=1).astype(np.int64)


def _schedule(
    mode_idx: np.ndarray, format_idx: np.ndarray, window: Window, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Creation dates, and dated sessions for in-person and some online courses.

    Sessions are spread from a month before the window to :data:`UPCOMING_DAYS` after its end
    (the as-of moment: a platform announces what comes next), and a share of them
    (:data:`CURRENT_SESSION_SHARE`) is running at the as-of moment and for at least a week
    after it, so a world made today has courses open today, in person ones included.
    """
    n = len(mode_idx)
    published_during = rng.random(n) >= CATALOG_EXISTING_SHARE  # the rest: up to 2 years before
    created = window.arrivals(published_during, 2, 0.9, rng)
    scheduled = (mode_idx > 0) | ((format_idx == 2) & (rng.random(n) < SCHEDULED_ONLINE_SHARE))
    earliest = np.maximum(created, window.start - 30 * DAY)
    latest = np.maximum(earliest, window.end + UPCOMING_DAYS * DAY)
    open_from = (earliest + rng.random(n) * (latest - earliest)).astype(np.int64)
    open_days = np.where(format_idx == 2, rng.uniform(30, 120, n), rng.uniform(7, 30, n))
    current = rng.random(n) < CURRENT_SESSION_SHARE
    # running now: opened up to (length - a week) ago, never before the resource existed
    running_for = rng.random(n) * np.maximum(open_days - 7, 0) * DAY
    open_from = np.where(current, np.maximum(created, window.end - running_for), open_from)
    open_until = open_from + (open_days * DAY).astype(np.int64)
    open_from = np.where(scheduled, open_from, np.iinfo(np.int64).min // 2)
    open_until = np.where(scheduled, open_until, np.iinfo(np.int64).max // 2)
    return created, open_from.astype(np.int64), open_until.astype(np.int64), scheduled
