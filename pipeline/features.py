"""Feature vectors for text segments: word n-grams, character n-grams and cue counts.

A *segment* is what the classifiers see: a training passage, or one sentence of a
document at prediction time. :class:`Segments` carries, for each segment, its raw
text (for character n-grams), its normalised tokens from spaCy (for word n-grams)
and its cue-term counts per label.
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
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from pipeline.config import Features

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


class SegmentVectorizer(TransformerMixin, BaseEstimator):
    """TF-IDF of word n-grams and character n-grams, joined with scaled cue counts.

    Parameters
    ----------
    word_ngram_range, word_min_df, word_max_features :
        Word n-grams over normalised tokens.
    char : bool
        Whether to add character n-grams (``char_wb``) of the lower-cased raw text;
        they carry misspellings, inflections and words the lemmatizer does not know.
    char_ngram_range, char_min_df, char_max_features :
        Character n-gram settings.
    sublinear_tf : bool
        Use ``1 + log(tf)``.
    cues : bool
        Whether to add cue-term features, as ``cue_weight * log1p(count)``.
    cue_weight : float
        Scale of the cue features relative to the unit-norm TF-IDF blocks.
    """

    #: word types whose character n-grams are cached at most (then the cache restarts)
    CHAR_CACHE_WORDS = 500_000

    def __init__(self, *, word_ngram_range=(1, 2), word_min_df=1, word_max_features=None,
                 char=True, char_ngram_range=(2, 5), char_min_df=2, char_max_features=None,
                 sublinear_tf=True, cues=True, cue_weight=1.0):
        self.word_ngram_range = word_ngram_range
        self.word_min_df = word_min_df
        self.word_max_features = word_max_features
        self.char = char
        self.char_ngram_range = char_ngram_range
        self.char_min_df = char_min_df
        self.char_max_features = char_max_features
        self.sublinear_tf = sublinear_tf
        self.cues = cues
        self.cue_weight = cue_weight

    @classmethod
    def from_config(cls, settings: Features) -> SegmentVectorizer:
        return cls(word_ngram_range=tuple(settings.word_ngram_range),
                   word_min_df=settings.word_min_df,
                   word_max_features=settings.word_max_features, char=settings.char,
                   char_ngram_range=tuple(settings.char_ngram_range),
                   char_min_df=settings.char_min_df,
                   char_max_features=settings.char_max_features,
                   sublinear_tf=settings.sublinear_tf, cues=settings.cues,
                   cue_weight=settings.cue_weight)

    def fit(self, X: Segments, y=None) -> SegmentVectorizer:
        self.word_ = TfidfVectorizer(token_pattern=r"\S+", lowercase=False,
                                     ngram_range=tuple(self.word_ngram_range),
                                     min_df=self.word_min_df,
                                     max_features=self.word_max_features,
                                     sublinear_tf=self.sublinear_tf, dtype=np.float64)
        self.word_.fit(X.tokens)
        # the n-grams cut by min_df / max_features: not needed to transform, and by far
        # the largest part of a saved model (scikit-learn documents them as removable)
        self.word_.stop_words_ = None
        self.char_ = None
        if self.char:
            min_df = self.char_min_df if len(X) >= 2 * self.char_min_df else 1
            self.char_ = TfidfVectorizer(analyzer="char_wb", lowercase=True,
                                         ngram_range=tuple(self.char_ngram_range),
                                         min_df=min_df, max_features=self.char_max_features,
                                         sublinear_tf=self.sublinear_tf, dtype=np.float64)
            self.char_.fit(X.texts)
            self.char_.stop_words_ = None
        self.n_cues_ = X.cues.shape[1] if self.cues else 0
        return self

    def transform(self, X: Segments) -> sp.csr_matrix:
        check_is_fitted(self, "word_")
        blocks = [self.word_.transform(X.tokens)]
        if self.char_ is not None:
            blocks.append(self._char_transform(X.texts))
        if self.n_cues_:
            blocks.append(sp.csr_matrix(self.cue_weight * np.log1p(X.cues), dtype=np.float64))
        # float64: what the linear models compute in, so none of them copies the matrix
        return sp.hstack(blocks, format="csr", dtype=np.float64)

    def _char_transform(self, texts: list[str]) -> sp.csr_matrix:
        """``self.char_.transform(texts)``, computed from per-word cached n-gram indices.

        ``char_wb`` n-grams never cross word boundaries, so a text's n-grams are the
        union of its words'; caching each word's vocabulary indices turns scikit-learn's
        per-n-gram Python loop into one lookup per word. Same result, several times faster.
        """
        cache = self.__dict__.setdefault("_char_cache", {})
        if len(cache) > self.CHAR_CACHE_WORDS:
            cache.clear()
        vocabulary = self.char_.vocabulary_
        lo, hi = self.char_.ngram_range
        indptr, indices = [0], []
        for text in texts:
            for word in _WHITE.sub(" ", text.lower()).split():
                found = cache.get(word)
                if found is None:
                    found = cache[word] = [vocabulary[g] for g in _wb_ngrams(word, lo, hi)
                                           if g in vocabulary]
                indices.extend(found)
            indptr.append(len(indices))
        counts = sp.csr_matrix((np.ones(len(indices), dtype=np.float64), indices, indptr),
                               shape=(len(texts), len(vocabulary)))
        counts.sum_duplicates()
        if self.char_.sublinear_tf:
            np.log(counts.data, counts.data)
            counts.data += 1
        counts = counts @ sp.diags(self.char_.idf_)
        return normalize(counts, norm="l2", copy=False)

    def __getstate__(self) -> dict:
        """Persist each vocabulary as one string array instead of a dict of numpy ints.

        skops writes a dict entry by entry (tens of thousands of nodes and files), which
        made model files ~70 MB and slow to load; one array is compact and fast.
        """
        state = dict(super().__getstate__())  # Python returns the live __dict__
        state.pop("_char_cache", None)
        for name in ("word_", "char_"):
            vectorizer = state.get(name)
            if vectorizer is not None and hasattr(vectorizer, "vocabulary_"):
                vectorizer = copy.copy(vectorizer)
                terms = np.empty(len(vectorizer.vocabulary_), dtype=object)
                for term, index in vectorizer.vocabulary_.items():
                    terms[index] = term
                del vectorizer.vocabulary_
                state[name] = vectorizer
                state[f"{name}terms"] = terms.astype(str)
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        for name in ("word_", "char_"):
            terms = state.pop(f"{name}terms", None)
            if terms is not None:
                state[name].vocabulary_ = {str(t): i for i, t in enumerate(terms)}
        super().__setstate__(state)

    def feature_names(self, cue_names: Sequence[str] = ()) -> list[str]:
        """Readable names: ``w:took passport``, ``c:'onio'``, ``cue:stage:control``."""
        check_is_fitted(self, "word_")
        names = [f"w:{n}" for n in self.word_.get_feature_names_out()]
        if self.char_ is not None:
            names += [f"c:{n!r}" for n in self.char_.get_feature_names_out()]
        if self.n_cues_:
            cue_names = list(cue_names) or [str(i) for i in range(self.n_cues_)]
            names += [f"cue:{n}" for n in cue_names]
        return names
