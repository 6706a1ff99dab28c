"""The one builder of a model from its configured name and parameters.

Training, tuning, experiments and benchmarks all call :func:`build_model`, so a config means the
same estimator everywhere: parameters checked against the constructor's signature (an unknown
key or a wrong type names the section and the key), converted to the annotated types, and the
run's seed given as ``random_state`` to every model that takes one, unless the config sets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recommender.callable_params import accepted_params, check_params, coerce_params
from recommender.errors import ConfigError
from recommender.features import InteractionWeights
from recommender.models import MODELS
from recommender.models.base import EmbeddingModel


def build_model(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: int | None = None,
    interaction_weights: InteractionWeights | None = None,
    section: str = "model",
) -> EmbeddingModel:
    """An unfitted estimator: ``MODELS[name]`` with ``params`` (checked, coerced), the seed,
    and the run's ``interaction_weights`` for a model (or search) that rebuilds features from
    events itself; :class:`ConfigError` names ``[section]`` and the key at fault."""
    cls = MODELS.get(name)
    if cls is None:
        raise ConfigError(f"[{section}] key 'name': unknown model {name!r}; "
                          f"choose from {sorted(MODELS)}")
    given = dict(params or {})
    problems = check_params(cls, given, section)
    if problems:
        raise ConfigError("; ".join(problems))
    kwargs = coerce_params(cls, given)
    if random_state is not None and "random_state" in accepted_params(cls):
        kwargs.setdefault("random_state", random_state)
    if interaction_weights is not None and "interaction_weights" in accepted_params(cls):
        if "interaction_weights" in given:
            raise ConfigError(f"[{section}] key 'interaction_weights': set [features] instead")
        kwargs["interaction_weights"] = interaction_weights
    return cls(**kwargs)
