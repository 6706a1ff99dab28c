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

    def interest_vectors(
        self, learners: pd.DataFrame | pd.Series | Mapping[str, object]
    ) -> np.ndarray:
        """The stated interests alone, in the catalog's text space (zero rows when none)."""
        if not hasattr(self, "fields_"):
            raise NotFittedError(self)
        interests = _column(as_profile_frame(learners), "interests")
        return self.text_encoder_.transform(interests.tolist())
