"""Resources upserted through the API, on top of a bundle's catalog, in every worker.

A new resource must be recommendable at once and a withdrawn one must disappear at once, on
whichever worker answers next. The resources live in the database; each worker keeps a small
side catalog built from them (vectors from their content through the bundle's cold start, and
catalog arrays for the filters), rebuilt whenever the database's resource signature changes
(one cheap query per request). Bundle resources that were withdrawn or re-described through the
API are blocked in the main catalog; a re-described one comes back from the side catalog with
its new attributes and vector, and :meth:`Overlay.active` maps the bundle index of such a
resource to its side index, so whatever excludes it (the learner's history, a request's
``exclude``) excludes the copy that is actually served. Global resource indices: ``[0, n_main)``
the bundle's, ``n_main + j`` side resource ``j``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from recommender.delivery.cards import resource_cards, title_keys
from recommender.features.catalog import CatalogArrays
from recommender.delivery.served import ServedModel
from recommender.store import ResourceRecord, Store


@dataclass(frozen=True)
class Overlay:
    """The API's resources for one served model at one database signature (immutable)."""

    signature: tuple[int, int]
    blocked: np.ndarray  # bool over bundle resource_idx: withdrawn or re-described via the API
    ids: np.ndarray  # side resource ids (active only), object array
    titles: np.ndarray
    vectors: np.ndarray  # (n_side, dim) float32
    unit_vectors: np.ndarray
    catalog: CatalogArrays | None
    tags: list[tuple[str, ...]] = field(repr=False, default_factory=list)
    cards: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0, object))
    title_keys: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0, object))
    _position: dict[str, int] = field(repr=False, default_factory=dict)
    bundle_ids: np.ndarray | None = field(repr=False, default=None)  # the bundle's resource ids
    # The blocked bundle resources as indices (usually none): cheaper per request than
    # combining a whole-catalog mask.
    blocked_idx: np.ndarray = field(init=False, repr=False)
    # Per blocked bundle resource (in blocked_idx order): its side position when it was
    # re-described through the API, -1 when withdrawn.
    redescribed_as: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        blocked_idx = np.flatnonzero(self.blocked)
        object.__setattr__(self, "blocked_idx", blocked_idx)
        n_main = len(self.blocked)
        position = np.full(len(blocked_idx), -1, dtype=np.int64)
        if len(blocked_idx) and self._position:
            ids = self.bundle_ids[blocked_idx] if self.bundle_ids is not None else ()
            position = np.array([self._position.get(str(i), -1) for i in ids], dtype=np.int64)
        object.__setattr__(self, "redescribed_as",
                           np.where(position >= 0, position + n_main, -1))
        if len(self.title_keys) != len(self.titles):  # built by hand (tests): from the titles
            object.__setattr__(self, "title_keys", title_keys(self.titles))
        if len(self.cards) != len(self.ids):  # no catalog frame given: no cards to show
            object.__setattr__(self, "cards", np.full(len(self.ids), None, dtype=object))

    def unit_vectors_of(self, served: ServedModel, global_idx: np.ndarray) -> np.ndarray:
        """Unit vectors of served indices (bundle resources, then the API's), as reasons and
        the diversity re-ranking compare them."""
        global_idx = np.asarray(global_idx, dtype=np.int64)
        n_main = served.n_resources
        side = global_idx >= n_main
        units = served.unit_vectors[np.where(side, 0, global_idx)]
        if side.any():
            units[side] = self.unit_vectors[global_idx[side] - n_main]
        return units

    def vectors_of(self, served: ServedModel, global_idx: np.ndarray) -> np.ndarray:
        """Model vectors of served indices (bundle resources, then the API's): what a learner's
        vector is scored against, as the reasons split a score."""
        global_idx = np.asarray(global_idx, dtype=np.int64)
        n_main = served.n_resources
        side = global_idx >= n_main
        vectors = served.bundle.resource_factors[np.where(side, 0, global_idx)]
        if side.any():
            vectors[side] = self.vectors[global_idx[side] - n_main]
        return vectors

    def active(self, global_idx: np.ndarray) -> np.ndarray:
        """The served index of each resource in ``global_idx``: a bundle resource re-described
        through the API becomes its side copy, a withdrawn one -1, anything else itself."""
        global_idx = np.asarray(global_idx, dtype=np.int64)
        if not len(self.blocked_idx) or not len(global_idx):
            return global_idx
        n_main = len(self.blocked)
        out = global_idx.copy()
        in_main = out < n_main
        blocked = np.zeros(len(out), dtype=bool)
        blocked[in_main] = self.blocked[out[in_main]]
        if blocked.any():
            at = np.searchsorted(self.blocked_idx, out[blocked])
            out[blocked] = self.redescribed_as[at]
        return out

    @property
    def n_side(self) -> int:
        return len(self.ids)

    def side_position(self, resource_id: str) -> int | None:
        return self._position.get(resource_id)

    def category_of(self, position: int) -> str | None:
        """The category name of side resource ``position`` (None if it has none)."""
        if self.catalog is None:
            return None
        code = int(self.catalog.category.codes[position])
        return next((name for name, c in self.catalog.category.index.items() if c == code), None)

    @classmethod
    def empty(cls, served: ServedModel, signature: tuple[int, int] = (0, 0)) -> Overlay:
        dim = served.bundle.resource_factors.shape[1]
        return cls(
            signature=signature, blocked=np.zeros(served.n_resources, dtype=bool),
            ids=np.empty(0, dtype=object), titles=np.empty(0, dtype=object),
            vectors=np.zeros((0, dim), np.float32), unit_vectors=np.zeros((0, dim), np.float32),
            catalog=None,
        )

    @classmethod
    def of_store(
        cls, served: ServedModel, store: Store, signature: tuple[int, int] | None = None
    ) -> Overlay:
        """The store's resources as they are now (``signature``: the resources signature a
        caller already read in the same transaction as the rest of its request)."""
        signature = store.resources_signature() if signature is None else signature
        if signature == (0, 0):
            return cls.empty(served)
        return cls.build(served, store.all_resources(), signature)

    @classmethod
    def build(
        cls, served: ServedModel, records: list[ResourceRecord], signature: tuple[int, int]
    ) -> Overlay:
        """Block what the API changed in the bundle; embed the active API resources."""
        bundle = served.bundle
        blocked = np.zeros(served.n_resources, dtype=bool)
        if records:
            in_bundle = bundle.resource_map.indices_of([r.resource_id for r in records],
                                                       strict=False)
            blocked[in_bundle[in_bundle >= 0]] = True
        active = [r for r in records if not r.withdrawn]
        if not active or bundle.cold_start is None:  # a v1 bundle cannot embed new content
            empty = cls.empty(served, signature)
            return replace(empty, blocked=blocked, bundle_ids=served.resource_ids)
        frame = pd.DataFrame([r.record for r in active])
        vectors = bundle.cold_start.resource_vectors(frame).vectors
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        ids = frame["resource_id"].astype(str).to_numpy(dtype=object)
        tags = [
            tuple(t for t in str(cell).split("|") if t) if isinstance(cell, str) else ()
            for cell in frame.get("tags", pd.Series([None] * len(frame)))
        ]
        return cls(
            signature=signature, blocked=blocked, ids=ids,
            titles=frame["title"].astype(str).to_numpy(dtype=object),
            vectors=np.ascontiguousarray(vectors, dtype=np.float32),
            unit_vectors=unit.astype(np.float32),
            catalog=CatalogArrays.build(frame, bundle.regions),
            tags=tags,
            cards=resource_cards(frame),
            title_keys=title_keys(frame["title"].astype(str).to_numpy(dtype=object)),
            _position={resource_id: j for j, resource_id in enumerate(ids)},
            bundle_ids=served.resource_ids,
        )
