"""The document rule: labels that do not inflate with length; bootstrap, bands, label-free
documents."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.evaluation.robustness import (
    bootstrap_macro_f1,
    label_free_documents,
    length_bands,
)
from pipeline.model.thresholds import DocumentRule


@pytest.fixture(scope="module")
def rule_and_null():
    """A rule fitted on scores where positives score high and 2% of negatives do too."""
    rng = np.random.default_rng(0)
    n = 4000
    Y = (rng.random((n, 2)) < 0.3).astype(int)
    scores = np.where(Y == 1, rng.uniform(0.4, 1.0, Y.shape), rng.uniform(0.0, 0.5, Y.shape))
    noisy = rng.random(Y.shape) < 0.02
    scores[noisy & (Y == 0)] = rng.uniform(0.5, 1.0, (noisy & (Y == 0)).sum())
    documents = np.repeat(np.arange(n // 20), 20)
    rule = DocumentRule(false_alarm=0.01).fit(scores, Y, documents)
    null = scores[Y.sum(axis=1) == 0]
    return rule, null


@pytest.mark.parametrize("n", [2, 5, 20, 100, 400])
def test_label_free_documents_do_not_inflate_with_length(rule_and_null, n):
    rule, null = rule_and_null
    rng = np.random.default_rng(n)
    docs = 400
    rows = rng.integers(len(null), size=docs * n)
    labels, _, needed = rule.document_labels(null[rows], np.repeat(np.arange(docs), n),
                                                  docs)
    assert labels.shape == (docs, 2)
    # per label at most false_alarm, with sampling slack; never growing with n
    assert labels.mean(axis=0).max() <= 0.01 + 3 * np.sqrt(0.01 / docs)
    assert (needed >= 1).all() and (needed[0] == rule.needed(n)).all()


def test_needed_grows_with_length_and_one_sentence_needs_one(rule_and_null):
    rule, _ = rule_and_null
    sizes = [0, 1, 2, 10, 100, 5000]
    needed = rule.needed(np.array(sizes))
    assert needed.shape == (len(sizes), 2)
    assert (needed[:2] == 1).all()
    assert (np.diff(needed[1:], axis=0) >= 0).all()
    assert needed[-1].max() > needed[2].max()


def test_one_sentence_documents_use_the_sentence_thresholds(rule_and_null):
    rule, _ = rule_and_null
    t = rule.thresholds_
    scores = np.vstack([t, t - 1e-6])
    labels, _, _ = rule.document_labels(scores, np.array([0, 1]), 2)
    assert labels.tolist() == [[1, 1], [0, 0]]
    assert (rule.evidence_ >= t - 1e-9).all()


def test_a_document_without_sentences_gets_no_label(rule_and_null):
    rule, _ = rule_and_null
    labels, counts, _ = rule.document_labels(np.zeros((0, 2)), np.zeros(0, dtype=int), 3)
    assert labels.tolist() == [[0, 0]] * 3 and counts.sum() == 0


def test_strong_evidence_labels_a_long_document(rule_and_null):
    rule, null = rule_and_null
    n = 60
    need = rule.needed(n)
    scores = np.tile(np.quantile(null, 0.1, axis=0), (n, 1))  # quiet sentences
    scores[: need.max()] = 0.999  # enough strong ones for every label
    labels, counts, _ = rule.document_labels(scores, np.zeros(n, dtype=int), 1)
    assert labels.tolist() == [[1, 1]] and (counts >= need).all()


def test_bootstrap_interval_contains_the_figure_and_groups_resample_whole():
    rng = np.random.default_rng(1)
    Y = (rng.random((300, 3)) < 0.4).astype(int)
    P = np.where(rng.random(Y.shape) < 0.85, Y, 1 - Y)
    columns = [("a", "x"), ("a", "y"), ("b", "z")]
    ci = bootstrap_macro_f1(Y, P, columns, n_resamples=300, seed=0)
    assert set(ci) == {"a", "b"}
    lo, hi = ci["a"]
    assert 0 < lo < hi < 1
    grouped = bootstrap_macro_f1(Y, P, columns, groups=np.repeat(np.arange(30), 10),
                                 n_resamples=300, seed=0)
    assert grouped["a"] != ci["a"]
    assert bootstrap_macro_f1(Y[:0], P[:0], columns) == {"a": None, "b": None}


def test_length_bands_and_label_free_check_on_small_inputs(rule_and_null):
    rule, null = rule_and_null
    Y = np.array([[1, 0], [0, 1], [1, 1]])
    bands = length_bands(Y, Y, np.array([1, 3, 30]), [("s", "a"), ("s", "b")])
    assert [b["documents"] for b in bands] == [1, 1, 0, 1]
    assert bands[2]["s_macro_f1"] is None
    free = label_free_documents(null[:3], np.zeros((3, 2)),
                                lambda s, o, n: rule.document_labels(s, o, n)[0],
                                sizes=(1, 5), n_documents=10)
    assert free["any_label"]["5"] is None  # fewer label-free passages than k
    assert 0 <= free["any_label"]["1"] <= 1
