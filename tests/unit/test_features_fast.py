"""The cached character n-gram transform must equal scikit-learn's TfidfVectorizer."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.model.features import Segments
from pipeline.model.ngrams import wb_ngrams

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
    assert wb_ngrams(word, lo, lo + extra) == analyzer(word)


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


@settings(max_examples=80, deadline=None)
@given(docs=st.lists(st.lists(st.sampled_from([*list("abcdef"), "<num>", "é"]), max_size=9),
                     min_size=2, max_size=12),
       lo=st.integers(1, 2), extra=st.integers(0, 2), min_df=st.integers(1, 2),
       max_features=st.sampled_from([None, 3, 20]))
def test_word_index_counts_equal_count_vectorizer(docs, lo, extra, min_df, max_features):
    """Any n-gram range, and vocabularies cut by min_df or max_features (an n-gram kept
    whose shorter prefix was cut must still be found)."""
    from sklearn.feature_extraction.text import CountVectorizer

    from pipeline.model.ngrams import WordIndex

    texts = [" ".join(d) for d in docs]
    try:
        vec = CountVectorizer(token_pattern=r"\S+", lowercase=False, min_df=min_df,
                              max_features=max_features, ngram_range=(lo, lo + extra)).fit(texts)
    except ValueError:  # every n-gram cut: nothing to compare
        return
    queries = [*texts, "", "zz a b", "a  b\tc"]
    got = WordIndex(vec.vocabulary_, vec.ngram_range).counts(queries).toarray()
    np.testing.assert_array_equal(got, vec.transform(queries).toarray())


def test_tfidf_equals_sklearn_with_empty_rows():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from pipeline.model.ngrams import WordIndex, tfidf

    texts = ["a b a", "", "c", "b c d d", ""]
    for sublinear in (True, False):
        vec = TfidfVectorizer(token_pattern=r"\S+", sublinear_tf=sublinear,
                              ngram_range=(1, 2)).fit(texts[:4])
        counts = WordIndex(vec.vocabulary_, vec.ngram_range).counts([*texts, "zz"])
        np.testing.assert_allclose(tfidf(counts, vec.idf_, sublinear).toarray(),
                                   vec.transform([*texts, "zz"]).toarray(), atol=1e-12)
