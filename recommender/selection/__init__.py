"""Selection: searches that wrap estimators from outside (the ``GridSearchCV`` shape), and the
one way a configured model name and parameters become an estimator (:func:`build_model`)."""

from recommender.selection.build import build_model

__all__ = ["build_model"]
