"""What a platform renders beside a list item, from the catalog the served model already holds.

A list answer carries, per item, the facts a platform shows without a second call per item
(category, mode, level, language, duration, credit hours, provider and its type, the region of
an in-person resource, the availability window, accessibility features). They are built once
per catalog (the bundle's when it is loaded, the API's own resources when their overlay is
built) as one :class:`ResourceCard` per resource, so a list only indexes them.

Titles also decide which resources are the same offer to a learner: :func:`title_keys` (white
space and case folded), the key the delivery core keeps one resource per.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import numpy as np
import pandas as pd

from recommender.features.catalog import IN_PERSON_MODES, split_list


class ResourceCard(NamedTuple):
    """One resource's display facts (None where the catalog does not say)."""

    category: str | None
    mode: str | None
    level: str | None
    language: str | None
    duration_minutes: float | None
    credit_hours: float | None
    provider: str | None
    provider_type: str | None
    region: str | None  # in-person (offline, blended) resources only
    available_from: datetime | None
    available_until: datetime | None
    accessibility: tuple[str, ...]


CARD_FIELDS: tuple[str, ...] = ResourceCard._fields


def _texts(resources: pd.DataFrame, name: str) -> list[str | None]:
    if name not in resources:
        return [None] * len(resources)
    return [value if isinstance(value, str) and value else None
            for value in resources[name].to_numpy(dtype=object)]


def _numbers(resources: pd.DataFrame, name: str) -> list[float | None]:
    if name not in resources:
        return [None] * len(resources)
    values = pd.to_numeric(resources[name], errors="coerce").to_numpy(dtype=np.float64)
    return [None if value != value else float(value) for value in values.tolist()]


def _moments(resources: pd.DataFrame, name: str) -> list[datetime | None]:
    if name not in resources:
        return [None] * len(resources)
    stamps = pd.to_datetime(resources[name], utc=True)
    return [None if pd.isna(stamp) else stamp.to_pydatetime() for stamp in stamps]


def resource_cards(resources: pd.DataFrame) -> np.ndarray:
    """One :class:`ResourceCard` per row of a resources frame (data-contract columns), as an
    object array aligned with the rows."""
    modes = _texts(resources, "mode")
    regions = [region if mode in IN_PERSON_MODES else None
               for mode, region in zip(modes, _texts(resources, "region"))]
    access = ([split_list(cell) for cell in resources["accessibility"].to_numpy(dtype=object)]
              if "accessibility" in resources else [()] * len(resources))
    columns = (
        _texts(resources, "category"), modes, _texts(resources, "level"),
        _texts(resources, "language"), _numbers(resources, "duration_minutes"),
        _numbers(resources, "credit_hours"), _texts(resources, "provider"),
        _texts(resources, "provider_type"), regions, _moments(resources, "available_from"),
        _moments(resources, "available_until"), access,
    )
    cards = np.empty(len(resources), dtype=object)
    cards[:] = [ResourceCard(*values) for values in zip(*columns)]
    return cards


def title_keys(titles: np.ndarray) -> np.ndarray:
    """Each title with white space collapsed and case folded: two resources with the same key
    are the same offer in a learner's list."""
    return np.array([" ".join(str(title).split()).casefold() for title in titles], dtype=object)
