"""A validated set of the contract's tables, as returned by :func:`validate_dataset`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Dataset:
    """Learners, resources and events that passed validation (typed columns, UTC timestamps).

    ``regions`` is the optional region adjacency table (region, neighbour).
    Construct it only through :func:`recommender.data.validate_dataset` or a loader.
    """

    learners: pd.DataFrame
    resources: pd.DataFrame
    events: pd.DataFrame
    regions: pd.DataFrame | None = None

    def content_hash(self) -> str:
        """A short sha256 over every table's content, to tie a run to its exact inputs."""
        digest = hashlib.sha256()
        for frame in (self.learners, self.resources, self.events, self.regions):
            if frame is None:
                continue
            digest.update(",".join(map(str, frame.columns)).encode())
            for name in frame.columns:
                _hash_column(digest, frame[name])
        return digest.hexdigest()[:16]

    def summary(self) -> dict[str, object]:
        """Counts and time window, as logged with every training run."""
        ts = self.events["timestamp"]
        return {
            "n_learners": int(len(self.learners)),
            "n_resources": int(len(self.resources)),
            "n_events": int(len(self.events)),
            "events_from": ts.min().isoformat() if len(ts) else None,
            "events_until": ts.max().isoformat() if len(ts) else None,
            "content_hash": self.content_hash(),
        }


def _hash_column(digest: hashlib._Hash, column: pd.Series) -> None:
    """Feed one column to ``digest``: numbers and timestamps as their bytes, text as UTF-8.

    Text cells are joined into one buffer (hashing a million ids one by one is what costs);
    their lengths and the missing-cell mask go in too, so no two columns share a byte stream.
    """
    digest.update(str(column.dtype).encode())
    if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column):
        digest.update(np.packbits(column.isna().to_numpy()).tobytes())
        digest.update(np.ascontiguousarray(column.array.asi8).tobytes())
        return
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biufc":
        digest.update(np.packbits(column.isna().to_numpy()).tobytes())
        digest.update(np.ascontiguousarray(column.to_numpy()).tobytes())
        return
    texts = column.to_numpy(dtype=object)
    try:  # the common case, an id column: every cell is text, none is missing
        joined = "".join(texts)
        missing = np.zeros(len(texts), dtype=bool)
    except TypeError:
        missing = column.isna().to_numpy()
        texts = [str(cell) for cell in texts[~missing]]
        joined = "".join(texts)
    digest.update(np.packbits(missing).tobytes())
    digest.update(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)).tobytes())
    digest.update(joined.encode("utf-8", "surrogatepass"))
