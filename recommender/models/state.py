"""Fitted state as JSON-able params plus named numpy arrays: how a model travels in a bundle.

Serving must fold in new events, embed new resources and place new learners without retraining,
so it needs the fitted model, not just its vectors. Pickles would tie a bundle to one version of
every class and run code on load; instead each fitted object says what it learned as
``(params, arrays)``: ``params`` a JSON-able dict, ``arrays`` a flat ``{name: ndarray}``, and
rebuilds itself with ``from_state(params, arrays)``. Nested objects (a hybrid's parts, the
content model inside a cold start) put their arrays under a ``prefix.``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.linear_model import Ridge

from recommender.errors import BundleError
from recommender.features import InteractionWeights

if TYPE_CHECKING:
    from recommender.models.base import EmbeddingModel

Params = dict[str, Any]
Arrays = dict[str, np.ndarray]
State = tuple[Params, Arrays]

# The two arrays every model has; a bundle stores them once, as its own vectors.
FACTOR_ARRAYS: tuple[str, str] = ("learner_factors_", "resource_factors_")


def jsonable(owner: str, name: str, value: object) -> Any:
    """``value`` after a JSON round trip (unchanged in meaning), else :class:`BundleError`."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise BundleError(
            f"{owner}.{name} ({type(value).__name__}) cannot be written to a bundle as JSON: {exc}"
        ) from None


def known_params(cls: type, params: Mapping[str, Any], moved: tuple[str, ...] = ()) -> Params:
    """``params`` without the keys in ``moved`` (parameters that left the class for a search:
    an older bundle still names them); any other unknown key raises :class:`BundleError`."""
    import inspect

    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = set(params) - accepted - set(moved)
    if unknown:
        raise BundleError(f"{cls.__name__} state names unknown parameters {sorted(unknown)}")
    return {name: value for name, value in params.items() if name in accepted}


def nest(prefix: str, arrays: Mapping[str, np.ndarray]) -> Arrays:
    """The arrays of a nested object, renamed under ``prefix.``."""
    return {f"{prefix}.{name}": value for name, value in arrays.items()}


def unnest(prefix: str, arrays: Mapping[str, np.ndarray]) -> Arrays:
    """The arrays stored under ``prefix.``, with the prefix removed."""
    head = f"{prefix}."
    return {name[len(head):]: value for name, value in arrays.items() if name.startswith(head)}


def need(arrays: Mapping[str, np.ndarray], name: str, owner: str) -> np.ndarray:
    """One required array, or a :class:`BundleError` naming what is missing."""
    if name not in arrays:
        raise BundleError(f"model state of {owner} lacks the array {name!r}")
    return arrays[name]


def ridge_state(ridge: Ridge) -> State:
    """A fitted Ridge as its coefficients (prediction is ``X @ coef.T + intercept``)."""
    params = {"alpha": float(ridge.alpha), "fit_intercept": bool(ridge.fit_intercept)}
    return params, {"coef": np.asarray(ridge.coef_), "intercept": np.asarray(ridge.intercept_)}


def ridge_from_state(params: Params, arrays: Mapping[str, np.ndarray]) -> Ridge:
    ridge = Ridge(alpha=params["alpha"], fit_intercept=params["fit_intercept"])
    ridge.coef_ = need(arrays, "coef", "Ridge")
    intercept = need(arrays, "intercept", "Ridge")
    ridge.intercept_ = intercept.item() if intercept.ndim == 0 else intercept
    ridge.n_features_in_ = int(ridge.coef_.shape[-1])
    return ridge


def model_kind(model: EmbeddingModel) -> str:
    """The ``MODELS`` name of a model's class (how a bundle names what to rebuild)."""
    from recommender.models import MODELS  # the registry imports the model modules

    for kind, cls in MODELS.items():
        if type(model) is cls:
            return kind
    raise BundleError(
        f"{type(model).__name__} is not in recommender.models.MODELS; a bundle can only name "
        "registered model classes"
    )


def model_state(model: EmbeddingModel) -> State:
    """``({"kind", "params"}, arrays)`` for any registered fitted model."""
    params, arrays = model.state()
    return {"kind": model_kind(model), "state": params}, arrays


def restore_model(params: Params, arrays: Mapping[str, np.ndarray]) -> EmbeddingModel:
    """The inverse of :func:`model_state`."""
    from recommender.models import MODELS

    kind = params.get("kind") if isinstance(params, Mapping) else None
    if kind not in MODELS:
        raise BundleError(f"bundle names model kind {kind!r}; this code knows {sorted(MODELS)}")
    return MODELS[kind].from_state(params["state"], dict(arrays))


def weights_state(weights: InteractionWeights | None) -> Params | None:
    """Interaction weights as JSON (None stays None: the defaults)."""
    if weights is None:
        return None
    return {
        "event_weights": dict(weights.event_weights),
        "use_value_for": list(weights.use_value_for),
        "half_life_days": weights.half_life_days,
        "log_scale": weights.log_scale,
        "ordinal_time": weights.ordinal_time,
    }


def weights_from_state(params: Params | None) -> InteractionWeights | None:
    if params is None:
        return None
    return InteractionWeights(
        event_weights={str(k): float(v) for k, v in params["event_weights"].items()},
        use_value_for=tuple(params["use_value_for"]),
        half_life_days=params["half_life_days"],
        log_scale=bool(params["log_scale"]),
        ordinal_time=bool(params.get("ordinal_time", False)),  # absent before ordinal time
    )
