"""Issue 14: the fast prediction path gives the answers of the former one on every
shipped text (corpora, document texts, examples): labels equal, scores within 1e-6.

The former path is rebuilt here from its parts: preprocessing one doc at a time
(``tests/reference/preprocess_v0.py``), scikit-learn's own ``TfidfVectorizer.transform``
for the n-gram blocks, the feature union's weights, the one-vs-rest classifier's
``predict_proba`` and the estimator's document rule. The fast path is what ``predict``
uses: the model loaded without scikit-learn, batched preprocessing, the exported scorer.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import binom

from pipeline.model.decisions import needed_count
from pipeline.model.persistence import load_model
from tests.reference import preprocess_v0
from tests.shipped import shipped_texts


def _former_scores(estimator, segments) -> np.ndarray:
    union = estimator.pipeline_.named_steps["features"]
    weights = union.transformer_weights or {}
    blocks = []
    for name, step in union.transformer_list:
        if step == "drop":
            continue
        if name == "words":
            X = step.vectorizer_.transform(segments.tokens)
        elif name == "chars":
            X = step.vectorizer_.transform(segments.texts)
        else:
            X = step.transform(segments)
        blocks.append(X * weights.get(name, 1.0))
    X = sp.hstack(blocks).tocsr()
    return np.clip(estimator.pipeline_.named_steps["classifier"].predict_proba(X), 0, 1)


@pytest.fixture(scope="module")
def texts(config) -> list[str]:
    return shipped_texts(config.label_sets)


def test_fast_predictions_equal_the_former_path_on_every_shipped_text(model_dir, texts):
    fast = load_model(model_dir, estimator=False)
    scored = fast.score_sentences(texts)
    labels, counts, needed = fast.decide(scored)

    full = load_model(model_dir)
    estimator = full.estimator
    pre = estimator._preprocessor()
    sentences = list(preprocess_v0.former_stream(texts, pre.settings.batch_size,
                                                 pre.max_chars, pre.settings.lang))
    assert scored.sentences == sentences
    segments, owners = estimator._maker().sentences(texts, sentences)
    former = _former_scores(estimator, segments)
    assert former.shape == scored.scores.shape and len(former) > 15_000
    assert np.abs(former - scored.scores).max() < 1e-6
    np.testing.assert_array_equal(owners, scored.owners)
    want = estimator.rule_.document_labels(former, owners, len(texts))
    for got, expected in zip((labels, counts, needed), want, strict=True):
        np.testing.assert_array_equal(got, expected)
    assert labels.sum() > 100  # the comparison covered real labels
    np.testing.assert_array_equal(fast.decisions.sentence_labels(scored.scores),
                                  estimator.rule_.sentence_labels(former))


def test_prediction_never_imports_scikit_learn(model_dir, tmp_path):
    """What makes a one-document ``predict`` start fast: a fresh interpreter loads the
    model, labels a document and never imports scikit-learn, scipy.stats, scipy.special,
    skops or pandas."""
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; "
            "from pipeline.model.persistence import load_model; "
            f"m = load_model(Path({str(model_dir)!r}), estimator=False); "
            "s = m.score_sentences(['Her passport was taken.']); m.decide(s); "
            "bad = [n for n in ('sklearn', 'scipy.stats', 'scipy.special', 'skops', 'pandas') "
            "if n in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("false_alarm", [0.001, 0.01, 0.05, 0.1])
def test_needed_count_equals_the_binomial_quantile(false_alarm):
    """The bisection gives scipy.stats' binomial quantile (plus one), which the document
    rule used before, for document lengths 0-3000 and a spread of rates."""
    n = np.arange(0, 3001)
    rates = [*np.random.default_rng(0).uniform(0.0005, 0.5, 25), 1 / 2001, 0.999, 1.0]
    for rate in rates:
        former = np.maximum(1, np.asarray(binom.ppf(1 - false_alarm, n, rate)) + 1)
        np.testing.assert_array_equal(needed_count(n, rate, false_alarm), former.astype(int))


def test_the_saved_table_of_needed_evidence_is_the_rule(model):
    """Lengths within the table are looked up, longer ones computed: the same numbers."""
    from dataclasses import replace

    rule = model.decisions
    assert rule.needed_table is not None
    computed = replace(rule, needed_table=None)
    n = np.array([0, 1, 2, 5, 6, 20, 21, 400, len(rule.needed_table) - 1])
    np.testing.assert_array_equal(rule.needed(n), computed.needed(n))
    beyond = np.array([len(rule.needed_table), 3 * len(rule.needed_table)])
    np.testing.assert_array_equal(rule.needed(np.append(n, beyond)),
                                  computed.needed(np.append(n, beyond)))
    assert rule.needed(7).shape == (len(rule.thresholds),)


@pytest.fixture(scope="module")
def svm_model(tmp_path_factory):
    """A model of the default configuration (calibrated linear SVMs, word and 2-5
    character n-grams, cues), fitted on every third passage of the shipped train split
    with 2 threshold folds (about 10 s), saved and loaded as predict loads it."""
    from pipeline.config import load_config
    from pipeline.corpus.read import read_corpus
    from pipeline.model.persistence import save_model
    from pipeline.model.train import fit_model
    from tests.shipped import ROOT

    config = load_config(ROOT / "configs" / "default.toml",
                         overrides={"thresholds.cv_folds": 2, "paths.cache": ""})
    assert config.model.classifier == "linear_svm" and config.features.char
    passages = read_corpus([ROOT / "data" / "splits" / "train.jsonl"], config.label_sets)
    fitted = fit_model(passages[::3], config)
    out = save_model(fitted, tmp_path_factory.mktemp("svm") / "model")
    return fitted, load_model(out, estimator=False)


def test_fast_scores_equal_scikit_learn_for_the_default_svm_model(svm_model, texts):
    fitted, fast = svm_model
    scored = fast.score_sentences(texts)
    former = fitted.estimator.predict_sentences(texts)  # the estimator's own pipeline
    assert former.scores.shape == scored.scores.shape and len(former.scores) > 15_000
    assert np.abs(former.scores - scored.scores).max() < 1e-6
    want = fitted.estimator.rule_.document_labels(former.scores, former.owners, len(texts))
    for got, expected in zip(fast.decide(scored), want, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_scoring_in_row_chunks_gives_the_same_scores(model, texts, monkeypatch):
    """A long document is scored a few thousand sentences at a time (memory)."""
    from pipeline.model.scorer import LinearScorer

    scored = model.score_sentences(texts[:400])
    monkeypatch.setattr(LinearScorer, "ROWS", 7)
    again = model.score_sentences(texts[:400])
    assert len(scored.scores) > 7 * 3
    np.testing.assert_array_equal(scored.scores, again.scores)
