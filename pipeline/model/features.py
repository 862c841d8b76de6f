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
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

_WHITE = re.compile(r"\s\s+")


def _wb_ngrams(word: str, lo: int, hi: int) -> list[str]:
    """Character n-grams of one space-padded word, as scikit-learn's ``char_wb`` makes them."""
    w = f" {word} "
    out = []
    for n in range(lo, hi + 1):
        if len(w) <= n:  # scikit-learn counts a word no longer than n once, whole, and stops
            out.append(w)
            break
        out.extend(w[i:i + n] for i in range(len(w) - n + 1))
    return out


@dataclass
class Segments:
    """Parallel lists describing segments; ``cues`` is (n_segments x n_labels)."""

    texts: list[str]
    tokens: list[str]  # normalised tokens joined by single spaces
    cues: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: Sequence[int]) -> Segments:
        """The segments at ``index`` (for cross-validation folds)."""
        idx = list(index)
        return Segments([self.texts[i] for i in idx], [self.tokens[i] for i in idx],
                        self.cues[idx])


def _tfidf(counts: sp.csr_matrix, vectorizer: TfidfVectorizer) -> sp.csr_matrix:
    """What ``vectorizer.transform`` makes of raw n-gram counts: (sublinear) tf, idf, l2."""
    if vectorizer.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1
    counts.data *= vectorizer.idf_[counts.indices]
    return normalize(counts, norm="l2", copy=False)


class _CompactVocabulary:
    """Persist a fitted ``vectorizer_``'s vocabulary as one string array, not a dict.

    skops writes a dict entry by entry (tens of thousands of nodes and files), which
    made model files ~70 MB and slow to load; one array is compact and fast.
    """

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # Python returns the live __dict__
        state.pop("_cache", None)
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


class WordNgrams(_CompactVocabulary, TransformerMixin, BaseEstimator):
    """TF-IDF of word n-grams over the segments' normalised tokens."""

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
        return self

    def transform(self, X: Segments) -> sp.csr_matrix:
        """``vectorizer_.transform(tokens)``, with the n-grams looked up directly.

        The tokens are already normalised and space-separated, so scikit-learn's
        analyzer (regular expression, n-gram strings through several generators) is
        replaced by one split and dictionary lookups. Same result, faster.
        """
        check_is_fitted(self, "vectorizer_")
        get = self.vectorizer_.vocabulary_.get
        lo, hi = self.vectorizer_.ngram_range
        indices: list[int] = []
        indptr = [0]
        for text in X.tokens:
            tokens = text.split()
            for n in range(lo, hi + 1):
                grams = tokens if n == 1 else (" ".join(tokens[i:i + n])
                                               for i in range(len(tokens) - n + 1))
                indices.extend(j for j in map(get, grams) if j is not None)
            indptr.append(len(indices))
        counts = sp.csr_matrix((np.ones(len(indices)), indices, indptr),
                               shape=(len(X.tokens), len(self.vectorizer_.vocabulary_)))
        counts.sum_duplicates()
        return _tfidf(counts, self.vectorizer_)


class CharNgrams(_CompactVocabulary, TransformerMixin, BaseEstimator):
    """TF-IDF of ``char_wb`` n-grams of the lower-cased text: misspellings, inflections
    and words the lemmatizer does not know."""

    #: word types whose character n-grams are cached at most (then the cache restarts)
    CACHE_WORDS = 500_000

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
        return self

    def transform(self, X: Segments) -> sp.csr_matrix:
        """``vectorizer_.transform(texts)``, computed from per-word cached n-gram indices.

        ``char_wb`` n-grams never cross word boundaries, so a text's n-grams are the
        union of its words'; caching each word's vocabulary indices turns scikit-learn's
        per-n-gram Python loop into one lookup per word. Same result, several times faster.
        """
        check_is_fitted(self, "vectorizer_")
        cache = self.__dict__.setdefault("_cache", {})
        if len(cache) > self.CACHE_WORDS:
            cache.clear()
        vocabulary = self.vectorizer_.vocabulary_
        lo, hi = self.vectorizer_.ngram_range
        # texts x word types (counts), then word types x n-grams: one sparse product
        # instead of a Python list of every n-gram of every text
        types: dict[str, int] = {}
        word_ids, indptr = [], [0]
        for text in X.texts:
            words = _WHITE.sub(" ", text.lower()).split()
            word_ids.extend(types.setdefault(w, len(types)) for w in words)
            indptr.append(len(word_ids))
        grams = []
        for word in types:
            found = cache.get(word)
            if found is None:
                found = cache[word] = np.array([vocabulary[g] for g in _wb_ngrams(word, lo, hi)
                                                if g in vocabulary], dtype=np.int64)
            grams.append(found)
        by_text = sp.csr_matrix((np.ones(len(word_ids)), word_ids, indptr),
                                shape=(len(X.texts), len(types)))
        lengths = np.fromiter((len(g) for g in grams), dtype=np.int64, count=len(grams))
        by_type = sp.csr_matrix(
            (np.ones(int(lengths.sum())), np.concatenate(grams) if grams else
             np.zeros(0, dtype=np.int64), np.concatenate(([0], np.cumsum(lengths)))),
            shape=(len(types), len(vocabulary)))
        counts = (by_text @ by_type).tocsr()  # a product: no duplicate entries
        return _tfidf(counts, self.vectorizer_)

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
