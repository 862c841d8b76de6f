"""The cached character n-gram transform must equal scikit-learn's TfidfVectorizer."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.features import _wb_ngrams

TRICKY = ["a", "", "  x  y ", "ab\tcd\n\nef", "Ünïcødé  ÀB", "xxx", "🙂 ok", "İstanbul ẞ",
          "\u00a0\u2003 nb", "Recruiters posted FAKE jobs abroad!!"]


def test_cached_char_ngrams_equal_sklearn(fitted_model, passages):
    features = fitted_model.estimator.named_steps["features"]
    texts = [p.text for p in passages] + TRICKY
    expected = features.char_.transform(texts).toarray()
    got = features._char_transform(texts).toarray()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # a second call is served from the cache and must not change
    np.testing.assert_allclose(features._char_transform(texts).toarray(), expected, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(word=st.text(min_size=1, max_size=9).filter(lambda w: w.strip() == w and " " not in w
                                                    and w and not any(c.isspace() for c in w)),
       lo=st.integers(1, 3), extra=st.integers(0, 3))
def test_wb_ngrams_match_sklearn_analyzer(word, lo, extra):
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer = TfidfVectorizer(analyzer="char_wb", lowercase=False,
                               ngram_range=(lo, lo + extra)).build_analyzer()
    assert _wb_ngrams(word, lo, lo + extra) == analyzer(word)
