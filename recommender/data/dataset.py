"""A validated set of the contract's tables, as returned by :func:`validate_dataset`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

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
            # Native dtypes hash directly (timestamps as integers): no per-cell string copies.
            hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
            digest.update(hashed.tobytes())
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
