"""The model section: a :data:`recommender.models.MODELS` name plus its hyper-parameters, or
``auto``: the family and its hyper-parameters chosen on validation data
(:class:`recommender.selection.FamilySearch`).

Hyper-parameters are the table's other keys. They are checked when the file is read, by the
one builder itself (:func:`recommender.selection.build_model`: an estimator's constructor only
stores its hyper-parameters, so building one is cheap), so a file is accepted exactly when a run
can build its model, and a typo fails before any work.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator, model_validator

from recommender.errors import ConfigError
from recommender.evaluation.splits import SplitSpec
from recommender.features import InteractionWeights
from recommender.models import MODELS
from recommender.models.base import EmbeddingModel
from recommender.selection import AUTO, build_model
from recommender.spec.base import PROBLEM_SEPARATOR, OptionsSection

_HERE = "<this section>"  # build_model's section name while validating; the formatter names it


class ModelSection(OptionsSection):
    """``name`` and the constructor's keyword arguments (every key besides ``name``)."""

    name: str

    @field_validator("name")
    @classmethod
    def _known_model(cls, name: str) -> str:
        if name not in MODELS and name != AUTO:
            raise ValueError(f"unknown model {name!r}; choose from {sorted([*MODELS, AUTO])}")
        return name

    @model_validator(mode="after")
    def _known_params(self) -> ModelSection:
        if "interaction_weights" in self.params:
            raise ValueError("key 'interaction_weights': set [features] instead")
        try:
            build_model(self.name, self.params, section=_HERE)
        except ConfigError as error:  # re-raised for the formatter, which knows the section
            problems = [p.strip().removesuffix(";") for p in str(error).split(f"[{_HERE}] ")]
            raise ValueError(PROBLEM_SEPARATOR.join(p for p in problems if p)) from None
        return self

    @property
    def params(self) -> dict[str, Any]:
        """The hyper-parameters as written (extra keys of subclasses' own fields excluded)."""
        return self.options

    def build(
        self,
        *,
        random_state: int,
        interaction_weights: InteractionWeights | None = None,
        section: str = "model",
        validation: SplitSpec | None = None,
        cold_resources: str | None = None,
    ) -> EmbeddingModel:
        """An unfitted estimator seeded with the run's ``random_state`` (unless the section
        sets its own), given the run's feature weights where it rebuilds features itself and
        ``validation`` (:meth:`HoldoutSplit.validation_within` of the run's split) and
        ``cold_resources`` (how the run scores resources new to its training events) where it
        chooses on a configured split (``auto``)."""
        return build_model(self.name, self.params, random_state=random_state,
                           interaction_weights=interaction_weights, section=section,
                           validation=validation, cold_resources=cold_resources)
