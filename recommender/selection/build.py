"""The one builder of a model from its configured name and parameters.

Training, tuning, experiments and benchmarks all call :func:`build_model`, so a config means the
same estimator everywhere: parameters checked against the constructor's signature (an unknown
key or a wrong type names the section and the key), converted to the annotated types, and the
run's seed given as ``random_state`` to every model that takes one, unless the config sets it.

A config that asks for a choice on validation data gets the search around the estimator
(:mod:`recommender.selection`), fitted and used like the model itself:

- ``auto`` (the default of a training config without a ``[model]`` name):
  :class:`FamilySearch` chooses the family and its main hyper-parameters (keys
  ``candidates``, ``budget_factor``, ``hybrid_parts``, ...);

- ``hybrid`` without ``weights``: :class:`HybridWeightSearch` (keys ``grid_step``,
  ``validation_fraction``, ...);
- ``time_aware``: :class:`TimeAwareSearch` for its recency windows unless ``window_days`` /
  ``breadth_window_days`` (or ``parts``) are given, and for its weights unless ``weights`` are
  (keys ``window_candidates``, ``grid_step``, ``validation_cuts``, ``horizon_days``, ``k``);
- ``hybrid`` parts given with hyper-parameters (``parts = [["ease", {regularization = 300}],
  "als"]`` or a table ``[model.parts.ease] regularization = 300``): each part is built here
  too, a full model spec, so ``tune.space`` can address ``model.parts.ease.regularization``
  and ``model.weights.ease``;
- a recent-popularity model with ``window_days = "validation"``: :class:`RecencyWindowSearch`
  (keys ``window_candidates``, ``validation_cuts``, ``horizon_days``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recommender.callable_params import accepted_params, check_params, coerce_params
from recommender.errors import ConfigError, InvalidParameterError
from recommender.evaluation.splits import SplitSpec
from recommender.features import InteractionWeights
from recommender.models import MODELS, HybridModel, RecentPopularityModel, TimeAwareModel
from recommender.models.base import EmbeddingModel
from recommender.models.hybrid import part_family, part_list
from recommender.selection.base import SearchCV
from recommender.selection.family import AUTO, CANDIDATES, FamilySearch
from recommender.selection.hybrid import HybridWeightSearch
from recommender.selection.recency import RecencyWindowSearch
from recommender.selection.time_aware import WINDOW_PARTS, TimeAwareSearch

CHOOSE_WINDOW = "validation"  # window_days in a config file (TOML has no null): choose it
# Search parameters a config never sets: the estimator, and what the run supplies.
_NOT_CONFIGURED = ("estimator", "interaction_weights", "windows", "validation")


@dataclass
class _Plan:
    """How a configured model is built: the estimator's and (if any) the search's arguments."""

    cls: type[EmbeddingModel]
    estimator: dict[str, Any]
    search: type[SearchCV] | None = None
    search_params: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _search_of(cls: type[EmbeddingModel], given: dict[str, Any]) -> tuple[
    type[SearchCV] | None, dict[str, Any], set[str]
]:
    """The search a config asks for (None: none), its fixed arguments, and the estimator keys
    that only say "choose this" (dropped before the estimator sees them)."""
    if issubclass(cls, TimeAwareModel):
        has_part = {"window_days": True, "breadth_window_days": given.get("breadth_groups")
                    is not None}  # a window whose default part the model leaves out is moot
        choose = [name for name in WINDOW_PARTS if "parts" not in given and has_part[name]
                  and given.get(name, CHOOSE_WINDOW) in (None, CHOOSE_WINDOW)]
        weights = given.get("weights") is None
        asking = {name for name in (*WINDOW_PARTS, "weights")
                  if name in given and given[name] in (None, CHOOSE_WINDOW)}
        if not choose and not weights:
            return None, {}, asking
        return TimeAwareSearch, {"windows": tuple(choose),
                                 **({} if weights else {"grid_step": None})}, asking
    if issubclass(cls, HybridModel):
        if given.get("weights") is None:
            return HybridWeightSearch, {}, {"weights"} & set(given)
        return None, {}, set()
    if issubclass(cls, RecentPopularityModel):
        if "window_days" in given and given["window_days"] in (None, CHOOSE_WINDOW):
            return RecencyWindowSearch, {}, {"window_days"}
    return None, {}, set()


def _built_parts(
    parts: Any, section: str, random_state: int | None
) -> tuple[Any, list[str]]:
    """A hybrid's configured parts with each ``(name, params)`` part built by
    :func:`build_model` (its keys checked and coerced, its own search if it asks for one),
    so every part is a full model spec; problems name ``[section] parts.<name>``."""
    if not isinstance(parts, (Mapping, list, tuple)):
        return parts, []  # the constructor's type check reports it
    try:
        specs = part_list(parts)
    except InvalidParameterError as error:
        return parts, [f"[{section}] key 'parts': {error}"]
    built: list[Any] = []
    problems: list[str] = []
    for spec in specs:
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Mapping)):
            built.append(spec)
            continue
        name = str(spec[0])
        family, part_params = part_family(name, spec[1])
        where = f"{section}] parts.{name}:"
        if family == "hybrid" or family not in MODELS:
            allowed = sorted(set(MODELS) - {"hybrid"})
            problems.append(f"[{section}] parts.{name}: unknown model {family!r}; a part is "
                            f"one of {allowed} (give model = \"<family>\" when the part "
                            "name is a label)")
            continue
        try:
            built.append((name, build_model(family, part_params, section=where,
                                            random_state=random_state)))
        except ConfigError as error:
            problems.append(str(error).replace(f"[{where}] ", f"[{section}] parts.{name}: "))
    return built, problems


def _plan(
    name: str, params: Mapping[str, Any] | None, section: str, random_state: int | None = None
) -> _Plan:
    if name == AUTO:  # the default: a search over families, configured by its own keys
        given = {k: v for k, v in dict(params or {}).items() if k not in _NOT_CONFIGURED}
        problems = check_params(FamilySearch, dict(params or {}), section,
                                skip=_NOT_CONFIGURED)
        labels = given.get("candidates")
        if isinstance(labels, (list, tuple)):
            problems += [f"[{section}] key 'candidates': unknown {label!r}; choose from "
                         f"{list(CANDIDATES)}" for label in labels if label not in CANDIDATES]
        return _Plan(FamilySearch, given, problems=problems)
    cls = MODELS.get(name)
    if cls is None:
        raise ConfigError(f"[{section}] key 'name': unknown model {name!r}; "
                          f"choose from {sorted([*MODELS, AUTO])}")
    given = dict(params or {})
    part_problems: list[str] = []
    if issubclass(cls, HybridModel) and given.get("parts") is not None:
        given["parts"], part_problems = _built_parts(given["parts"], section, random_state)
    search, fixed, asking = _search_of(cls, given)
    own = set(accepted_params(cls))
    searched = (set(accepted_params(search)) - set(_NOT_CONFIGURED) - set(fixed)
                if search is not None else set())
    plan = _Plan(cls, {}, search, {})
    for key, value in given.items():
        if key in asking:
            continue
        if key in searched:  # e.g. a scheduled model's horizon_days: the same days to both
            plan.search_params[key] = value
        if key in own or key not in searched:
            if key not in own and _is_search_key(cls, key):
                plan.problems.append(
                    f"[{section}] key {key!r}: only used when the model's weights or window "
                    "are chosen on validation data, and this config fixes them"
                )
                continue
            plan.estimator[key] = value
    plan.problems += part_problems or check_params(cls, plan.estimator, section)
    if search is not None:
        plan.problems += check_params(search, plan.search_params, section, skip=_NOT_CONFIGURED)
        plan.search_params.update(fixed)
    return plan


def _is_search_key(cls: type[EmbeddingModel], key: str) -> bool:
    """Is ``key`` a parameter of a search this kind of model can have?"""
    return key not in _NOT_CONFIGURED and any(
        issubclass(cls, search.estimator_class) and key in accepted_params(search)
        for search in (TimeAwareSearch, HybridWeightSearch, RecencyWindowSearch)
    )


def check_model_params(
    name: str, params: Mapping[str, Any] | None, section: str = "model"
) -> list[str]:
    """Problems with a configured model, each naming ``[section]`` and the key (empty: none):
    what :func:`build_model` would refuse, for config checks that run before any data."""
    try:
        return _plan(name, params, section).problems
    except ConfigError as error:
        return [str(error)]


def build_model(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    random_state: int | None = None,
    interaction_weights: InteractionWeights | None = None,
    section: str = "model",
    validation: SplitSpec | None = None,
    cold_resources: str | None = None,
) -> EmbeddingModel:
    """An unfitted estimator: ``MODELS[name]`` with ``params`` (checked, coerced), the seed,
    wrapped in the search the config asks for (module docstring); the run's
    ``interaction_weights`` go to a search that rebuilds features from events itself (the
    hybrid's; the recency and time-aware searches judge on raw events and take none), and
    ``validation`` (the run's split replayed inside the events to fit) to a search that
    validates on a configured split (the family search's), with ``cold_resources``, how the
    run scores resources without training interactions, unless ``params`` set it (so the
    search validates as the run's test is scored).
    :class:`ConfigError` names ``[section]`` and the key at fault."""
    plan = _plan(name, params, section, random_state)
    if "interaction_weights" in dict(params or {}):
        plan.problems.append(f"[{section}] key 'interaction_weights': set [features] instead")
    if plan.problems:
        raise ConfigError("; ".join(plan.problems))
    kwargs = coerce_params(plan.cls, plan.estimator)
    if random_state is not None and "random_state" in accepted_params(plan.cls):
        kwargs.setdefault("random_state", random_state)
    if interaction_weights is not None and "interaction_weights" in accepted_params(plan.cls):
        kwargs["interaction_weights"] = interaction_weights  # the family search's
    if validation is not None and "validation" in accepted_params(plan.cls):
        kwargs["validation"] = validation
    if cold_resources is not None and "cold_resources" in accepted_params(plan.cls):
        kwargs.setdefault("cold_resources", cold_resources)
    estimator = plan.cls(**kwargs)
    if plan.search is None:
        return estimator
    search_kwargs = coerce_params(plan.search, plan.search_params)
    if interaction_weights is not None and "interaction_weights" in accepted_params(plan.search):
        search_kwargs["interaction_weights"] = interaction_weights
    return plan.search(estimator, **search_kwargs)
