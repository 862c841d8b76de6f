"""Feature vectors for text segments: word n-grams, character n-grams and cue counts.

A *segment* is what the classifiers see: a training passage, or one sentence of a
document at prediction time. :class:`Segments` carries, for each segment, its raw
text (for character n-grams), its normalised tokens from spaCy (for word n-grams)
and its cue-term counts per label. Each kind of feature is one named step of a
:class:`~sklearn.pipeline.FeatureUnion` (``words``, ``chars``, ``cues``), so a step
can be weighted or switched off (``"drop"``) like any scikit-learn transformer.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.utils.validation import check_is_fitted

from pipeline.model.ngrams import CharIndex, WordIndex, tfidf
from pipeline.text.segments import Segments

__all__ = ["CharNgrams", "CueCounts", "Segments", "WordNgrams", "build_features"]


class _CompactVocabulary:
    """Persist a fitted ``vectorizer_``'s vocabulary as one string array, not a dict.

    skops writes a dict entry by entry (tens of thousands of nodes and files), which
    made model files ~70 MB and slow to load; one array is compact and fast.
    """

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # Python returns the live __dict__
        state.pop("_index", None)  # rebuilt from the vocabulary on first use
        vectorizer = state.get("vectorizer_")
        if vectorizer is not None and hasattr(vectorizer, "vocabulary_"):
            vectorizer = copy.copy(vectorizer)
            terms = np.empty(len(vectorizer.vocabulary_), dtype=object)
            for term, index in vectorizer.vocabulary_.items():
                terms[index] = term
            del vectorizer.vocabulary_
            state["vectorizer_"] = vectorizer
            state["terms_"] = terms.astype(str)
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        terms = state.pop("terms_", None)
        if terms is not None:
            state["vectorizer_"].vocabulary_ = {str(t): i for i, t in enumerate(terms)}
        super().__setstate__(state)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "vectorizer_")
        return np.asarray(self.vectorizer_.get_feature_names_out(), dtype=object)

    def index(self):
        """The batch n-gram counter of the fitted vocabulary (built once, not saved)."""
        check_is_fitted(self, "vectorizer_")
        index = self.__dict__.get("_index")
        if index is None:
            index = self._index = self.INDEX(self.vectorizer_.vocabulary_,
                                              self.vectorizer_.ngram_range)
        return index

    def transform(self, X: Segments) -> sp.csr_matrix:
        """``vectorizer_.transform`` of the segments' tokens or texts, counted for the
        whole batch at once (:mod:`pipeline.model.ngrams`): same matrix, several times
        faster than scikit-learn's per-n-gram analyzer."""
        counts = self.index().counts(getattr(X, self.COLUMN))
        return tfidf(counts, self.vectorizer_.idf_, self.vectorizer_.sublinear_tf)


class WordNgrams(_CompactVocabulary, TransformerMixin, BaseEstimator):
    """TF-IDF of word n-grams over the segments' normalised tokens."""

    INDEX, COLUMN = WordIndex, "tokens"

    def __init__(self, *, ngram_range=(1, 2), min_df=1, max_features=None, sublinear_tf=True):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def fit(self, X: Segments, y=None) -> WordNgrams:
        self.vectorizer_ = TfidfVectorizer(
            token_pattern=r"\S+", lowercase=False, ngram_range=tuple(self.ngram_range),
            min_df=self.min_df, max_features=self.max_features,
            sublinear_tf=self.sublinear_tf, dtype=np.float64).fit(X.tokens)
        # the n-grams cut by min_df / max_features: not needed to transform, and by far
        # the largest part of a saved model (scikit-learn documents them as removable)
        self.vectorizer_.stop_words_ = None
        self.__dict__.pop("_index", None)  # counts the new vocabulary
        return self


class CharNgrams(_CompactVocabulary, TransformerMixin, BaseEstimator):
    """TF-IDF of ``char_wb`` n-grams of the lower-cased text: misspellings, inflections
    and words the lemmatizer does not know."""

    INDEX, COLUMN = CharIndex, "texts"

    def __init__(self, *, ngram_range=(2, 5), min_df=2, max_features=None, sublinear_tf=True):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def fit(self, X: Segments, y=None) -> CharNgrams:
        min_df = self.min_df if len(X) >= 2 * self.min_df else 1
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", lowercase=True, ngram_range=tuple(self.ngram_range),
            min_df=min_df, max_features=self.max_features, sublinear_tf=self.sublinear_tf,
            dtype=np.float64).fit(X.texts)
        self.vectorizer_.stop_words_ = None
        self.__dict__.pop("_index", None)  # counts the new vocabulary
        return self

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        names = super().get_feature_names_out(input_features)
        return np.array([repr(n) for n in names], dtype=object)


class CueCounts(TransformerMixin, BaseEstimator):
    """``log1p`` of the cue-term counts per label (scaled by the union's weight)."""

    def __init__(self, *, names: Sequence[str] | None = None):
        self.names = names

    def fit(self, X: Segments, y=None) -> CueCounts:
        self.n_features_out_ = X.cues.shape[1]
        return self

    def transform(self, X: Segments) -> sp.csr_matrix:
        check_is_fitted(self, "n_features_out_")
        return sp.csr_matrix(np.log1p(X.cues), dtype=np.float64)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "n_features_out_")
        names = list(self.names) if self.names else [str(i) for i in
                                                      range(self.n_features_out_)]
        return np.array(names, dtype=object)


def build_features(*, word_ngram_range=(1, 2), word_min_df=1, word_max_features=None,
                   char=True, char_ngram_range=(2, 5), char_min_df=2, char_max_features=None,
                   sublinear_tf=True, cues=True, cue_weight=1.0,
                   cue_names: Sequence[str] | None = None) -> FeatureUnion:
    """The ``words``, ``chars`` and ``cues`` steps; a switched-off step is ``"drop"``.

    The TF-IDF blocks are unit-norm; ``cue_weight`` scales the cue block against them.
    """
    words = WordNgrams(ngram_range=tuple(word_ngram_range), min_df=word_min_df,
                       max_features=word_max_features, sublinear_tf=sublinear_tf)
    chars = (CharNgrams(ngram_range=tuple(char_ngram_range), min_df=char_min_df,
                        max_features=char_max_features, sublinear_tf=sublinear_tf)
             if char else "drop")
    cue_step = CueCounts(names=list(cue_names) if cue_names else None) if cues else "drop"
    return FeatureUnion([("words", words), ("chars", chars), ("cues", cue_step)],
                        transformer_weights={"cues": float(cue_weight)})
