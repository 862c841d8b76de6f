"""pipeline.text.preprocess: sentences, normalised tokens, long texts and the on-disk cache."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pipeline.text.preprocess as pp
from pipeline.config import Preprocess
from pipeline.errors import PipelineError
from pipeline.text.preprocess import Preprocessor, load_nlp, split_long

PLACEHOLDERS = {pp.URL, pp.EMAIL, pp.NUM, pp.CURRENCY}


def sentences(pre: Preprocessor, text: str):
    return pre.process([text])[0]


@pytest.mark.parametrize(("text", "placeholder", "raw"), [
    ("Apply at https://jobs.example.com/offer today", pp.URL, "https://jobs.example.com/offer"),
    ("Visit www.example.org for details", pp.URL, "www.example.org"),
    ("Write to recruiter@example.com now", pp.EMAIL, "recruiter@example.com"),
    ("She was told she owed 9,000 to the boss", pp.NUM, "9,000"),
    ("They worked 20 hours", pp.NUM, "20"),
    ("A room cost \u20ac300 a week", pp.CURRENCY, "\u20ac"),
    ("He paid $ 500 in cash", pp.CURRENCY, "$"),
])
def test_placeholders(preprocessor: Preprocessor, text: str, placeholder: str, raw: str):
    tokens = preprocessor.tokens(text)
    assert placeholder in tokens
    assert raw.lower() not in tokens


def test_currency_and_amount(preprocessor: Preprocessor):
    assert preprocessor.tokens("It cost $500.") == ("it", "cost", pp.CURRENCY, pp.NUM)


def test_lower_cased_lemmas(preprocessor: Preprocessor):
    assert preprocessor.tokens("Traffickers were recruiting") == ("trafficker", "be", "recruit")
    assert preprocessor.tokens("VICTIMS") == ("victim",)


def test_punctuation_and_spaces_dropped(preprocessor: Preprocessor):
    tokens = preprocessor.tokens('Stop!  "Now", please... (really?)\n')
    assert tokens == ("stop", "now", "please", "really")
    assert not any(t in string.punctuation or not t.strip() for t in tokens)


def test_only_punctuation_gives_no_sentence(preprocessor: Preprocessor):
    assert sentences(preprocessor, "... !!! --") == []
    assert sentences(preprocessor, "") == []
    assert sentences(preprocessor, "   \n\n  ") == []


@pytest.mark.parametrize("gap", ["\n\n", "\n \t\n", "\n\n\n"])
def test_blank_line_starts_a_new_sentence(preprocessor: Preprocessor, gap: str):
    text = f"Methodology{gap}Traffickers recruit victims online."
    sents = sentences(preprocessor, text)
    assert [text[s.start:s.end] for s in sents] == ["Methodology",
                                                     "Traffickers recruit victims online."]
    assert [s.tokens for s in sents] == [("methodology",),
                                         ("trafficker", "recruit", "victim", "online")]


def test_single_newline_does_not_split(preprocessor: Preprocessor):
    text = "Methodology\nTraffickers recruit victims online."
    assert len(sentences(preprocessor, text)) == 1


def test_sentence_offsets_slice_back_to_sentence_text(preprocessor: Preprocessor):
    text = ('  "Come with us," he said.  She went with them.\n\nHer passport was taken '
            "on arrival. She owed 9,000 euros!   ")
    sents = sentences(preprocessor, text)
    assert [text[s.start:s.end] for s in sents] == [
        '"Come with us," he said.', "She went with them.",
        "Her passport was taken on arrival.", "She owed 9,000 euros!"]
    # each slice, processed alone, gives the same tokens
    for s in sents:
        assert preprocessor.tokens(text[s.start:s.end]) == s.tokens
    starts = [s.start for s in sents]
    assert starts == sorted(starts)


def test_process_keeps_order_across_batches():
    pre = Preprocessor(Preprocess(batch_size=2))
    texts = [f"Victim {name} was moved. Then released." for name in
             ("Anna", "Bea", "Cleo", "Dora", "Eva")] + ["", "Final one"]
    out = pre.process(texts)
    assert len(out) == len(texts)
    for text, sents in zip(texts, out, strict=True):
        assert [s.tokens for s in sents] == [s.tokens for s in
                                             Preprocessor(Preprocess()).process([text])[0]]
    assert out[0][0].tokens[1] == "anna" and out[4][0].tokens[1] == "eva"
    assert out[5] == []
    assert list(pre.stream(texts)) == out


@given(text=st.text(alphabet="ab \n", max_size=120), max_chars=st.integers(2, 30))
@settings(max_examples=300, deadline=None)
def test_split_long_pieces_reassemble(text: str, max_chars: int):
    pieces = split_long(text, max_chars)
    assert "".join(piece for _, piece in pieces) == text
    position = 0
    for offset, piece in pieces:
        assert offset == position
        assert text[offset:offset + len(piece)] == piece
        assert 0 < len(piece) <= max_chars or text == ""
        position += len(piece)


def test_split_long_cuts_at_whitespace():
    text = "alpha beta gamma delta epsilon zeta eta theta"
    pieces = split_long(text, 16)
    assert len(pieces) > 1
    for _, piece in pieces[:-1]:
        assert piece.endswith((" ", "\n"))  # no word cut in two
    assert split_long("short", 10) == [(0, "short")]


def test_long_text_split_keeps_offsets(preprocessor: Preprocessor):
    names = ["Anna", "Bea", "Cleo", "Dora", "Eva", "Fay", "Gia", "Hana", "Ida", "Jo"]
    text = " ".join(f"The trafficker moved victim {n} across the border at night." for n in names)
    whole = sentences(preprocessor, text)
    assert len(whole) == len(names)
    max_chars = 200
    pieces = split_long(text, max_chars)
    assert len(pieces) >= 3
    pre = Preprocessor(Preprocess(), max_chars=max_chars)
    split = sentences(pre, text)
    # the split changes no token, only (at cut points) sentence boundaries
    assert [t for s in split for t in s.tokens] == [t for s in whole for t in s.tokens]
    assert max(s.end for s in split) == len(text)
    for s in split:
        assert 0 <= s.start < s.end <= len(text)
        assert pre.tokens(text[s.start:s.end]) == s.tokens
    # a sentence that lies inside one piece is found at the same offsets as without splitting
    inside = [(s.start, s.end) for s in whole
              if any(off <= s.start and s.end <= off + len(p) for off, p in pieces)]
    assert len(inside) >= len(names) // 2
    assert set(inside) <= {(s.start, s.end) for s in split}
    # offsets beyond the first piece are shifted into document coordinates
    assert any(s.start >= len(pieces[0][1]) for s in split)


def test_cache_returns_identical_results(tmp_path: Path, preprocessor: Preprocessor,
                                         monkeypatch: pytest.MonkeyPatch):
    texts = ["Traffickers were recruiting girls online.", "Her passport was taken.\n\nShe left.",
             "It cost $500, see https://example.com."]
    pre = Preprocessor(Preprocess(cache_chunk=2), cache_dir=tmp_path / "cache")
    first = pre.process(texts)
    assert first == preprocessor.process(texts)
    assert any((tmp_path / "cache").rglob("output.pkl"))

    def no_spacy(*args, **kwargs):
        raise AssertionError("preprocessing ran again instead of reading the cache")

    monkeypatch.setattr(pp, "_stream", no_spacy)
    again = Preprocessor(Preprocess(cache_chunk=2), cache_dir=tmp_path / "cache").process(texts)
    assert again == first
    assert all(isinstance(s, pp.Sentence) for sents in again for s in sents)
    with pytest.raises(AssertionError, match="ran again"):  # a new text is not cached
        pre.process(["Something new."])


def test_cache_key_includes_settings(tmp_path: Path):
    text = "alpha beta gamma delta epsilon. zeta eta theta iota kappa."
    small = Preprocessor(Preprocess(), cache_dir=tmp_path, max_chars=20).process([text])
    large = Preprocessor(Preprocess(), cache_dir=tmp_path, max_chars=1000).process([text])
    assert len(large[0]) == 2
    assert small != large  # the cut changes sentence boundaries: not served from one entry


def test_unknown_spacy_model_is_a_pipeline_error():
    with pytest.raises(PipelineError, match=r"preprocess\.spacy_model"):
        load_nlp("no_such_spacy_pipeline_xyz", "en")


@pytest.mark.parametrize(("text", "expected"), [
    ("Smith et al. (2019) found it. Then more.", ["Smith et al. (2019) found it.", "Then more."]),
    ("(Harlan et al., 2019). Next one.", ["(Harlan et al., 2019).", "Next one."]),
    ("See pp. 12-14 and No. 29 here. Next one.", ["See pp. 12-14 and No. 29 here.",
                                                 "Next one."]),
    ("Lt. Cole and Sgt. Diaz spoke. They left.", ["Lt. Cole and Sgt. Diaz spoke.", "They left."]),
    ("About approx. 40 women. Others not.", ["About approx. 40 women.", "Others not."]),
    ("12. The defendant met her.\n13. She left. He stayed.",
     ["12. The defendant met her.", "13. She left.", "He stayed."]),
    ('He said no. "Next time," she said.', ["He said no.", '"Next time," she said.']),
    ("He said no. \u201cNext time,\u201d she said.", ["He said no.",
                                                     "\u201cNext time,\u201d she said."]),
    ("Found it. (See below.) Then", ["Found it.", "(See below.)", "Then"]),
    ("It ended in 2019. The next year", ["It ended in 2019.", "The next year"]),
    ("He said no. Then he left.", ["He said no.", "Then he left."]),
])
def test_report_text_sentence_boundaries(preprocessor: Preprocessor, text: str,
                                         expected: list[str]):
    sents = next(preprocessor.stream([text]))
    assert [text[s.start:s.end] for s in sents] == expected
    # the pipeline component gives the same boundaries to callers of nlp(text).sents
    nlp = preprocessor.nlp
    assert [s.text.strip() for s in nlp(text).sents if s.text.strip()] == expected


def test_long_text_is_cut_at_sentence_ends_so_no_fragment_is_a_sentence(
        preprocessor: Preprocessor):
    names = ["Anna", "Bea", "Cleo", "Dora", "Eva", "Fay", "Gia", "Hana", "Ida", "Jo"]
    text = " ".join(f"The trafficker moved victim {n} across the border at night, then he "
                    "took her passport and phone." for n in names)
    max_chars = 250
    pieces = split_long(text, max_chars)
    assert len(pieces) >= 3
    for _, piece in pieces[:-1]:
        assert piece.endswith("phone. ")
    whole = sentences(preprocessor, text)
    split = sentences(Preprocessor(Preprocess(), max_chars=max_chars), text)
    assert [(s.start, s.end, s.tokens) for s in split] == [(s.start, s.end, s.tokens)
                                                           for s in whole]


def test_long_text_prefers_paragraph_breaks():
    text = ("Short first paragraph.\n\n" + "One sentence here. " * 6 + "\n\n" + "More text. " * 20)
    pieces = split_long(text, 160)
    assert pieces[0][1].endswith("One sentence here. \n\n")
