"""Text and word normalisation, without spaCy: what a reader takes each form to mean.

Two levels, both used everywhere a text or a cue term is read (training, prediction,
the keyword baseline, cue matching):

* :func:`normalize_text` maps typographic variants to one form (curly quotes to
  straight ones), drops invisible characters that split words (zero-width and bidi
  controls, soft hyphens) and repairs lone surrogates, keeping a map back to the
  original character offsets so evidence still slices the text the user gave.
* :func:`word_form` turns one word into its normal form: acronyms and alphanumeric
  names keep their identity (``AI`` is not the lookup lemma of *ain't*'s ``ai``),
  other words (capitalised headings too: ``ESCORT ADS``) take the lookup lemma, and
  plurals the table lacks fall back to a suffix rule (*cryptocurrencies* ->
  *cryptocurrency*, *IoTs* -> *iot*).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Container
from typing import NamedTuple

import numpy as np

#: One-for-one replacements: curly and other typographic quotes to ASCII.
QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
})
#: Removed: zero-width space/joiners, word joiner, BOM, soft hyphen, bidi controls.
_INVISIBLE = "\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
INVISIBLE = re.compile(f"[{_INVISIBLE}]")
SURROGATE = re.compile("[\ud800-\udfff]")
_NEEDS_WORK = re.compile(f"[{_INVISIBLE}\u00b4\u2018-\u201f\u2032\u2033\ud800-\udfff]")

#: An alphanumeric technology name the tokenizer must keep whole: 5G, 4G, 3D, 2FA, 6G.
ALNUM_NAME = re.compile(r"^[0-9]{1,2}[A-Z]{1,3}$")
_ACRONYM_PLURAL = re.compile(r"^[A-Z][A-Z0-9]+s$")  # NGOs, SIMs, CDRs, UAVs
_MIXED_PLURAL = re.compile(r"^[A-Za-z]*[a-z][A-Z]+s$|^[A-Z][a-z][A-Z]s$")  # eSIMs, IoTs
_SIBILANT_ES = re.compile(r"(?:ss|sh|ch|x|z)es$")
#: Words in -s that are not plurals of a shorter word (the lookup table lacks them).
NOT_PLURAL = frozenset({
    "news", "series", "species", "lens", "means", "chaos", "kudos", "whereabouts",
    "headquarters", "crossroads", "diabetes", "measles", "biceps", "mumps", "gas",
    "bias", "atlas", "alias", "canvas", "christmas", "thanks", "overseas", "perhaps",
    "always", "sometimes", "afterwards", "towards", "besides", "nowadays",
})
_NOT_PLURAL_ENDINGS = ("ss", "us", "is", "ics", "ous", "ys", "ws")
#: Entries of the lookup table that change a word's meaning, and what they should be.
LEMMA_FIXES = {"number": "number"}  # the table maps it to "numb"


def clean(text: str) -> str:
    """Replace lone surrogates (from broken input) with U+FFFD, one character for one,
    so the text can be encoded and every offset still points into the original."""
    return SURROGATE.sub("\ufffd", text)


class Runs(NamedTuple):
    """A compact map from positions of one text to positions of another.

    Run ``r`` covers positions ``at[r]`` up to the next run. In a one-to-one run
    (``span[r] < 0``) position ``i`` stands for the single character
    ``origin[r] + i - at[r]``; in a cluster run every position stands for the whole
    span ``origin[r]:span[r]`` (an accent composed with its letter). Memory grows with
    the number of changes, not with the length of the text (a 50 MB document with one
    zero-width joiner needs two runs, not 400 MB of offsets).
    """

    at: np.ndarray
    origin: np.ndarray
    span: np.ndarray

    def _run(self, i: int) -> int:
        return int(np.searchsorted(self.at, i, side="right")) - 1

    def first(self, i: int) -> int:
        """The first original character position ``i`` stands for."""
        r = self._run(i)
        return int(self.origin[r]) if self.span[r] >= 0 else int(self.origin[r] + i - self.at[r])

    def last(self, i: int) -> int:
        """The last original character position ``i`` stands for."""
        r = self._run(i)
        return (int(self.span[r]) - 1 if self.span[r] >= 0
                else int(self.origin[r] + i - self.at[r]))


def _runs(at: list[int], origin: list[int], span: list[int]) -> Runs:
    return Runs(np.array(at, dtype=np.int64), np.array(origin, dtype=np.int64),
                np.array(span, dtype=np.int64))


class NormalText(NamedTuple):
    """A normalised text and, when characters were dropped or composed, where each of
    its characters came from: ``offsets`` maps positions of ``text`` back to the
    original, through composed clusters and then dropped characters (each step a
    :class:`Runs`, or None when it changed nothing). ``offsets`` is None when offsets
    are unchanged."""

    text: str
    offsets: tuple[Runs | None, Runs | None] | None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original text's span for ``text[start:end]`` (end exclusive)."""
        if self.offsets is None:
            return start, end
        composed, dropped = self.offsets
        first = composed.first(start) if composed is not None else start
        first = dropped.first(first) if dropped is not None else first
        if end <= start:
            return first, first
        last = composed.last(end - 1) if composed is not None else end - 1
        last = dropped.last(last) if dropped is not None else last
        return first, last + 1


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
    dropped = _dropped(text) if invisible else None
    if not unicodedata.is_normalized("NFC", visible):  # marks to compose (maybe across
        out, composed = _composed(visible)            # a dropped invisible character)
        return NormalText(out, (composed, dropped))
    if not invisible:
        return NormalText(text, None)
    return NormalText(visible, (None, dropped))


def _dropped(text: str) -> Runs:
    """Positions of ``text`` without its invisible characters, mapped back to ``text``."""
    removed = np.array([m.start() for m in INVISIBLE.finditer(text)], dtype=np.int64)
    # after the k-th dropped character (k from 0), visible position p - k is original p + 1
    return Runs(np.concatenate(([0], removed - np.arange(len(removed)))),
                np.concatenate(([0], removed + 1)), np.full(len(removed) + 1, -1))


#: Characters of visible text composed at once; a text already in NFC is copied whole.
_COMPOSE_CHUNK = 65_536


def _composed(visible: str) -> tuple[str, Runs]:
    """NFC-compose cluster by cluster (a base character and its marks), keeping where
    each output character came from. A cluster NFC leaves alone maps character by
    character; a composed or expanded one maps every output character to the whole
    cluster, so a span never cuts a mark from its base. Chunks (cut before a base
    character) that are already NFC are copied whole."""
    out: list[str] = []
    at, origin, span = [0], [0], [-1]
    o = k = 0
    n = len(visible)

    def same(o: int, k: int) -> None:  # output o is visible k, one to one, from here on
        if span[-1] >= 0 or origin[-1] + (o - at[-1]) != k:
            at.append(o), origin.append(k), span.append(-1)

    while k < n:
        j = min(n, k + _COMPOSE_CHUNK)
        while j < n and unicodedata.combining(visible[j]):
            j += 1
        chunk = visible[k:j]
        if unicodedata.is_normalized("NFC", chunk):
            same(o, k)
            out.append(chunk)
            o, k = o + len(chunk), j
            continue
        while k < j:
            c = k + 1
            while c < j and unicodedata.combining(visible[c]):
                c += 1
            cluster = visible[k:c]
            piece = unicodedata.normalize("NFC", cluster)
            if piece == cluster:
                same(o, k)
            else:
                at.append(o), origin.append(k), span.append(c)
            out.append(piece)
            o, k = o + len(piece), c
    same(o, n)  # the end of the text maps to the end
    return "".join(out), _runs(at, origin, span)


def keeps_identity(word: str) -> bool:
    """Whether a word is an acronym or alphanumeric name that no lemma table may change.

    True for all-capital words of up to six characters (AI, ICT, SMS, VPN, CSAM, OSINT),
    words with a capital after the first letter (IoT, eSIM, WhatsApp) and words mixing
    letters and digits (5G, MP4, 3D). Sentence-initial capitals (*Has*) are not.
    """
    if any(c.isdigit() for c in word) and any(c.isalpha() for c in word):
        return True
    letters = [c for c in word if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters) and len(word) <= 6:
        return True
    return any(c.isupper() for c in word[1:]) and not word.isupper()


def plural_fallback(lower: str, known: Container[str], stop_words: Container[str]) -> str:
    """Singular of a plural the lemma table does not list (or ``lower`` unchanged).

    -ies -> -y, -(ss|sh|ch|x|z)es -> drop -es, else drop -s; a candidate that is a known
    lemma wins. Stop words, short words, known lemmas and words like *news* or *ethics*
    are left alone.
    """
    if (len(lower) < 5 or not lower.endswith("s") or not lower.isalpha() or lower in known
            or lower in stop_words or lower in NOT_PLURAL
            or lower.endswith(_NOT_PLURAL_ENDINGS)):
        return lower
    candidates = []
    if lower.endswith("ies"):
        candidates.append(lower[:-3] + "y")
    if _SIBILANT_ES.search(lower):
        candidates.append(lower[:-2])
    candidates.append(lower[:-1])
    for candidate in candidates:
        if candidate in known:
            return candidate
    return candidates[0]


def word_form(orth: str, lemma: Callable[[str], str | None], known: Container[str],
              stop_words: Container[str]) -> str:
    """Normal form of one word: lower-cased, lemmatised unless it keeps its identity.

    ``lemma(lower)`` is the lookup table (None where it has no entry); ``known`` the
    table's lemmas, used to check plural fallbacks.
    """
    lower = orth.lower()
    if keeps_identity(orth):
        if _ACRONYM_PLURAL.match(orth) or _MIXED_PLURAL.match(orth):
            return lower[:-1]  # NGOs, SIMs, IoTs, eSIMs
        if orth.isupper() and orth.isalpha():  # a capitalised heading word, or an acronym
            found = LEMMA_FIXES.get(lower) or lemma(lower)
            if found and found.lower() not in stop_words and lower not in stop_words:
                return found.lower()  # ADS -> ad, SOLD -> sell; AI stays (not "have")
            if len(lower) > 4:
                return plural_fallback(lower, known, stop_words)  # PHONES, DEEPFAKES
        elif any(c.isupper() for c in orth[1:]) and orth.endswith("s"):
            return plural_fallback(lower, known, stop_words)  # iPhones
        return lower
    found = LEMMA_FIXES.get(lower) or lemma(lower)
    if found:
        return found.lower()
    return plural_fallback(lower, known, stop_words)
