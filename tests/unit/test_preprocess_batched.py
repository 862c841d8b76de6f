"""Issue 14: preprocessing whole batches with numpy gives exactly the sentences (offsets
and normalised tokens) of the former one-doc-at-a-time code, on every shipped text."""

from __future__ import annotations

import pytest

from pipeline.text.preprocess import Preprocessor, Sentence, _stream
from tests.reference import preprocess_v0
from tests.shipped import shipped_texts

#: Where a batch rule could leak from one document into the next: abbreviations, list
#: numbers, quotes and blank lines at document edges, empty and punctuation-only texts.
EDGES = ["", "   ", "...", "et al.", "(2019) shows it.", "No.", "29 victims were found.",
         "12. The court held.", "b. Second point", "\u201cQuote\u201d opens. \u201cAnd",
         "Dr.", "Smith testified.", "Para.\n\n12. Next", "5G.", "Ends with a stop.",
         ". starts with a stop", "Sgt. Rivera said so. (She) left.", "A\n\n\n\nB",
         "approx. 40 ads; pp. 12-14 cf. (Vol. 2)", "\u00a0\n \nx", "!!!", "a.b.c. d",
         "Mr. X paid.\n3. Y paid.", "?", "\n\n", "ok"]


@pytest.fixture(scope="module")
def texts(config) -> list[str]:
    return shipped_texts(config.label_sets) + EDGES


def _reference(texts: list[str], pre: Preprocessor) -> list[list[Sentence]]:
    return list(preprocess_v0.former_stream(texts, pre.settings.batch_size, pre.max_chars,
                                                    pre.settings.lang))


def test_same_sentences_as_before_on_every_shipped_text(texts, preprocessor):
    expected = _reference(texts, preprocessor)
    got = list(preprocessor.stream(texts))
    assert len(got) == len(expected) == len(texts)
    assert sum(map(len, got)) > 15_000  # the comparison covered the whole corpus
    for text, a, b in zip(texts, got, expected, strict=True):
        assert a == b, text[:200]


@pytest.mark.parametrize("batch_size", [1, 2, 7])
def test_batching_does_not_change_the_sentences(texts, preprocessor, batch_size):
    """Documents laid end to end in one batch must not see their neighbours."""
    sample = texts[-len(EDGES) - 40:]
    expected = _reference(sample, preprocessor)
    got = list(_stream(sample, preprocessor.nlp, batch_size, preprocessor.max_chars))
    assert got == expected
    shuffled = sample[::-1]
    assert list(_stream(shuffled, preprocessor.nlp, 5, 60)) == _reference_pieces(
        shuffled, preprocessor)


def _reference_pieces(texts: list[str], pre: Preprocessor) -> list[list[Sentence]]:
    """Long texts cut into 60-character pieces, as the former code cut them."""
    return list(preprocess_v0.former_stream(texts, 5, 60, pre.settings.lang))


def test_the_word_type_table_restarts_without_changing_answers(texts, preprocessor,
                                                               monkeypatch):
    from pipeline.text.preprocess import WordTypes

    sample = texts[:300]
    expected = _reference(sample, preprocessor)
    monkeypatch.setattr(WordTypes, "MAX_TYPES", 50)
    assert list(preprocessor.stream(sample)) == expected


def test_tokenizer_built_once_splits_as_the_former_one(texts, preprocessor):
    """The tokenizer rebuilt in one step (patterns compiled once) gives the tokens of
    the former spacy.blank + three setters, on every shipped text."""
    from spacy.attrs import IDX, ORTH, SPACY

    former = preprocess_v0.blank_tokenizer(preprocessor.settings.lang)
    now = preprocessor.nlp.tokenizer
    for text in [*texts, "5G/4G.Then IoT/5G 3D-printed U.S. 12. No. 29 e.g. 4G."]:
        a = now(text).to_array([ORTH, IDX, SPACY])
        b = former(text).to_array([ORTH, IDX, SPACY])
        assert a.shape == b.shape and (a == b).all(), text[:200]


def test_small_character_batches_do_not_change_the_sentences(texts, preprocessor,
                                                             monkeypatch):
    """Long documents are tokenised a few pieces at a time (memory): same sentences."""
    import pipeline.text.preprocess as module

    sample = [*texts[-len(EDGES) - 60:], " ".join(texts[:400])]
    expected = _reference(sample, preprocessor)
    monkeypatch.setattr(module, "BATCH_CHARS", 500)
    assert list(_stream(sample, preprocessor.nlp, 64, 2_000)) == _reference_pieces_of(
        sample, preprocessor, 2_000)
    assert list(preprocessor.stream(sample)) == expected


def _reference_pieces_of(texts, pre, max_chars):
    return list(preprocess_v0.former_stream(texts, 64, max_chars, pre.settings.lang))
