"""A bundle prepared for delivery: the bundle plus everything derived from it once (index,
retriever, catalog arrays, the facts reasons read), immutable.

The API builds one per loaded bundle (at startup or on an admin reload) and swaps it as a unit,
so a request that picked it up keeps a consistent view; the batch export, the pyfunc model and
experiment evaluation build one the same way, so all of them deliver from the same pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from recommender.bundle import Bundle
from recommender.features.catalog import CatalogArrays
from recommender.delivery.cards import resource_cards, title_keys
from recommender.delivery.reasons import SimilarTexts, similar_texts
from recommender.retrieval import FilteredRetriever
from recommender.errors import BundleError, UnknownIdError
from recommender.index import SERVING_INDEX, ResourceIndex

# Learner fields the API reads per request (constraints, reasons).
PROFILE_FIELDS = ("group", "region", "languages", "accessibility_needs", "interests",
                  "credit_hours_required")


def _micros_or_none(stamp: object) -> int | None:
    if stamp is None:
        return None
    try:
        parsed = pd.Timestamp(stamp)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if pd.isna(parsed):
        return None
    parsed = parsed.tz_localize("UTC") if parsed.tzinfo is None else parsed.tz_convert("UTC")
    return int(parsed.value // 1000)


@dataclass(frozen=True)
class ServedModel:
    """An immutable bundle + FAISS index + catalog arrays; replacing the whole object is the
    atomic swap. ``history_until_us`` is where the bundle's data ends: stored events after it
    are what serving folds in."""

    bundle: Bundle
    index: ResourceIndex
    retriever: FilteredRetriever = field(repr=False)
    catalog: CatalogArrays = field(repr=False)
    titles: np.ndarray = field(repr=False)
    resource_ids: np.ndarray = field(repr=False)
    unit_vectors: np.ndarray = field(repr=False)
    profile_columns: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    group_names: tuple[str, ...] = ()
    group_counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    history_until_us: int | None = None
    # Per resource_idx, for reasons: tags, category name (None if unknown), anyone engaged.
    tags: tuple[tuple[str, ...], ...] = field(default=(), repr=False)
    category_names: np.ndarray = field(default_factory=lambda: np.empty(0, object), repr=False)
    engaged: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), repr=False)
    similar_texts: SimilarTexts = field(default_factory=dict, repr=False)
    # Per resource_idx: what a list item shows (ResourceCard) and its title key (one per list).
    cards: np.ndarray = field(default_factory=lambda: np.empty(0, object), repr=False)
    title_keys: np.ndarray = field(default_factory=lambda: np.empty(0, object), repr=False)
    # Event types that mean the learner is done with a resource: the bundle's rule, applied to
    # the events stored since it, as its exclusions applied it to the events before.
    consumed_event_types: frozenset[str] = frozenset()

    @classmethod
    def from_bundle(
        cls, bundle: Bundle, index_factory: str = SERVING_INDEX, index_params: str = "",
        consumed_event_types: Sequence[str] | None = None,
    ) -> ServedModel:
        """Everything derived from ``bundle``. ``consumed_event_types`` (the serving setting)
        must name what the bundle's consumption rule consumed, if given: a bundle's exclusions
        cannot be rebuilt by another rule, so a different one is refused (:class:`BundleError`)
        rather than applied to new events only."""
        consumed = _consumed(bundle, consumed_event_types)
        index = ResourceIndex(bundle.resource_factors, index_factory, index_params)
        resources = bundle.resources
        titles = (resources["title"] if "title" in resources else resources["resource_id"])
        vectors = bundle.resource_factors
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        group_names, group_counts = _group_counts(bundle)
        data = bundle.manifest.get("data") if isinstance(bundle.manifest, dict) else None
        until = data.get("events_until") if isinstance(data, dict) else None
        catalog = CatalogArrays.build(resources, bundle.regions)
        return cls(
            bundle=bundle,
            index=index,
            retriever=FilteredRetriever(bundle.resource_factors, index),
            catalog=catalog,
            titles=titles.astype(str).to_numpy(dtype=object),
            resource_ids=bundle.resource_map.ids,
            unit_vectors=unit.astype(np.float32),
            profile_columns={name: bundle.learners[name].to_numpy(dtype=object)
                             for name in PROFILE_FIELDS if name in bundle.learners},
            group_names=group_names,
            group_counts=group_counts,
            history_until_us=_micros_or_none(until),
            tags=_tags(resources),
            category_names=category_names(catalog),
            engaged=np.bincount(bundle.interactions.indices[bundle.interactions.data > 0],
                                minlength=len(bundle.resource_map)) > 0,
            similar_texts=similar_texts(titles.astype(str).to_numpy(dtype=object)),
            consumed_event_types=consumed,
            cards=resource_cards(resources),
            title_keys=title_keys(titles.astype(str).to_numpy(dtype=object)),
        )

    @property
    def version(self) -> str:
        return self.bundle.version

    def profile_of(self, learner_idx: int) -> dict[str, object]:
        """A bundle learner's profile fields (from column arrays: no pandas row per request)."""
        return {name: column[learner_idx] for name, column in self.profile_columns.items()}

    def row(self, matrix_name: str, learner_idx: int) -> tuple[np.ndarray, np.ndarray]:
        """(resource_idx, values) of one learner's row of ``interactions`` or ``exclusions``."""
        matrix = getattr(self.bundle, matrix_name)
        lo, hi = matrix.indptr[learner_idx], matrix.indptr[learner_idx + 1]
        return matrix.indices[lo:hi], matrix.data[lo:hi]

    def completions_of(self, learner_idx: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(resource_idx, first completion in microseconds UTC) of a bundle learner; None when
        the bundle does not carry completion times (built before they were kept)."""
        if self.bundle.completions is None:
            return None
        matrix = self.bundle.completions
        lo, hi = matrix.indptr[learner_idx], matrix.indptr[learner_idx + 1]
        return matrix.indices[lo:hi], matrix.data[lo:hi]

    @cached_property
    def providers(self) -> np.ndarray:
        """Each resource's provider (None where the catalog names none), for the ledger."""
        resources = self.bundle.resources
        if "provider" not in resources:
            return np.full(len(resources), None, dtype=object)
        column = resources["provider"].astype(object)
        return column.where(column.notna(), None).to_numpy(dtype=object)

    @cached_property
    def n_resources(self) -> int:
        """Bundle resources (asked several times per request: held, not recounted)."""
        return len(self.bundle.resource_map)

    def learner_idx(self, learner_id: str) -> int | None:
        """A bundle learner's row, None for a learner the bundle does not hold (one lookup)."""
        try:
            return self.bundle.learner_map.index_of(learner_id)
        except UnknownIdError:
            return None


def _consumed(bundle: Bundle, setting: Sequence[str] | None) -> frozenset[str]:
    recorded = frozenset(bundle.consumption.consumed)
    if setting is not None and frozenset(setting) != recorded:
        raise BundleError(
            f"bundle {bundle.version} was trained with consumed event types "
            f"{sorted(recorded)}, but RECOMMENDER_CONSUMED_EVENT_TYPES is {sorted(setting)}; "
            "retrain with [features] consumed set to match, or unset the setting")
    return recorded


def _tags(resources: pd.DataFrame) -> tuple[tuple[str, ...], ...]:
    """Each resource's tags (the data contract stores them "|"-joined and stripped)."""
    if "tags" not in resources:
        return ((),) * len(resources)
    return tuple(tuple(t for t in cell.split("|") if t) if isinstance(cell, str) else ()
                 for cell in resources["tags"].to_numpy(dtype=object))


def category_names(catalog: CatalogArrays) -> np.ndarray:
    """Each resource's category name (None where it has none), from the catalog's codes."""
    names = np.array([None] * (len(catalog.category.index) + 1), dtype=object)
    for name, code in catalog.category.index.items():
        names[code] = name
    return names[catalog.category.codes]  # code -1 picks the trailing None


def _group_counts(bundle: Bundle) -> tuple[tuple[str, ...], np.ndarray]:
    """Learners of each group who engaged with each resource (groups x resources), for the
    "popular with <group>" reason."""
    n_resources = len(bundle.resource_map)
    if "group" not in bundle.learners:
        return (), np.zeros((0, n_resources), dtype=np.int32)
    groups = bundle.learners["group"].astype(object)
    groups = groups.where(groups.notna(), "")
    codes, names = pd.factorize(groups.to_numpy(dtype=object), sort=True)
    history = bundle.interactions.tocsr()
    rows = np.repeat(np.arange(history.shape[0]), np.diff(history.indptr))
    positive = history.data > 0
    flat = codes[rows[positive]].astype(np.int64) * n_resources + history.indices[positive]
    counts = np.bincount(flat, minlength=len(names) * n_resources)
    return tuple(str(n) for n in names), counts.reshape(len(names), n_resources).astype(np.int32)
