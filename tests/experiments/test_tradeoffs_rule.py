"""The stated rule that picks the shipped defaults off the trade-off grid, on a hand-made grid."""

from __future__ import annotations

import pandas as pd

from experiments.tradeoffs import choose_defaults


def _grid(rows: list[tuple[float, float, float, float, float, float]]) -> pd.DataFrame:
    columns = ["equal_service", "calibration", "diversity", "cost_pct_worst",
               "largest_relative_gap", "local_vs_reachable"]
    return pd.DataFrame(rows, columns=columns)


def test_smallest_gap_within_the_cost_bound() -> None:
    table = _grid([
        (0.0, 0.0, 0.0, 0.0, 0.30, 0.1),   # today
        (0.5, 0.0, 0.0, 1.5, 0.25, 0.5),   # within 2%, smaller gap: chosen
        (1.0, 0.0, 0.0, 3.0, 0.10, 1.0),   # smallest gap but costs 3% at the CI's far end
        (0.0, 0.5, 0.0, 1.0, 0.29, 0.1),
    ])
    assert choose_defaults(table) == {"equal_service": 0.5, "calibration": 0.0, "diversity": 0.0}
    assert choose_defaults(table, max_cost=0.05)["equal_service"] == 1.0


def test_near_ties_go_to_exposure_then_the_lighter_touch() -> None:
    table = _grid([
        (0.0, 0.0, 0.0, 0.0, 0.300, 0.1),
        (0.5, 0.0, 0.0, 1.0, 0.250, 0.6),
        (0.75, 0.0, 0.0, 1.5, 0.253, 0.9),  # within 0.005 of the best gap, exposure nearer 1
        (0.75, 0.5, 0.0, 1.8, 0.254, 0.9),  # same exposure, heavier touch
    ])
    assert choose_defaults(table) == {"equal_service": 0.75, "calibration": 0.0, "diversity": 0.0}


def test_nothing_within_the_bound_keeps_today() -> None:
    table = _grid([(0.0, 0.0, 0.0, 0.0, 0.3, 0.1), (1.0, 0.0, 0.0, 5.0, 0.1, 1.0)])
    # today itself costs nothing, so it is always eligible
    assert choose_defaults(table)["equal_service"] == 0.0
