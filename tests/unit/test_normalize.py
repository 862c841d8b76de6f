"""pipeline.text.normalize and its use in preprocessing: every form means what a reader reads."""

from __future__ import annotations

import pytest

from pipeline.text.normalize import keeps_identity, normalize_text, plural_fallback
from pipeline.text.preprocess import Preprocessor


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
    assert normal.text is text and normal.offsets is None


def test_lone_surrogates_become_replacement_characters():
    assert normalize_text("a\ud800b").text == "a\ufffdb"


# --- hostile input ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["5G/4G networks", "4G/5G networks", "IoT/5G networks",
                                  "5G,4G networks"])
def test_alphanumeric_names_joined_by_punctuation_stay_whole(preprocessor: Preprocessor,
                                                             text: str):
    # "5G/4G" is tokenised as "5G/4" + "G": neither 5G nor 4G is seen
    tokens = preprocessor.tokens(text)
    assert "5g" in tokens and "network" in tokens
    assert not any(t.endswith(("/4", "/5", ",4")) for t in tokens), tokens


def test_full_stop_after_an_alphanumeric_name_splits_like_after_a_word(
        preprocessor: Preprocessor):
    # "it.Then" is split, "4G.Then" is one token "4g.then"
    assert preprocessor.tokens("over it.Then") == ("over", "it", "then")
    assert preprocessor.tokens("over 4G.Then") == ("over", "4g", "then")


@pytest.mark.parametrize(("heading", "plain"), [
    ("ESCORT ADS", "escort ads"), ("BURNER PHONES", "burner phones"),
    ("DATING APPS", "dating apps"), ("GIRLS SOLD ONLINE", "girls sold online"),
])
def test_all_caps_heading_words_normalise_like_lower_case(preprocessor: Preprocessor,
                                                          heading: str, plain: str):
    # all-capital words of up to six letters keep their identity, so a heading's
    # "ADS", "PHONES", "APPS", "SOLD" are never lemmatised (the cue "ad" misses "ESCORT ADS")
    assert preprocessor.tokens(heading) == preprocessor.tokens(plain)


@pytest.mark.parametrize(("plural", "singular"), [
    ("IoTs", "iot"), ("eSIMs", "esim"), ("iPhones", "iphone"),
])
def test_mixed_case_plurals_fall_back_to_the_singular(preprocessor: Preprocessor,
                                                      plural: str, singular: str):
    # SIMs -> sim, but IoTs -> iots, eSIMs -> esims (the plural rule wants all capitals)
    assert preprocessor.tokens(plural) == (singular,)


def test_arabic_letter_mark_is_a_bidi_control_and_is_dropped(preprocessor: Preprocessor):
    # U+061C is a Bidi_Control character like U+200E/U+200F, but is kept inside the word
    text = "The re\u061ccruiter wrote on Face\u061cbook."
    assert preprocessor.tokens(text) == preprocessor.tokens("The recruiter wrote on Facebook.")
    assert normalize_text(text).text == "The recruiter wrote on Facebook."


def test_decomposed_accents_equal_precomposed_ones(preprocessor: Preprocessor):
    # "e" + U+0301 reads as "\u00e9" (NFD text from macOS or PDFs); tokens differ today
    assert preprocessor.tokens("Cafe\u0301 workers") == preprocessor.tokens("Caf\u00e9 workers")


@pytest.mark.parametrize("text", [
    "\u200b" * 50, "\u202e\u2066\u2069\u00ad\ufeff", "\u200b \u200d\n\n\u2060", "\u200b.\u200b",
])
def test_text_of_only_invisible_characters_has_no_sentence(preprocessor: Preprocessor,
                                                           text: str):
    assert next(preprocessor.stream([text])) == []


@pytest.mark.parametrize("text", [
    "5G.", "They moved to 5G.", "5G-enabled phones.", "(5G)", "\u201c5G\u201d", "5G\u200b.",
    "5\u200bG.",
])
def test_5g_at_the_end_of_text_and_with_marks(preprocessor: Preprocessor, text: str):
    assert "5g" in preprocessor.tokens(text)
    sents = next(preprocessor.stream([text]))
    assert len(sents) == 1 and text[sents[0].start:sents[0].end] == text


@pytest.mark.parametrize("max_chars", [7, 16, 33, 900_000])
def test_offsets_slice_the_original_with_invisible_characters_at_piece_cuts(
        config, max_chars: int):
    # invisible runs, bidi controls, surrogates and combining marks around sentence ends
    # and where long texts are cut into pieces
    pre = Preprocessor(config.preprocess, max_chars=max_chars)
    z = "\u200b" * 40
    text = (f"{z}\u202bVictims\u202c were sold{z}.{z} \u00adCrypto\ufeff wallets\ud800 "
            f"paid.\u200d\n\n{z}Caf\u0301e\u2066 5G.{z} e\u200bn\u200bd")
    sents = next(pre.stream([text]))
    assert sents
    prev = 0
    for s in sents:
        piece = text[s.start:s.end]
        assert prev <= s.start < s.end <= len(text)
        assert piece == piece.strip() and piece[0] not in z + "\u202b\u202c\u2066\u00ad\ufeff"
        assert piece[-1] not in z + "\u202b\u202c\u2066\u200d"
        prev = s.end
    if max_chars == 900_000:
        assert [text[s.start:s.end] for s in sents][-1] == "e\u200bn\u200bd"
        assert [s.tokens for s in sents][-1] == ("end",)


@pytest.mark.parametrize("text", ["She met him at the cafe\u0301", "cafe\u0301\u200b. Next one.",
                                  "\u200bcafe\u0301 and more."])
def test_spans_keep_a_trailing_combining_mark(preprocessor: Preprocessor, text: str):
    sents = next(preprocessor.stream([text]))
    first = text[sents[0].start:sents[0].end]
    assert "cafe\u0301" in first  # the combining mark stays inside the span
    assert first[0] != "\u200b" and first[-1] != "\u200b"
    normal = normalize_text(text)
    assert text[slice(*normal.original_span(0, len(normal.text)))].strip("\u200b") == \
        text.strip("\u200b")


@pytest.mark.parametrize("text", [
    "Cafe\u0301 closed. \u3002\u0301Debt grew.",  # a mark on the sentence-final 。
    "Cafe\u0301 closed.\n\n\u0301Debt grew.",  # a mark after the blank line
])
def test_sentences_do_not_overlap_when_a_mark_follows_a_sentence_end(
        preprocessor: Preprocessor, text: str):
    """hostile-final: with a decomposed accent elsewhere in the text every character of a
    cluster maps to the cluster's first character, so a sentence that starts at the
    mark starts at the previous sentence's 。 (or at the newline before it)."""
    sents = next(preprocessor.stream([text]))
    assert len(sents) == 2
    assert sents[0].end <= sents[1].start  # 'Café closed. 。́' then '。́Debt grew.' before
    for s in sents:
        piece = text[s.start:s.end]
        assert piece == piece.strip()


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\u2060"])
def test_a_mark_after_an_invisible_character_is_composed(preprocessor: Preprocessor,
                                                         invisible: str):
    """hostile-final: 'cafe' + ZWSP (or a soft hyphen from a PDF) + U+0301 keeps the mark
    decomposed once the invisible character is dropped: the text is not NFC, the word
    is not 'café', and 'café.' becomes one token, so two sentences become one."""
    import unicodedata

    assert normalize_text(f"cafe{invisible}\u0301").text == "caf\u00e9"
    assert unicodedata.is_normalized("NFC", normalize_text(f"cafe{invisible}\u0301 x").text)
    text = f"She ran the cafe{invisible}\u0301. She paid a debt."
    sents = next(preprocessor.stream([text]))
    assert [s.tokens for s in sents] == [("she", "run", "the", "caf\u00e9"),
                                         ("she", "pay", "a", "debt")]
    assert text[sents[0].start:sents[0].end] == f"She ran the cafe{invisible}\u0301."
