"""The built-in sample world: a synthetic but plausible Chinese public lifelong-learning platform.

Why it exists: demos, tests and benchmarks need data before a platform shares its logs, and that
data must behave like the real thing (groups with different needs, a bilingual catalog, funnels,
popularity skew, scheduled courses, drifting interests), so that a model that wins here wins for
the right reasons. Learners carry HIDDEN preferences (category affinities that drift over the
year, a few personal topics, a preferred level, language and accessibility needs); only their
traces reach the tables. Everything is vectorised with numpy: loops run over groups, categories
or templates, never over events, so a million events take seconds.

The package reads top down: ``vocabulary`` (words and places) and ``priors`` (the numbers) are
pure data; ``arrays`` and ``text`` are the vectorised helpers; ``learners`` and ``catalog`` draw
the two entity tables with their hidden state; ``encounters`` decides who meets what and when,
and ``events`` what each encounter turns into. :func:`generate_world` below ties them together.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from recommender.data.dataset import Dataset
from recommender.data.sample_world.arrays import BEIJING_OFFSET, DAY, HOUR, Window
from recommender.data.sample_world.catalog import make_resources
from recommender.data.sample_world.events import make_events
from recommender.data.sample_world.learners import make_learners
from recommender.data.sample_world.priors import topic_weights
from recommender.data.sample_world.vocabulary import (
    AGE_BANDS,
    EDUCATION_LEVELS,
    LANGUAGES,
    N_TOPICS,
    REGION_BORDERS,
    REGIONS,
    TOPIC_CATEGORY,
    TOPIC_EN,
    TOPIC_EN_TITLE,
    TOPIC_ZH,
    region_table,
)
from recommender.data.validate import validate_dataset
from recommender.errors import InvalidParameterError

__all__ = [
    "AGE_BANDS", "BEIJING_OFFSET", "DAY", "DEFAULT_SIZE", "EDUCATION_LEVELS", "HOUR", "LANGUAGES",
    "N_TOPICS", "REGIONS", "REGION_BORDERS", "TOPIC_CATEGORY", "TOPIC_EN", "TOPIC_EN_TITLE",
    "TOPIC_ZH", "generate_world",
]

DEFAULT_SIZE = {"n_learners": 2000, "n_resources": 400}


def generate_world(
    n_learners: int = DEFAULT_SIZE["n_learners"],
    n_resources: int = DEFAULT_SIZE["n_resources"],
    seed: int = 0,
    *,
    events_per_learner: float = 30.0,
    as_of: object = None,
    days: int = 365,
    start: object = None,
) -> Dataset:
    """A validated sample world: learners, a bilingual catalog, ``days`` of events up to
    ``as_of``, regions.

    The world is dated relative to ``as_of`` (default: the start of today, UTC), so a world made
    today has courses open today, in-person ones near learners included, and sessions still to
    come; ``start`` (older configs) instead names the first day, ``as_of`` being ``start +
    days``. Same arguments (``as_of`` included), same tables. The hidden preferences make
    personalised models clearly better than popularity without making the answer trivial
    (interests drift, new needs appear, new resources arrive, courses open and close).
    """
    n_learners = _check_int("n_learners", n_learners, 1)
    n_resources = _check_int("n_resources", n_resources, 1)
    seed = _check_int("seed", seed, 0)
    days = _check_int("days", days, 1)
    if (isinstance(events_per_learner, bool)
            or not isinstance(events_per_learner, (int, float, np.integer, np.floating))
            or not math.isfinite(events_per_learner) or events_per_learner < 1):
        raise InvalidParameterError("events_per_learner", events_per_learner, "a number >= 1")
    window = _window(as_of, start, days)

    learner_seed, resource_seed, event_seed = np.random.SeedSequence(seed).spawn(3)
    topic_weight = topic_weights(n_resources)
    learners = make_learners(n_learners, float(events_per_learner), window, topic_weight,
                             np.random.default_rng(learner_seed))
    resources = make_resources(n_resources, window, topic_weight,
                               np.random.default_rng(resource_seed))
    events = make_events(learners, resources, window, np.random.default_rng(event_seed))
    events.insert(1, "learner_id", learners.table["learner_id"].to_numpy()[events["learner_idx"]])
    events.insert(2, "resource_id",
                  resources.table["resource_id"].to_numpy()[events["resource_idx"]])
    events = events.drop(columns=["learner_idx", "resource_idx"])
    return validate_dataset(learners.table, resources.table, events, region_table())


def _check_int(name: str, value: object, minimum: int) -> int:
    """The value as an int, or InvalidParameterError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidParameterError(name, value, f"an integer >= {minimum}")
    return int(value)


_MOMENT_EXPECTED = "an ISO 8601 date or date-time such as '2024-01-01'"


def today() -> pd.Timestamp:
    """The default as-of moment: the start of the current UTC day (worlds made the same day
    are the same world)."""
    return pd.Timestamp.now(tz="UTC").floor("D")


def _window(as_of: object, start: object, days: int) -> Window:
    """The observed period: ``days`` ending at ``as_of``, or starting at ``start``."""
    if as_of is not None and start is not None:
        raise InvalidParameterError("start", start, "None when as_of is given (one or the other)")
    if start is not None:
        first = _check_moment("start", start)
        return Window(first, first + days * DAY)
    end = _check_moment("as_of", today() if as_of is None else as_of)
    return Window(end - days * DAY, end)


def _check_moment(name: str, value: object) -> int:
    """A moment as epoch seconds; naive dates are read as UTC."""
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(name, value, _MOMENT_EXPECTED) from exc
    if pd.isna(stamp):
        raise InvalidParameterError(name, value, _MOMENT_EXPECTED)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.timestamp())
