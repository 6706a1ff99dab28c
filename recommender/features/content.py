"""Resource content vectors: the text part plus weighted one-hots of categorical fields.

A resource's vector is ``[text_weight * text, w_category * onehot(category), w_level *
onehot(level), ...]``, L2-normalised, so the inner product of two resources is a cosine that
mostly follows what the resource is about and then how it is delivered. The text part lives in
the :class:`~recommender.features.text.TextEncoder` space, so free text (a learner's stated
interests, a search query) can be placed in the same space with :meth:`ContentEncoder.embed_text`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.preprocessing import normalize

from recommender.data.schema import LIST_SEPARATOR
from recommender.errors import InvalidParameterError, NotFittedError
from recommender.features.text import TextEncoder

# Category ids are English snake_case; a bilingual label lets Chinese text match them too.
CATEGORY_LABELS: dict[str, str] = {
    "vocational_skills": "职业技能 vocational skills",
    "digital_literacy": "数字素养 数字技能 digital literacy",
    "agricultural_technology": "农业技术 agricultural technology",
    "health_elderly_care": "健康养老 health elderly care",
    "literacy": "扫盲识字 literacy",
    "law_civics": "法律常识 公民知识 law civics",
    "culture_leisure": "文化休闲 culture leisure",
    "family_education": "家庭教育 family education",
    "entrepreneurship": "创业 entrepreneurship",
}

DEFAULT_FIELD_WEIGHTS: dict[str, float] = {
    "category": 0.5,
    "level": 0.2,
    "mode": 0.2,
    "provider_type": 0.2,
}


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[name].astype(object).where(frame[name].notna(), "").astype(str)


def resource_texts(resources: pd.DataFrame) -> list[str]:
    """Title, description, tags and category label of each resource, as one string."""
    category = _column(resources, "category")
    label = category.map(lambda c: CATEGORY_LABELS.get(c, c.replace("_", " ")))
    tags = _column(resources, "tags").str.replace(LIST_SEPARATOR, " ", regex=False)
    parts = [_column(resources, "title"), _column(resources, "description"), tags, label]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + " " + part
    return joined.str.strip().tolist()


class OneHotFields:
    """Weighted one-hot blocks for categorical columns; missing or unseen values give zeros."""

    def __init__(self, weights: Mapping[str, float], list_fields: Sequence[str] = ()) -> None:
        self.weights = dict(weights)
        self.list_fields = tuple(list_fields)

    def fit(self, frame: pd.DataFrame) -> Self:
        self.categories_: dict[str, list[str]] = {}
        for name in self.weights:
            # Distinct cells only: a column of a million learners holds a handful of values.
            cells = pd.unique(_column(frame, name).to_numpy(dtype=object))
            if name in self.list_fields:
                members = {v for cell in cells for v in cell.split(LIST_SEPARATOR) if v}
            else:
                members = {cell for cell in cells if cell}
            self.categories_[name] = sorted(members)
        self.dim_ = sum(len(c) for c in self.categories_.values())
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        blocks = []
        for name, weight in self.weights.items():
            codes, cells = pd.factorize(_column(frame, name).to_numpy(dtype=object))
            blocks.append(weight * self._block(name, pd.Series(cells, dtype=object))[codes])
        if not blocks:
            return np.zeros((len(frame), 0), dtype=np.float32)
        return np.hstack(blocks)

    def _block(self, name: str, cells: pd.Series) -> np.ndarray:
        """The unweighted one-hot rows of distinct ``cells`` of field ``name``.

        Plain dictionary lookups over the distinct cells (a handful, or one for a single
        profile): pandas' string methods cost a newcomer's request milliseconds per field."""
        position = self._positions(name)
        block = np.zeros((len(cells), len(position)), dtype=np.float32)
        for row, cell in enumerate(cells.tolist()):
            if name in self.list_fields:  # a list field spreads its weight over its members
                found = {position[m] for m in cell.split(LIST_SEPARATOR) if m in position}
                if found:
                    block[row, list(found)] = 1.0 / np.sqrt(len(found))
            elif cell in position:
                block[row, position[cell]] = 1.0
        return block

    def _positions(self, name: str) -> dict[str, int]:
        """Category -> column of field ``name`` (built once per field)."""
        positions = self.__dict__.setdefault("_positions_by_field", {})
        if name not in positions:
            positions[name] = {c: j for j, c in enumerate(self.categories_[name])}
        return positions[name]

    def state(self) -> dict:
        """The fitted vocabularies, as JSON."""
        return {"weights": self.weights, "list_fields": list(self.list_fields),
                "categories": self.categories_}

    @classmethod
    def from_state(cls, params: dict) -> OneHotFields:
        fields = cls(params["weights"], params["list_fields"])
        fields.categories_ = {name: list(values) for name, values in params["categories"].items()}
        fields.dim_ = sum(len(c) for c in fields.categories_.values())
        return fields


def _check_weights(name: str, weights: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(weights, Mapping):
        raise InvalidParameterError(name, weights, "a mapping of column name to weight")
    for key, value in weights.items():
        if not isinstance(value, (int, float)) or value < 0:
            raise InvalidParameterError(f"{name}[{key!r}]", value, "a weight >= 0")
    return dict(weights)


class ContentEncoder(BaseEstimator):
    """Resources -> L2-normalised content vectors ``[text | weighted one-hots]`` (float32).

    ``text_slice_`` is where the text part sits, so free text maps into the same space.
    """

    def __init__(
        self,
        n_components: int = 128,
        text_weight: float = 1.0,
        field_weights: Mapping[str, float] | None = None,
        analyzer: str = "mixed",
        random_state: int = 0,
    ) -> None:
        self.n_components = n_components
        self.text_weight = text_weight
        self.field_weights = field_weights
        self.analyzer = analyzer
        self.random_state = random_state

    def fit(self, resources: pd.DataFrame) -> Self:
        """Fit the text encoder on the catalog's text and the field vocabularies."""
        texts = self._fit(resources)  # creates text_encoder_
        self.text_encoder_.fit(texts)
        self._set_dims()
        return self

    def fit_transform(self, resources: pd.DataFrame) -> np.ndarray:
        """``fit(resources).transform(resources)``, reading the catalog's text once."""
        texts = self._fit(resources)  # creates text_encoder_
        text = self.text_encoder_.fit_transform(texts)
        self._set_dims()
        return self._combine(text, resources)

    def _fit(self, resources: pd.DataFrame) -> list[str]:
        """Everything but the text encoder's own fit (it creates ``text_encoder_``); returns the
        texts to fit it on."""
        if not isinstance(self.text_weight, (int, float)) or self.text_weight <= 0:
            raise InvalidParameterError("text_weight", self.text_weight, "a number > 0")
        chosen = DEFAULT_FIELD_WEIGHTS if self.field_weights is None else self.field_weights
        weights = _check_weights("field_weights", chosen)
        self.text_encoder_ = TextEncoder(
            n_components=self.n_components, analyzer=self.analyzer, random_state=self.random_state
        )
        self.fields_ = OneHotFields(weights).fit(resources)
        return resource_texts(resources)

    def _set_dims(self) -> None:
        self.text_slice_ = slice(0, self.text_encoder_.dim_)
        self.dim_ = self.text_encoder_.dim_ + self.fields_.dim_

    def _check_fitted(self) -> None:
        if not hasattr(self, "dim_"):
            raise NotFittedError(self)

    def transform(self, resources: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        return self._combine(self.text_encoder_.transform(resource_texts(resources)), resources)

    def _combine(self, text: np.ndarray, resources: pd.DataFrame) -> np.ndarray:
        fields = self.fields_.transform(resources)
        return normalize(np.hstack([self.text_weight * text, fields])).astype(np.float32)

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Params, field vocabularies and the text encoder's state (arrays under ``text.``)."""
        self._check_fitted()
        text_params, text_arrays = self.text_encoder_.state()
        params = {"params": self.get_params(), "fields": self.fields_.state(), "text": text_params}
        return params, {f"text.{name}": value for name, value in text_arrays.items()}

    @classmethod
    def from_state(cls, params: dict, arrays: dict[str, np.ndarray]) -> Self:
        encoder = cls(**params["params"])
        text_arrays = {name[5:]: value for name, value in arrays.items() if name[:5] == "text."}
        encoder.text_encoder_ = TextEncoder.from_state(params["text"], text_arrays)
        encoder.fields_ = OneHotFields.from_state(params["fields"])
        encoder._set_dims()
        return encoder

    def embed_text(self, texts: Sequence[str | None]) -> np.ndarray:
        """Free text placed in content space: the text part only, L2-normalised."""
        self._check_fitted()
        out = np.zeros((len(texts), self.dim_), dtype=np.float32)
        out[:, self.text_slice_] = self.text_encoder_.transform(texts)
        return out
