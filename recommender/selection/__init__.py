"""Selection: searches that wrap estimators from outside (the ``GridSearchCV`` shape), and the
one way a configured model name and parameters become an estimator (:func:`build_model`)."""

from recommender.selection.base import SearchCV, chosen_estimator, map_served_cold_resources
from recommender.selection.build import build_model, check_model_params
from recommender.selection.equity import GroupAwareSearch
from recommender.selection.family import AUTO, CANDIDATES, FamilySearch
from recommender.selection.hybrid import HybridWeightSearch, weight_grid
from recommender.selection.recency import DEFAULT_WINDOW_CANDIDATES, RecencyWindowSearch
from recommender.selection.time_aware import TIME_AWARE_WINDOW_CANDIDATES, TimeAwareSearch

__all__ = [
    "AUTO",
    "CANDIDATES",
    "FamilySearch",
    "DEFAULT_WINDOW_CANDIDATES",
    "GroupAwareSearch",
    "HybridWeightSearch",
    "RecencyWindowSearch",
    "SearchCV",
    "chosen_estimator",
    "map_served_cold_resources",
    "TIME_AWARE_WINDOW_CANDIDATES",
    "TimeAwareSearch",
    "build_model",
    "check_model_params",
    "weight_grid",
]
