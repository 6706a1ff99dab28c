"""CJK-aware text -> dense vector: TF-IDF over character n-grams, then TruncatedSVD, L2-normalised.

Chinese is written without spaces, so word tokenisation needs a segmenter (and a dictionary
that knows "智能手机"). Character n-grams need neither: "想学智能手机" and
"智能手机入门" share "智能", "能手", "手机", "智能手" ... and land close together. The
default ``"mixed"`` analyzer splits text into runs of CJK characters and other words: CJK runs
give character 1..3-grams, other words (English, pinyin, numbers) give the lower-cased word
itself plus its character n-grams inside word boundaries (so "smartphone" meets
"smartphones"). ``"char_wb"`` is scikit-learn's built-in analyzer, kept for comparison.
TruncatedSVD folds the sparse n-grams into a small dense vector (latent semantic analysis), so
text joins the one embedding space.

Measured on the sample world (learners' Chinese interests -> the resources they used, recall@20
over 1,839 learners): mixed 0.371, char_wb 0.362, jieba words 0.369 (all TF-IDF + SVD-128). A
segmenter buys nothing here, so there is no jieba dependency.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from recommender.errors import InvalidParameterError, NotFittedError

# CJK ideographs (incl. extension A and compatibility), kana and hangul: scripts without spaces.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
ANALYZERS: tuple[str, ...] = ("mixed", "char_wb")


class MixedAnalyzer:
    """Text -> n-gram features for Chinese, English and mixed text, without a segmenter.

    A class rather than a closure so a fitted vectorizer pickles.
    """

    def __init__(
        self, ngram_range: tuple[int, int] = (1, 3), word_ngram_range: tuple[int, int] = (3, 5)
    ) -> None:
        self.ngram_range = ngram_range
        self.word_ngram_range = word_ngram_range

    def __call__(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).lower()  # full-width -> half-width
        features: list[str] = []
        for cjk, word in _RUNS.findall(text):
            if cjk:
                features.extend(_cjk_ngrams(cjk, *self.ngram_range))
            else:
                features.extend(_word_ngrams(word, *self.word_ngram_range))
        return features


# Texts are built from a small vocabulary of words and phrases (topic names, templates), so the
# same run recurs across thousands of texts: its n-grams are computed once.
@lru_cache(maxsize=1 << 16)
def _cjk_ngrams(run: str, low: int, high: int) -> tuple[str, ...]:
    return tuple(run[i: i + n] for n in range(low, high + 1) for i in range(len(run) - n + 1))


@lru_cache(maxsize=1 << 16)
def _word_ngrams(word: str, low: int, high: int) -> tuple[str, ...]:
    """The word itself plus its character n-grams inside word boundaries."""
    padded = f" {word} "
    grams = (padded[i: i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1))
    return (word, *grams)


def _check_texts(texts: Iterable[str | None]) -> list[str]:
    """Strings, with missing cells (None, NaN, pd.NA) as empty text."""
    if isinstance(texts, str):
        raise InvalidParameterError("texts", texts, "a sequence of strings, not one string")
    return [t if isinstance(t, str) else "" if t is None or pd.isna(t) else str(t) for t in texts]


# A fit is a pure function of the texts and the parameters, and one process often fits the same
# catalog's encoder several times: the default model search's validation reader, its content
# candidate and its refit, every model's new-resource mapping in an experiment, the cold start
# `train` bundles. The last few fits are kept and reused (their fitted parts are never changed
# after fit); on MARS's catalog (1,167 long descriptions) a fit takes 5 s.
_MAX_KEPT_FITS = 2
_kept_fits: OrderedDict[tuple, tuple[TfidfVectorizer, TruncatedSVD, int, np.ndarray]] = OrderedDict()
_kept_fits_lock = threading.Lock()


def _fit_key(params: dict, docs: Sequence[str]) -> tuple:
    digest = hashlib.blake2b(digest_size=16)
    for doc in docs:
        digest.update(doc.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return tuple(sorted((name, repr(value)) for name, value in params.items())), len(docs), \
        digest.hexdigest()


class TextEncoder(BaseEstimator):
    """TF-IDF (character n-grams) + TruncatedSVD; ``transform`` gives L2-normalised float32 rows.

    Fit it on the catalog; queries, interests and new resources then go through ``transform``.
    (Adding learners' distinct stated interests to the fit made its cost grow with the number
    of learners for no gain: on the sample world with 33k learners, interests -> the resources
    they used, recall@20 was 0.146 fitted on the catalog vs 0.142 with the interests, in a
    third of the time.)
    Rows with no known n-gram come out as zero vectors (they match nothing), never as NaN.
    """

    def __init__(
        self,
        n_components: int = 128,
        analyzer: str = "mixed",
        ngram_range: tuple[int, int] = (1, 3),
        min_df: int = 1,
        max_df: float = 0.5,
        sublinear_tf: bool = True,
        random_state: int = 0,
    ) -> None:
        self.n_components = n_components
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.sublinear_tf = sublinear_tf
        self.random_state = random_state

    def _vectorizer(self) -> TfidfVectorizer:
        # float32 TF-IDF: the SVD runs in float32 too, twice as fast, with the same recall.
        if self.analyzer == "mixed":
            return TfidfVectorizer(
                analyzer=MixedAnalyzer(tuple(self.ngram_range)),
                min_df=self.min_df, max_df=self.max_df, sublinear_tf=self.sublinear_tf,
                dtype=np.float32,
            )
        if self.analyzer == "char_wb":
            return TfidfVectorizer(
                analyzer="char_wb", ngram_range=tuple(self.ngram_range), lowercase=True,
                min_df=self.min_df, max_df=self.max_df, sublinear_tf=self.sublinear_tf,
                dtype=np.float32,
            )
        raise InvalidParameterError("analyzer", self.analyzer, f"one of {ANALYZERS}")

    def fit(self, texts: Sequence[str | None]) -> Self:
        """Learn the n-gram vocabulary, IDF weights and the SVD projection from ``texts``."""
        self._fit(texts)
        return self

    def fit_transform(self, texts: Sequence[str | None]) -> np.ndarray:
        """``fit(texts).transform(texts)``, without reading ``texts`` twice."""
        return self._fit(texts)

    def _fit(self, texts: Sequence[str | None]) -> np.ndarray:
        """Fit, and return the vectors of ``texts``."""
        wanted = self.n_components
        if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 1:
            raise InvalidParameterError("n_components", wanted, "an integer >= 1")
        docs = _check_texts(texts)
        if len(docs) < 2:
            raise InvalidParameterError("texts", len(docs), "at least 2 texts to fit on")
        key = _fit_key(self.get_params(), docs)
        with _kept_fits_lock:
            kept = _kept_fits.get(key)
            if kept is not None:
                _kept_fits.move_to_end(key)
        if kept is not None:
            self.vectorizer_, self.svd_, self.dim_, vectors = kept
            return vectors.copy()
        vectors = self._fit_new(docs)
        with _kept_fits_lock:
            _kept_fits[key] = (self.vectorizer_, self.svd_, self.dim_, vectors.copy())
            while len(_kept_fits) > _MAX_KEPT_FITS:
                _kept_fits.popitem(last=False)
        return vectors

    def _fit_new(self, docs: list[str]) -> np.ndarray:
        """The fit itself: TF-IDF, then the SVD; the vectors of ``docs``."""
        wanted = self.n_components
        vectorizer = self._vectorizer()
        try:
            tfidf = vectorizer.fit_transform(docs)
        except ValueError:  # every document empty, or min_df / max_df pruned every n-gram
            raise InvalidParameterError(
                "texts", f"{len(docs)} texts",
                f"n-grams kept by min_df={self.min_df}, max_df={self.max_df}",
            ) from None
        n_docs, n_features = tfidf.shape
        if n_features < 2:
            raise InvalidParameterError("texts", f"{n_features} distinct n-grams", "at least 2")
        # More components than documents (or features) would only add noise directions.
        components = min(wanted, n_docs, n_features - 1)
        svd = TruncatedSVD(n_components=components, random_state=self.random_state)
        # Single-threaded BLAS: the SVD's dense steps are small (texts x ~138), and threads
        # that wait on each other cost more than they save whenever another process holds a
        # core (on a shared 2-core machine: 1.9 s on one thread, 2.6-6.3 s on two).
        with threadpool_limits(1, "blas"):
            svd.fit(tfidf)
        self.vectorizer_ = vectorizer
        self.svd_ = svd
        self.dim_ = int(components)
        # Equal to transform(texts) up to float32 rounding (the fit's TF-IDF rows sum their
        # n-grams in another order).
        return self._project(tfidf)

    def transform(self, texts: Sequence[str | None]) -> np.ndarray:
        """Dense L2-normalised vectors, one row per text (float32, ``dim_`` columns).

        Each distinct text is encoded once: learners' stated interests repeat a lot.
        """
        if not hasattr(self, "svd_"):
            raise NotFittedError(self)
        docs = _check_texts(texts)
        if not docs:
            return np.zeros((0, self.dim_), dtype=np.float32)
        codes, distinct = pd.factorize(pd.Series(docs, dtype=object), sort=False)
        vectors = self._project(self.vectorizer_.transform(list(distinct)))
        return vectors if len(distinct) == len(docs) else vectors[codes]

    def _project(self, tfidf: sp.csr_matrix) -> np.ndarray:
        return normalize(self.svd_.transform(tfidf)).astype(np.float32)

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The fitted vocabulary (terms in column order), IDF weights and SVD projection, so a
        bundle can embed new text at serve time without a pickle."""
        if not hasattr(self, "svd_"):
            raise NotFittedError(self)
        vocabulary = self.vectorizer_.vocabulary_
        terms = [""] * len(vocabulary)
        for term, column in vocabulary.items():
            terms[column] = term
        params = {**self.get_params(), "ngram_range": list(self.ngram_range)}
        return {"params": params, "terms": terms, "dim": self.dim_}, {
            "idf": np.asarray(self.vectorizer_.idf_), "components": self.svd_.components_,
        }

    @classmethod
    def from_state(cls, params: dict, arrays: dict[str, np.ndarray]) -> Self:
        encoder = cls(**{**params["params"], "ngram_range": tuple(params["params"]["ngram_range"])})
        vectorizer = encoder._vectorizer()
        vectorizer.vocabulary_ = {term: column for column, term in enumerate(params["terms"])}
        vectorizer.idf_ = arrays["idf"]
        components = arrays["components"]
        svd = TruncatedSVD(n_components=int(params["dim"]), random_state=encoder.random_state)
        svd.components_ = components
        svd.n_features_in_ = int(components.shape[1])
        encoder.vectorizer_ = vectorizer
        encoder.svd_ = svd
        encoder.dim_ = int(params["dim"])
        return encoder
