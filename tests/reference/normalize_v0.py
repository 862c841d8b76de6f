"""normalize_text as it was before issue 14 (dense per-character offset arrays).

Kept only as the reference of ``tests/unit/test_normalize_offsets.py``.
"""
# ruff: noqa
from __future__ import annotations

import unicodedata
from typing import NamedTuple

import numpy as np

from pipeline.text.normalize import _NEEDS_WORK, INVISIBLE, QUOTES, SURROGATE


class NormalText(NamedTuple):
    """A normalised text and, when characters were dropped or composed, where each of
    its characters came from: ``text[i]`` stands for ``original[index[i]:ends[i]]``.
    Both are None when offsets are unchanged."""

    text: str
    index: np.ndarray | None
    ends: np.ndarray | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original text's span for ``text[start:end]`` (end exclusive)."""
        if self.index is None:
            return start, end
        if end <= start:
            return int(self.index[start]), int(self.index[start])
        return int(self.index[start]), int(self.ends[end - 1])


def normalize_text(text: str) -> NormalText:
    """Map quotes to ASCII, repair lone surrogates (U+FFFD), drop invisible characters and
    compose decomposed accents (NFC: "e" + U+0301 is "\u00e9").

    Returns the new text and, only if characters were dropped or composed, the offset
    map back to ``text``: the common case (nothing to do) costs a regex search and an
    NFC check.
    """
    needs_work = _NEEDS_WORK.search(text)
    if needs_work:
        text = SURROGATE.sub("\ufffd", text).translate(QUOTES)
    invisible = bool(needs_work) and INVISIBLE.search(text) is not None
    visible = INVISIBLE.sub("", text) if invisible else text
    if not unicodedata.is_normalized("NFC", visible):  # marks to compose (maybe across
        return _composed(text)                          # a dropped invisible character)
    if not invisible:
        return NormalText(text, None)
    keep = np.ones(len(text) + 1, dtype=bool)
    keep[[m.start() for m in INVISIBLE.finditer(text)]] = False
    index = np.flatnonzero(keep)
    return NormalText(INVISIBLE.sub("", text), index, index + 1)


def _composed(text: str) -> NormalText:
    """Drop invisible characters, then NFC-compose cluster by cluster (a base character
    and its marks), keeping where each output character came from. A cluster NFC leaves
    alone maps character by character; a composed or expanded one maps every output
    character to the whole cluster, so a span never cuts a mark from its base."""
    visible = [i for i, c in enumerate(text) if not INVISIBLE.match(c)]
    out: list[str] = []
    index: list[int] = []
    ends: list[int] = []
    k = 0
    while k < len(visible):
        j = k + 1
        while j < len(visible) and unicodedata.combining(text[visible[j]]):
            j += 1
        positions = visible[k:j]
        cluster = "".join(text[i] for i in positions)
        piece = unicodedata.normalize("NFC", cluster)
        out.append(piece)
        if piece == cluster:
            index.extend(positions)
            ends.extend(i + 1 for i in positions)
        else:
            index.extend([positions[0]] * len(piece))
            ends.extend([positions[-1] + 1] * len(piece))
        k = j
    index.append(len(text))
    ends.append(len(text))
    return NormalText("".join(out), np.array(index), np.array(ends))
