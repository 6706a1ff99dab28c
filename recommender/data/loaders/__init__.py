"""Loaders that turn third-party education data, read in its original format, into the contract.

Each loader takes the directory holding the files as shipped and returns a validated
:class:`~recommender.data.Dataset`; every mapping decision is documented in its module:

* :func:`load_oulad` - Open University Learning Analytics Dataset (students x VLE sites, daily
  clicks; CC BY 4.0).
* :func:`load_mars` - Mandarine Academy workplace-training micro-videos (views, watch-time
  ratings, item text).
* :func:`load_canvas` - Canvas Network person-course (MOOC registrations, quarter dates).

A missing directory or file, or a cell that does not parse, raises
:class:`~recommender.errors.DataValidationError` naming the file.
"""

from __future__ import annotations

from collections.abc import Callable

from recommender.data.dataset import Dataset
from recommender.data.loaders.canvas import load_canvas
from recommender.data.loaders.mars import load_mars
from recommender.data.loaders.oulad import load_oulad

LOADERS: dict[str, Callable[..., Dataset]] = {
    "oulad": load_oulad,
    "mars": load_mars,
    "canvas": load_canvas,
}

__all__ = ["LOADERS", "load_canvas", "load_mars", "load_oulad"]
