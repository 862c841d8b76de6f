"""pipeline.normalize and its use in preprocessing: every form means what a reader reads."""

from __future__ import annotations

import pytest

from pipeline.normalize import keeps_identity, normalize_text, plural_fallback
from pipeline.preprocess import Preprocessor


def test_ai_is_not_have(preprocessor: Preprocessor):
    # "ai" is the lookup table's form of "have" (from "ain't"); the acronym keeps its identity
    assert preprocessor.tokens("Social media has made it easier.")[2] == "have"
    assert preprocessor.tokens("AI made it easier.")[0] == "ai"
    assert "ai" not in preprocessor.tokens("They have had it and it has gone.")


@pytest.mark.parametrize(("word", "norm"), [
    ("AI", "ai"), ("ICT", "ict"), ("IoT", "iot"), ("SMS", "sms"), ("VPN", "vpn"),
    ("GPS", "gps"), ("CSAM", "csam"), ("OSINT", "osint"), ("NGOs", "ngo"), ("SIMs", "sim"),
    ("WhatsApp", "whatsapp"), ("MP4", "mp4"), ("3D", "3d"),
])
def test_acronyms_and_names_keep_identity(preprocessor: Preprocessor, word: str, norm: str):
    assert preprocessor.tokens(word) == (norm,)


def test_sentence_initial_capital_is_still_lemmatised(preprocessor: Preprocessor):
    assert preprocessor.tokens("Has") == ("have",) and not keeps_identity("Traffickers")


@pytest.mark.parametrize(("plural", "singular"), [
    ("cryptocurrencies", "cryptocurrency"), ("darknets", "darknet"), ("deepfakes", "deepfake"),
    ("smartphones", "smartphone"), ("webcams", "webcam"), ("chatbots", "chatbot"),
])
def test_unknown_plurals_fall_back_to_the_singular(preprocessor: Preprocessor, plural: str,
                                                   singular: str):
    assert preprocessor.tokens(plural) == preprocessor.tokens(singular) == (singular,)
    assert preprocessor.tokens(plural.capitalize()) == (singular,)


@pytest.mark.parametrize("word", ["news", "series", "analytics", "status", "this", "chaos",
                                  "always", "address", "bus"])
def test_words_in_s_that_are_not_plurals_stay(word: str):
    assert plural_fallback(word, known=set(), stop_words={"this", "always"}) == word


def test_plural_fallback_prefers_a_known_lemma():
    assert plural_fallback("cookies", known={"cookie"}, stop_words=set()) == "cookie"
    assert plural_fallback("switches", known=set(), stop_words=set()) == "switch"


def test_table_entries_that_change_meaning_are_fixed(preprocessor: Preprocessor):
    assert preprocessor.tokens("mobile number") == ("mobile", "number")


def test_5g_is_one_token_and_not_4g(preprocessor: Preprocessor):
    assert preprocessor.tokens("5G networks") == ("5g", "network")
    assert preprocessor.tokens("over 4G.") == ("over", "4g")
    assert preprocessor.tokens("5G") != preprocessor.tokens("4G")


def test_alphanumeric_name_before_a_full_stop_ends_the_sentence(preprocessor: Preprocessor):
    text = "Traffic moved to 5G. Police followed."
    assert [text[s.start:s.end] for s in next(preprocessor.stream([text]))] == [
        "Traffic moved to 5G.", "Police followed."]


def test_curly_quotes_equal_straight_ones(preprocessor: Preprocessor):
    assert (preprocessor.tokens("it\u2019s the traffickers\u2019 \u201cfake\u201d ads")
            == preprocessor.tokens("it's the traffickers' \"fake\" ads"))
    assert normalize_text("\u2018a\u2019 \u201cb\u201d").text == "'a' \"b\""


@pytest.mark.parametrize("mark", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",
                                  "\u200e", "\u202e", "\u2066", "\u00ad"])
def test_invisible_characters_inside_words_change_nothing(preprocessor: Preprocessor,
                                                          mark: str):
    clean_text = "The recruiter wrote on Facebook. Then he left."
    text = f"The re{mark}cruiter wrote on Face{mark}book{mark}. Then he left."
    sents = next(preprocessor.stream([text]))
    assert [s.tokens for s in sents] == [s.tokens for s in next(preprocessor.stream([clean_text]))]
    # offsets still slice the original text, invisible characters included
    assert [text[s.start:s.end] for s in sents] == [
        f"The re{mark}cruiter wrote on Face{mark}book{mark}.", "Then he left."]


def test_offset_map_points_into_the_original():
    text = "\u200bab\u200b\u200bc\u00e9"
    normal = normalize_text(text)
    assert normal.text == "abc\u00e9"
    assert normal.original_span(0, 4) == (1, len(text))
    assert text[slice(*normal.original_span(2, 3))] == "c"


def test_plain_text_is_returned_unchanged():
    text = "Nothing to do here, 5G or not."
    normal = normalize_text(text)
    assert normal.text is text and normal.index is None


def test_lone_surrogates_become_replacement_characters():
    assert normalize_text("a\ud800b").text == "a\ufffdb"
