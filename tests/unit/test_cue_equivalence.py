"""The dictionary phrase matcher finds exactly what spaCy's PhraseMatcher (LOWER) found,
on every sentence of the shipped corpora and examples (issue 14: same answers)."""

from __future__ import annotations

from pathlib import Path

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
