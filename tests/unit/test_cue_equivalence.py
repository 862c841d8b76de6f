"""The dictionary phrase matcher finds exactly what spaCy's PhraseMatcher (LOWER) found,
on every sentence of the shipped corpora and examples (issue 14: same answers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from pipeline.config import load_config
from pipeline.corpus.read import read_corpus
from pipeline.text.cues import CueMatcher, read_cues
from pipeline.text.preprocess import Preprocessor

ROOT = Path(__file__).resolve().parents[2]


def _reference(matcher: CueMatcher, vocab) -> callable:
    """The former implementation: one spaCy Doc and PhraseMatcher call per sentence."""
    phrase = PhraseMatcher(vocab, attr="LOWER")
    for key in matcher.keys:
        if matcher.terms[key]:
            phrase.add(key, [Doc(vocab, words=list(t)) for t in matcher.terms[key]])
    index = {vocab.strings[k]: i for i, k in enumerate(matcher.keys)}
    sets = [k.split(":", 1)[0] for k in matcher.keys]

    def spans(tokens):
        if not tokens:
            return []
        found = [(index[m], s, e) for m, s, e in phrase(Doc(vocab, words=list(tokens)))]
        return [(j, s, e) for j, s, e in found
                if not any(k != j and sets[k] == sets[j] and s2 <= s and e <= e2
                           and e2 - s2 > e - s for k, s2, e2 in found)]
    return spans


def test_same_matches_as_spacy_phrase_matcher_on_the_shipped_corpora():
    config = load_config(ROOT / "configs" / "default.toml")
    pre = Preprocessor(config.preprocess)
    matcher = CueMatcher(read_cues(config.paths.cues, config), pre)
    reference = _reference(matcher, pre.nlp.vocab)
    texts = [p.text for p in read_corpus([ROOT / "data" / "documents" / "sentences",
                                          ROOT / "data" / "corpus"], config.label_sets)]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "data" / "examples")
                                                             .iterdir())]
    n = matched = 0
    for sentences in pre.stream(texts):
        for s in sentences:
            got = sorted(matcher.spans(s.tokens))
            assert got == sorted(reference(s.tokens)), s.tokens
            n += 1
            matched += bool(got)
    assert n > 10_000 and matched > 2_000  # the comparison covered real matches


def test_counts_of_a_whole_batch_equal_counts_sentence_by_sentence():
    """counts_many looks up every sentence of a batch in one pass: no match may cross
    from one sentence into the next, and each row equals its sentence's own counts."""
    config = load_config(ROOT / "configs" / "default.toml")
    pre = Preprocessor(config.preprocess)
    matcher = CueMatcher(read_cues(config.paths.cues, config), pre)
    texts = [p.text for p in read_corpus([ROOT / "data" / "corpus"], config.label_sets)]
    rows = [s.tokens for sentences in pre.stream(texts) for s in sentences]
    # a term cut in two by a sentence edge: "dark" ends one row, "web" starts the next
    rows += [("the", "dark"), ("web", "market"), (), ("dark", "web")]
    many = matcher.counts_many(rows)
    assert many.shape == (len(rows), len(matcher.keys)) and many.sum() > 1_000
    for row, tokens in zip(many, rows, strict=True):
        np.testing.assert_array_equal(row, _one_by_one(matcher, tokens))
    assert many[-4:].sum() == many[-1].sum() > 0  # only the whole "dark web" matched


def _one_by_one(matcher: CueMatcher, tokens) -> np.ndarray:
    out = np.zeros(len(matcher.keys), dtype=np.float32)
    for j, _, _ in matcher.spans(tokens):
        out[j] += 1
    return out
