"""The cached character n-gram transform must equal scikit-learn's TfidfVectorizer."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.model.features import Segments, _wb_ngrams

TRICKY = ["a", "", "  x  y ", "ab\tcd\n\nef", "Ünïcødé  ÀB", "xxx", "🙂 ok", "İstanbul ẞ",
          "\u00a0\u2003 nb", "Recruiters posted FAKE jobs abroad!!"]


def test_cached_char_ngrams_equal_sklearn(fitted_model, passages):
    chars = fitted_model.estimator.pipeline_.named_steps["features"].named_transformers["chars"]
    texts = [p.text for p in passages] + TRICKY
    segments = Segments(texts, texts, np.zeros((len(texts), 0)))
    expected = chars.vectorizer_.transform(texts).toarray()
    got = chars.transform(segments).toarray()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # a second call is served from the cache and must not change
    np.testing.assert_allclose(chars.transform(segments).toarray(), expected, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(word=st.text(min_size=1, max_size=9).filter(lambda w: w.strip() == w and " " not in w
                                                    and w and not any(c.isspace() for c in w)),
       lo=st.integers(1, 3), extra=st.integers(0, 3))
def test_wb_ngrams_match_sklearn_analyzer(word, lo, extra):
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer = TfidfVectorizer(analyzer="char_wb", lowercase=False,
                               ngram_range=(lo, lo + extra)).build_analyzer()
    assert _wb_ngrams(word, lo, lo + extra) == analyzer(word)


def test_fast_transforms_equal_sklearn_on_the_shipped_corpora(fitted_model):
    """Issue 14: the fast word and character paths give scikit-learn's matrices on every
    passage and sentence of both shipped corpora and the examples."""
    from pathlib import Path

    from pipeline.corpus.read import read_corpus

    root = Path(__file__).resolve().parents[2]
    est = fitted_model.estimator
    texts = [p.text for p in read_corpus([root / "data" / "documents" / "sentences",
                                          root / "data" / "corpus"],
                                         fitted_model.config.label_sets)]
    texts += [p.read_text(encoding="utf-8") for p in sorted((root / "data" / "examples")
                                                             .iterdir())]
    sentences = est._preprocessor().process(texts)
    segments, _ = est._maker().sentences(texts, sentences)
    union = est.pipeline_.named_steps["features"].named_transformers
    for name, column in (("words", segments.tokens), ("chars", segments.texts)):
        step = union[name]
        fast = step.transform(segments)
        slow = step.vectorizer_.transform(column)
        assert fast.shape == slow.shape and fast.shape[0] > 10_000
        assert abs(fast - slow).max() < 1e-9, name
