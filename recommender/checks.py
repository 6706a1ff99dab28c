"""Parameter checks shared across the library (raise InvalidParameterError, never assert)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from recommender.errors import InvalidParameterError


def is_number(value: object) -> bool:
    """A finite real number (bools are not numbers here)."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.integer, np.floating))
        and math.isfinite(value)
    )


def is_missing(value: object) -> bool:
    """None, pandas' NA or a float NaN: an empty cell."""
    return value is None or value is pd.NA or (
        isinstance(value, (float, np.floating)) and math.isnan(value)
    )


def check_k(k: object, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidParameterError(name, k, "an integer >= 1")
    return int(k)


def check_number(
    name: str, value: object, low: float = 0.0, high: float = math.inf, *, open_low: bool = False
) -> float:
    """``value`` as a float in [low, high] (or (low, high] with ``open_low``)."""
    if not is_number(value) or value > high or value < low or (open_low and value == low):
        left = "(" if open_low else "["
        right = "]" if math.isfinite(high) else ")"
        raise InvalidParameterError(name, value, f"a number in {left}{low:g}, {high:g}{right}")
    return float(value)  # type: ignore[arg-type]
