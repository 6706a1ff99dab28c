"""Offline evaluation: splits, metrics (each defined once) and model evaluation; group breakdowns
(:mod:`~recommender.evaluation.groups`) and equal service measured with CIs and history strata
(:mod:`~recommender.evaluation.equity`)."""
