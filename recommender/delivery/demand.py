"""Demand the catalog does not meet: stated interests no open resource serves well.

Learners state interests in their profiles, and visitors in anonymous requests. An interest is
*served* when some resource the learner may take now (open at ``now``, near enough, in a
language they read, meeting their accessibility needs: the catalog's own mask,
:meth:`CatalogArrays.mask`) matches it at least ``threshold`` well; otherwise it is unmet.
Unmet interests are counted by region and learner group, each count with a few examples, so an
office knows what to procure and for whom. The match is the cosine between the TF-IDF n-grams
of the interest and of each resource's text, in the served model's own text vectorizer
(:func:`interest_similarity`); a caller may give any other similarity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recommender.delivery.served import ServedModel
from recommender.errors import ModelNotLoadedError
from recommender.features.catalog import CatalogArrays, LearnerProfile

DEFAULT_THRESHOLD = 0.25
# With the text-cosine below, on the sample world (400 resources) a learner's best match over
# the whole catalog is 0.41 at the median and under 0.25 for 11% of them (the 1st decile is
# 0.23): 0.25 marks interests the catalog's words barely touch. An interest naming several
# topics counts as served when one of them is.
NO_REGION = "(none)"
NO_GROUP = "(none)"

Similarity = Callable[[Sequence[str]], np.ndarray]  # texts -> (n_texts, n_resources)


@dataclass(frozen=True)
class StatedDemand:
    """Interests stated ``count`` times by learners sharing these facts; ``source`` is
    ``"profile"`` (``example``: the learner id) or ``"anonymous"`` (aggregated requests)."""

    interests: str
    group: str | None = None
    region: str | None = None
    languages: str | tuple[str, ...] | None = None
    accessibility_needs: str | tuple[str, ...] | None = None
    count: int = 1
    source: str = "profile"
    example: str = ""


@dataclass(frozen=True)
class UnmetExample:
    """One unmet interest: what was asked, by whom, and the best the catalog had."""

    interests: str
    source: str
    example: str
    best_title: str | None
    best_score: float


@dataclass(frozen=True)
class DemandGap:
    """Stated and unmet interests of one (region, group)."""

    region: str
    group: str
    n_stated: int
    n_unmet: int
    examples: tuple[UnmetExample, ...] = field(default=())

    @property
    def unmet_share(self) -> float:
        return self.n_unmet / self.n_stated if self.n_stated else 0.0


def demand_gaps(
    demands: Iterable[StatedDemand], catalog: CatalogArrays, similarity: Similarity, *,
    now: pd.Timestamp | None, threshold: float = DEFAULT_THRESHOLD,
    titles: Sequence[str] | None = None, n_examples: int = 3,
) -> list[DemandGap]:
    """Per (region, group): interests stated and interests unmet (no resource the learner may
    take matches at least ``threshold``), worst first (most unmet, then region, group).
    Demands with blank interests say nothing about content and are skipped."""
    stated = [d for d in demands if isinstance(d.interests, str) and d.interests.strip()]
    if not stated:
        return []
    texts = list(dict.fromkeys(d.interests for d in stated))
    scores = np.asarray(similarity(texts), dtype=np.float64)
    if scores.shape != (len(texts), catalog.n_resources):
        raise ValueError(f"similarity gave {scores.shape}, not {(len(texts), catalog.n_resources)}")
    row_of = {text: i for i, text in enumerate(texts)}
    totals: dict[tuple[str, str], list] = {}
    for demand in stated:
        profile = LearnerProfile(region=demand.region, languages=demand.languages or (),
                                 accessibility_needs=demand.accessibility_needs or ())
        allowed = catalog.mask(None, profile, now=now)
        row = scores[row_of[demand.interests]]
        best_idx = int(np.flatnonzero(allowed)[np.argmax(row[allowed])]) if allowed.any() else -1
        best = float(row[best_idx]) if best_idx >= 0 else 0.0
        key = (demand.region or NO_REGION, demand.group or NO_GROUP)
        entry = totals.setdefault(key, [0, 0, []])
        entry[0] += demand.count
        if best < threshold:
            entry[1] += demand.count
            if len(entry[2]) < n_examples:
                title = None if best_idx < 0 or titles is None else str(titles[best_idx])
                entry[2].append(UnmetExample(demand.interests, demand.source, demand.example,
                                             title, best))
    gaps = [DemandGap(region, group, n, unmet, tuple(examples))
            for (region, group), (n, unmet, examples) in totals.items()]
    return sorted(gaps, key=lambda g: (-g.n_unmet, g.region, g.group))


def interest_similarity(served: ServedModel) -> Similarity:
    """Cosine between the TF-IDF n-grams of interest texts and of each bundle resource's text
    (title, description, tags, category), with the served model's own text vectorizer: a
    direct measure of how much of what was asked a resource's words cover. (The reduced
    content space places learners well but is too coarse to tell a near miss from a match.)"""
    from sklearn.preprocessing import normalize

    from recommender.features.content import resource_texts

    cold_start = served.bundle.cold_start
    if cold_start is None:
        raise ModelNotLoadedError("the served bundle (format 1) has no text encoder to "
                                  "match stated interests with")
    vectorizer = cold_start.content_.encoder_.text_encoder_.vectorizer_
    resources = normalize(vectorizer.transform(resource_texts(served.bundle.resources)))

    def similarity(texts: Sequence[str]) -> np.ndarray:
        asked = normalize(vectorizer.transform(list(texts)))
        return np.asarray((asked @ resources.T).todense())

    return similarity


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def profile_demands(
    profiles: Iterable[tuple[str, dict]], source: str = "profile"
) -> list[StatedDemand]:
    """Stated demand from (learner id, profile) pairs (a bundle's learners, stored profiles)."""
    out = []
    for learner_id, profile in profiles:
        interests = profile.get("interests")
        if not isinstance(interests, str) or not interests.strip():
            continue
        out.append(StatedDemand(
            interests=interests, group=_text(profile.get("group")),
            region=_text(profile.get("region")), languages=_text(profile.get("languages")),
            accessibility_needs=_text(profile.get("accessibility_needs")), source=source,
            example=learner_id))
    return out


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
