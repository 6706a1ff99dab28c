"""Stable mapping between external ids (``*_id``) and internal row indices (``*_idx``).

Built once at training time and shipped in the bundle, so serving never rebuilds it and
indices always line up with the vectors they index.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from recommender.errors import UnknownIdError

SMALL_LOOKUP = 64  # ids looked up one by one in a dict below this, vectorised above


class IdMap:
    """Bidirectional id <-> index map for one kind of entity (``learner`` or ``resource``)."""

    def __init__(self, kind: str, ids: Iterable[str]) -> None:
        self.kind = kind
        self._index = pd.Index(np.asarray(list(ids), dtype=object))
        if not self._index.is_unique:
            dup = self._index[self._index.duplicated()][0]
            raise ValueError(f"{kind} ids must be unique; {dup!r} repeats")
        self._position: dict[object, int] | None = None

    @property
    def ids(self) -> np.ndarray:
        return self._index.to_numpy(dtype=object)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, external_id: object) -> bool:
        return external_id in self._index

    def index_of(self, external_id: str) -> int:
        """The internal index of one id; unknown ids raise :class:`UnknownIdError`."""
        try:
            return int(self._index.get_loc(external_id))
        except KeyError:
            raise UnknownIdError(self.kind, external_id) from None

    def indices_of(self, external_ids: Iterable[str], *, strict: bool = True) -> np.ndarray:
        """Vectorised lookup; with ``strict=False`` unknown ids map to -1.

        Each distinct id is looked up once (an events column repeats each id many times).
        """
        values = _object_array(external_ids)
        if len(values) <= SMALL_LOOKUP:  # a list's ids: a dict beats pandas' setup ~50x
            position = self._positions()
            found = np.fromiter((position.get(v, -1) for v in values), np.int64, len(values))
            if strict and (found < 0).any():
                raise UnknownIdError(self.kind, values[int(np.flatnonzero(found < 0)[0])])
            return found
        codes, distinct = pd.factorize(values)  # a missing id gets code -1: unknown
        found = np.append(self._index.get_indexer(pd.Index(distinct, dtype=object)), -1)[codes]
        if strict and (found < 0).any():
            raise UnknownIdError(self.kind, values[int(np.flatnonzero(found < 0)[0])])
        return found.astype(np.int64)

    def _positions(self) -> dict[object, int]:
        """id -> index as a dict, built on first use (for lookups of a few ids)."""
        position = getattr(self, "_position", None)  # None: not built yet
        if position is None:
            position = self._position = {value: i for i, value in enumerate(self._index)}
        return position

    def id_of(self, idx: int) -> str:
        return str(self._index[idx])

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, IdMap)
            and other.kind == self.kind
            and self._index.equals(other._index)
        )

    def __repr__(self) -> str:
        return f"IdMap(kind={self.kind!r}, n={len(self)})"


def _object_array(external_ids: Iterable[str]) -> np.ndarray:
    """Ids as a 1-D object array, without copying a column that already is one."""
    if isinstance(external_ids, (pd.Series, pd.Index)):
        return external_ids.to_numpy(dtype=object)
    if isinstance(external_ids, np.ndarray) and external_ids.ndim == 1:
        return external_ids.astype(object, copy=False)
    return pd.Index(list(external_ids), dtype=object).to_numpy()
