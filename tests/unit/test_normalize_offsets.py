"""Issue 14: the compact offset map gives the former per-character map's answers (the
normalised text, and the original span of every span of it), on every shipped text
and on random text full of marks, invisible characters and quotes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.text.normalize import normalize_text
from tests.reference import normalize_v0
from tests.shipped import shipped_texts

#: Letters, combining marks (in and out of canonical order), invisible characters,
#: quotes, Hangul jamo, singletons (U+212B) and a lone surrogate.
ALPHABET = [*"ae iou\n.", "\u0301", "\u0308", "\u0323", "\u0327", "\u200b", "\u200d",
            "\u00ad", "\ufeff", "\u2019", "\u201c", "\u1100", "\u1161", "\u212b", "\u00e9",
            "\ud800", "\u202e"]


def _same(text: str) -> None:
    new, old = normalize_text(text), normalize_v0.normalize_text(text)
    assert new.text == old.text
    n = len(new.text)
    for start in range(n + 1):
        for end in range(start, n + 1):
            assert new.original_span(start, end) == old.original_span(start, end), \
                (text, start, end)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=14).map("".join))
def test_offsets_equal_the_former_map_on_random_text(text):
    _same(text)


def test_offsets_equal_the_former_map_on_every_shipped_text(config):
    checked = 0
    for text in shipped_texts(config.label_sets):
        new, old = normalize_text(text), normalize_v0.normalize_text(text)
        assert new.text == old.text
        if old.index is None:
            assert new.offsets is None
            continue
        checked += 1
        n = len(new.text)
        for start in range(0, n + 1, max(1, n // 200)):
            for end in (start, min(n, start + 1), min(n, start + 37), n):
                assert new.original_span(start, end) == old.original_span(start, end)
    assert checked > 0  # some shipped texts do need a map


def test_long_chunks_of_composed_text_keep_their_offsets():
    """Composition works in chunks cut before a base letter: offsets stay exact across
    chunk edges, for a text longer than one chunk with marks everywhere."""
    text = ("cafe\u0301 na\u00efve \u200bre\u0301sume\u0301 " * 9000)[:140_001]
    new, old = normalize_text(text), normalize_v0.normalize_text(text)
    assert new.text == old.text
    for start in range(0, len(new.text), 997):
        for end in (start, start + 1, start + 64):
            end = min(end, len(new.text))
            assert new.original_span(start, end) == old.original_span(start, end)
