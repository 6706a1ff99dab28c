"""What a fitted search chose, in one shape for every front end.

``recommender train`` prints it and logs it to its MLflow run; ``experiment run`` writes it into
the report and the model's MLflow run. Both read it from here, so "what did the default choose"
has one answer: the chosen candidate and its parameters, every candidate's validation score
(``cv_results_``), the time budget (``fit_seconds_``, ``budget_seconds_``, ``within_budget_``)
and which validation split the choice was made on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from recommender.selection.base import SearchCV

_SECONDS = ("budget_seconds", "reference_seconds", "fit_seconds", "refit_seconds",
            "content_reader_seconds", "min_budget_seconds")


@dataclass(frozen=True)
class SelectionRecord:
    """One search's choice (see the module docstring); ``seconds`` keys are
    ``selection_<name>`` for each of the search's timings it has."""

    search: str
    best: str
    best_params: dict[str, Any]
    candidates: pd.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)
    within_budget: bool | None = None
    validation: str | None = None

    def params(self) -> dict[str, str]:
        """MLflow parameters: the search, its choice, the choice's parameters (JSON) and the
        validation it was made on."""
        out = {"selection.search": self.search, "selection.best": self.best,
               "selection.best_params": json.dumps(self.best_params, sort_keys=True,
                                                   default=str)[:500]}
        if self.validation is not None:
            out["selection.validation"] = self.validation[:500]
        return out

    def metrics(self) -> dict[str, float]:
        """MLflow metrics: the timings, whether the fit stayed within its budget, and each
        scored candidate's validation score (``selection.score.<candidate>``)."""
        out = dict(self.seconds)
        if self.within_budget is not None:
            out["selection_within_budget"] = float(self.within_budget)
        metric = self.metric
        if metric is not None and "candidate" in self.candidates.columns:
            for row in self.candidates.itertuples(index=False):
                value = getattr(row, metric)
                if isinstance(value, (int, float)) and math.isfinite(value):
                    out[f"selection.score.{row.candidate}"] = float(value)
        return out

    @property
    def metric(self) -> str | None:
        """The validation metric's column of ``candidates`` (e.g. ``ndcg_at_10``)."""
        return next((str(c) for c in self.candidates.columns if "_at_" in str(c)), None)

    def describe(self) -> str:
        """One sentence: what was chosen, on which validation, within which budget."""
        text = f"chose {self.best}"
        seconds = self.seconds
        if {"selection_budget_seconds", "selection_fit_seconds"} <= set(seconds):
            budget, spent = seconds["selection_budget_seconds"], seconds["selection_fit_seconds"]
            reference = seconds.get("selection_reference_seconds", float("nan"))
            reader = seconds.get("selection_content_reader_seconds", 0.0)
            floor = seconds.get("selection_min_budget_seconds", 0.0)
            verdict = "within" if spent <= budget else "OVER"
            bound = f"the floor of {floor:.0f} s, " if floor and budget - reader <= floor else ""
            text += (f": {spent:.2f} s for the search and its refit, {verdict} the budget of "
                     f"{budget:.2f} s ({bound}{(budget - reader) / reference:.0f} x one default "
                     f"ALS fit of {reference:.2f} s on the validation split"
                     + (f", plus {reader:.2f} s for the content reader" if reader else "") + ")")
        if self.validation is not None:
            text += f"; validated on {self.validation}"
        return text


def selection_record(model: Any) -> SelectionRecord | None:
    """The record of a fitted search (``None`` for a model that chose nothing)."""
    table = getattr(model, "cv_results_", None)
    if not isinstance(model, SearchCV) or not isinstance(table, pd.DataFrame):
        return None
    best_params = dict(model.best_params_)
    best = str(best_params.get("candidate", json.dumps(best_params, sort_keys=True,
                                                        default=str)))
    seconds = {f"selection_{name}": float(value) for name in _SECONDS
               if isinstance(value := model.__dict__.get(f"{name}_"), (int, float))}
    within = model.__dict__.get("within_budget_")
    validation = model.__dict__.get("validation_name_")
    return SelectionRecord(
        search=type(model).__name__, best=best, best_params=best_params,
        candidates=table, seconds=seconds,
        within_budget=None if within is None else bool(within),
        validation=None if validation is None else str(validation),
    )
