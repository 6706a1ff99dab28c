"""Learner profile vectors: weighted one-hots of who the learner is, plus what they say they want.

``[w_group * onehot(group), ..., w_languages * multi-hot(languages), ...,
text_weight * text(interests)]``, L2-normalised. The interests go through the SAME fitted
:class:`~recommender.features.text.TextEncoder` as the catalog, so "想学智能手机" lands near a
smartphone course; the one-hots let a model learn what people like this learner tend to use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.preprocessing import normalize

from recommender.errors import InvalidParameterError, NotFittedError
from recommender.features.content import OneHotFields, _check_weights, _column
from recommender.features.text import TextEncoder

DEFAULT_PROFILE_WEIGHTS: dict[str, float] = {
    "group": 0.5,
    "age_band": 0.3,
    "urban_rural": 0.2,
    "region": 0.2,
    "education_level": 0.2,
    "languages": 0.2,
    "accessibility_needs": 0.2,
}
PROFILE_LIST_FIELDS: tuple[str, ...] = ("languages", "accessibility_needs")


def as_profile_frame(profile: pd.DataFrame | pd.Series | Mapping[str, object]) -> pd.DataFrame:
    """One learner (a Series or a mapping) or many (a frame) as a frame of profile rows."""
    if isinstance(profile, pd.DataFrame):
        return profile
    if isinstance(profile, pd.Series):
        return profile.to_frame().T.reset_index(drop=True)
    if isinstance(profile, Mapping):
        return pd.DataFrame([dict(profile)])
    raise InvalidParameterError("profile", type(profile).__name__, "a DataFrame, Series or mapping")


class ProfileEncoder(BaseEstimator):
    """Learners -> L2-normalised profile vectors (float32); ``text_slice_`` holds the interests.

    ``text_encoder`` must be the fitted encoder of the catalog (the same text space); ``None``
    fits one on the learners' interests alone, which is only useful on its own.
    """

    def __init__(
        self,
        text_encoder: TextEncoder | None = None,
        field_weights: Mapping[str, float] | None = None,
        text_weight: float = 1.0,
    ) -> None:
        self.text_encoder = text_encoder
        self.field_weights = field_weights
        self.text_weight = text_weight

    def fit(self, learners: pd.DataFrame) -> Self:
        if not isinstance(self.text_weight, (int, float)) or self.text_weight < 0:
            raise InvalidParameterError("text_weight", self.text_weight, "a number >= 0")
        weights = _check_weights(
            "field_weights",
            DEFAULT_PROFILE_WEIGHTS if self.field_weights is None else self.field_weights,
        )
        if self.text_encoder is None:
            encoder = TextEncoder().fit(_column(learners, "interests").tolist())
        elif not hasattr(self.text_encoder, "svd_"):
            raise NotFittedError(self.text_encoder)
        else:
            encoder = self.text_encoder
        self.text_encoder_ = encoder
        self.fields_ = OneHotFields(weights, PROFILE_LIST_FIELDS).fit(learners)
        self.text_slice_ = slice(self.fields_.dim_, self.fields_.dim_ + encoder.dim_)
        self.dim_ = self.fields_.dim_ + encoder.dim_
        return self

    def transform(self, learners: pd.DataFrame | pd.Series | Mapping[str, object]) -> np.ndarray:
        if not hasattr(self, "fields_"):
            raise NotFittedError(self)
        frame = as_profile_frame(learners)
        fields = self.fields_.transform(frame)
        text = self.text_encoder_.transform(_column(frame, "interests").tolist())
        return normalize(np.hstack([fields, self.text_weight * text])).astype(np.float32)

    def state(self, shared_text: bool = False) -> tuple[dict, dict[str, np.ndarray]]:
        """Params and field vocabularies; the text encoder's state too unless ``shared_text``
        (it is the catalog's, stored once by its owner and handed back to ``from_state``)."""
        if not hasattr(self, "fields_"):
            raise NotFittedError(self)
        params = {
            "params": {"field_weights": self.field_weights, "text_weight": self.text_weight},
            "fields": self.fields_.state(),
            "text": None,
        }
        if shared_text:
            return params, {}
        text_params, text_arrays = self.text_encoder_.state()
        params["text"] = text_params
        return params, {f"text.{name}": value for name, value in text_arrays.items()}

    @classmethod
    def from_state(
        cls, params: dict, arrays: dict[str, np.ndarray], text_encoder: TextEncoder | None = None
    ) -> Self:
        """Rebuild; ``text_encoder`` is the shared catalog encoder when the state has none."""
        if params["text"] is not None:
            text_arrays = {name[5:]: value for name, value in arrays.items() if name[:5] == "text."}
            text_encoder = TextEncoder.from_state(params["text"], text_arrays)
        if text_encoder is None:
            raise InvalidParameterError("text_encoder", None, "the shared catalog text encoder")
        encoder = cls(text_encoder=text_encoder, **params["params"])
        encoder.text_encoder_ = text_encoder
        encoder.fields_ = OneHotFields.from_state(params["fields"])
        encoder.text_slice_ = slice(encoder.fields_.dim_, encoder.fields_.dim_ + text_encoder.dim_)
        encoder.dim_ = encoder.fields_.dim_ + text_encoder.dim_
        return encoder

    def interest_vectors(
        self, learners: pd.DataFrame | pd.Series | Mapping[str, object]
    ) -> np.ndarray:
        """The stated interests alone, in the catalog's text space (zero rows when none)."""
        if not hasattr(self, "fields_"):
            raise NotFittedError(self)
        interests = _column(as_profile_frame(learners), "interests")
        return self.text_encoder_.transform(interests.tolist())
