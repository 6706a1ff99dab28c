"""One short reason per recommended resource, for any learner the API serves.

:mod:`recommender.explain` explains lists of learners inside a bundle (the batch export); the
API also serves learners whose history grew after training, learners known only by a profile,
and anonymous visitors, so it words reasons from what the request knows, in this order:

* ``continue``: the resource is in the learner's history but not done ("continue where you
  left off");
* ``similar``: the history resource most similar to it (cosine of the model's vectors):
  "because you completed X" when that one was completed, else "because you engaged with X";
* ``interest``: a tag or category word of the resource appears in the learner's stated
  interests: "matches your interest: smartphone";
* ``group_popular``: learners of the same group engaged with it: "popular with retirees in your
  region" when it is held in or next to the learner's region, else "popular with retirees";
* ``popular`` / ``new``: platform-wide popularity, or nobody has engaged with it yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.features.content import CATEGORY_LABELS
from recommender.serving.model_state import ServedModel
from recommender.serving.overlay import Overlay

GROUP_LABELS: dict[str, str] = {
    "employee": "employees", "rural_resident": "rural residents",
    "migrant_worker": "migrant workers", "unemployed": "job seekers", "retiree": "retirees",
    "disabled": "learners with disabilities", "veteran": "veterans", "youth": "young learners",
}


@dataclass(frozen=True)
class History:
    """What the learner did, in bundle resource indices: positive history (best first) and
    which of it they completed."""

    resource_idx: np.ndarray
    completed: frozenset[int]


@dataclass(frozen=True)
class Reason:
    kind: str
    text: str


def _group_label(group: str) -> str:
    return GROUP_LABELS.get(group, f"{group.replace('_', ' ')} learners")


def _words(resource_tags: Sequence[str], category: str | None) -> list[str]:
    words = [t for t in resource_tags if len(t) >= 2]
    label = CATEGORY_LABELS.get(category or "", "")
    return words + [w for w in label.split() if len(w) >= 2]


def explain(
    served: ServedModel,
    overlay: Overlay,
    picked: np.ndarray,
    history: History,
    *,
    group: str | None,
    region: str | None,
    interests: str | None,
) -> list[Reason]:
    """A reason per global resource index in ``picked`` (see the module docstring)."""
    n_main = served.n_resources
    own = set(history.resource_idx.tolist())
    units = np.stack([served.unit_vectors[i] if i < n_main else overlay.unit_vectors[i - n_main]
                      for i in picked]) if len(picked) else np.zeros((0, 1), np.float32)
    similar_to = np.full(len(picked), -1, dtype=np.int64)
    if len(history.resource_idx) and len(picked):
        sims = units @ served.unit_vectors[history.resource_idx].T  # picked x history
        sims[np.equal.outer(picked, history.resource_idx)] = -np.inf
        best = np.argmax(sims, axis=1)
        found = np.isfinite(sims[np.arange(len(picked)), best])
        similar_to[found] = history.resource_idx[best[found]]
    text = (interests or "").lower()
    group_code = served.group_names.index(group) if group in served.group_names else -1
    reasons = []
    for slot, resource in enumerate(picked.tolist()):
        if resource in own:
            reasons.append(Reason("continue", "continue where you left off"))
            continue
        if similar_to[slot] >= 0:
            title = served.titles[similar_to[slot]]
            verb = "completed" if int(similar_to[slot]) in history.completed else "engaged with"
            reasons.append(Reason("similar", f"because you {verb} \u201c{title}\u201d"))
            continue
        tags, category, near = _describe(served, overlay, resource, region)
        match = next((w for w in _words(tags, category) if text and w.lower() in text), None)
        if match:
            reasons.append(Reason("interest", f"matches your interest: {match}"))
            continue
        in_group = (served.group_counts[group_code, resource]
                    if group_code >= 0 and resource < n_main else 0)
        if in_group > 0 and group is not None:
            where = " in your region" if near else ""
            reasons.append(Reason("group_popular", f"popular with {_group_label(group)}{where}"))
        elif resource < n_main and served.group_counts[:, resource].sum() > 0:
            reasons.append(Reason("popular", "popular on the platform"))
        else:
            reasons.append(Reason("new", "new in the catalog"))
    return reasons


def _describe(
    served: ServedModel, overlay: Overlay, resource: int, region: str | None
) -> tuple[tuple[str, ...], str | None, bool]:
    """Tags, category and "held in or next to the learner's region" of one resource."""
    n_main = served.n_resources
    if resource < n_main:
        catalog, row = served.catalog, resource
        frame = served.bundle.resources
        cell = frame["tags"].iat[row] if "tags" in frame else None
        tags = tuple(t for t in cell.split("|") if t) if isinstance(cell, str) else ()
    else:
        catalog, row = overlay.catalog, resource - n_main
        tags = overlay.tags[row] if row < len(overlay.tags) else ()
    category = None
    near = False
    if catalog is not None:
        code = int(catalog.category.codes[row])
        if code >= 0:
            category = next(name for name, c in catalog.category.index.items() if c == code)
        home, held = catalog.region_code(region), int(catalog.region.codes[row])
        near = bool(catalog.in_person[row]) and home >= 0 and held >= 0 and bool(
            catalog.near[home, held])
    return tags, category, near
