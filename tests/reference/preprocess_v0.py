"""Preprocessing as it was before issue 14 (one set of numpy calls per spaCy Doc).

Kept only as the reference of ``tests/unit/test_preprocess_batched.py``: the batched
sentence rule of :mod:`pipeline.text.preprocess` must give exactly these sentences.
"""
# ruff: noqa
from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

import numpy as np
import spacy
from spacy.attrs import (IDX, IS_DIGIT, IS_LEFT_PUNCT, IS_LOWER, IS_PUNCT, IS_QUOTE, IS_SPACE,
                         LENGTH, LIKE_NUM, ORTH, SPACY)
from spacy.language import Language
from spacy.tokens import Doc

from spacy.util import compile_infix_regex, compile_suffix_regex

from pipeline.text.normalize import ALNUM_NAME, NormalText, normalize_text, word_form
from pipeline.text.preprocess import (ALNUM_FULL_STOP, ALNUM_INFIXES, ALNUM_TAIL, CURRENCY, EMAIL, LIST_MARK, NUM, PARAGRAPH, REFERENCES,
                                      TITLES, URL, Sentence, split_long)


def sentence_final_hashes(vocab) -> np.ndarray:
    """Hashes of the characters spaCy's sentencizer treats as sentence-final."""
    from spacy.pipeline.sentencizer import Sentencizer

    return np.array(sorted(vocab.strings.add(c) for c in Sentencizer.default_punct_chars),
                    dtype=np.uint64)


def sentence_starts(doc: Doc, final: np.ndarray) -> np.ndarray:
    """Sentence starts as a boolean array: spaCy's rule-based sentencizer plus blank lines.

    spaCy's ``sentencizer`` rule: after a sentence-final character (``.``, ``!``, ``?``
    ...) the next token that is neither punctuation nor such a character starts a
    sentence; a token after a blank line does too. Three refinements for report text:
    the full stop of an abbreviation (``et al.``, ``No. 29``, ``Lt.``) or of a
    line-initial list number (``12.``) ends no sentence, and an opening quote or
    bracket starts the sentence it opens. Computed on token arrays, because walking
    Python token objects was the largest cost of preprocessing. A full stop glued to a
    following comma, semicolon or colon ends no sentence either.
    """
    n = len(doc)
    starts = np.zeros(n, dtype=bool)
    if n == 0:
        return starts
    arr = doc.to_array([ORTH, IS_PUNCT, IS_SPACE, SPACY, IS_LEFT_PUNCT])
    is_final = np.isin(arr[:, 0], final)
    if is_final.any():
        is_final &= ~_abbreviation_stops(doc, arr)
    opens = np.flatnonzero(~(arr[:, 1].astype(bool) | is_final))  # can open a sentence
    starts[0] = True
    if len(opens):
        seen = np.cumsum(is_final)
        before = np.concatenate(([0], seen[opens[:-1]]))  # finals up to the previous opener
        starts[opens[seen[opens] - before > 0]] = True
    # an opening quote or bracket after a space belongs to the sentence it opens
    lead = np.flatnonzero(starts[2:] & arr[1:-1, 4].astype(bool) & (arr[1:-1, 3] == 0)
                          & (arr[:-2, 3] == 1)) + 2
    starts[lead - 1], starts[lead] = True, False
    # only whitespace tokens can hold a blank line (doc.text would rebuild the whole text)
    for i in np.flatnonzero(arr[:-1, 2]):
        if PARAGRAPH.search(doc[int(i)].text_with_ws):
            starts[int(i) + 1] = True
    return starts


@lru_cache(maxsize=8)
def _abbreviation_hashes(vocab) -> tuple[np.ndarray, np.ndarray, np.uint64, np.ndarray]:
    add = vocab.strings.add
    return (np.array([add(w) for w in TITLES], dtype=np.uint64),
            np.array([add(w) for w in REFERENCES], dtype=np.uint64),
            np.uint64(add(".")), np.array([add(c) for c in ",;:"], dtype=np.uint64))


def _abbreviation_stops(doc: Doc, arr: np.ndarray) -> np.ndarray:
    """Full stops that end an abbreviation or a line-initial list number, not a sentence."""
    n = len(doc)
    titles, references, stop, inner = _abbreviation_hashes(doc.vocab)
    out = np.zeros(n, dtype=bool)
    dots = np.flatnonzero(arr[1:, 0] == stop) + 1  # full stops with a token before them
    dots = dots[arr[dots - 1, 3] == 0]  # ... attached to it ("al.", not "al .")
    if not len(dots):
        return out
    glued = dots[(dots + 1 < n) & (arr[dots, 3] == 0)]  # "al.," "etc.;": mid-sentence
    out[glued[np.isin(arr[glued + 1, 0], inner)]] = True
    prev = arr[dots - 1, 0]
    out[dots[np.isin(prev, titles)]] = True
    ref = dots[np.isin(prev, references) & (dots + 1 < n)]
    if len(ref):
        nxt = doc.to_array([IS_DIGIT, IS_LOWER, LIKE_NUM, IS_LEFT_PUNCT, IS_QUOTE])[ref + 1]
        out[ref[nxt[:, :3].any(axis=1) | (nxt[:, 3] & ~nxt[:, 4]).astype(bool)]] = True
    for i in dots:  # "12." or "b." opening a line
        i = int(i)
        if (i < 2 or arr[i - 2, 2]) and LIST_MARK.match(doc[i - 1].text):
            out[i] = True
    return out


class Normalizer:
    """Maps tokens to their normal form, caching per word type for the blank pipeline."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp
        # a trained pipeline lemmatises in context; the blank one by word type
        self.contextual = False
        self.final = sentence_final_hashes(nlp.vocab)
        table = {}
        if nlp.has_pipe("lemmatizer") and not self.contextual:
            lookups = nlp.get_pipe("lemmatizer").lookups
            if lookups.has_table("lemma_lookup"):
                table = lookups.get_table("lemma_lookup")
        self._table = table
        self._known = frozenset(table.values()) if table else frozenset()
        self._stop_words = nlp.Defaults.stop_words
        self._cache: dict[int, str | None] = {}

    def lexeme(self, orth: int) -> str | None:
        """Normal form of a word type, or None when it is dropped (punctuation, space)."""
        norm = self._cache.get(orth, "")
        if norm != "":
            return norm
        lex = self.nlp.vocab[orth]
        if lex.is_space or lex.is_punct:
            norm = None
        elif lex.like_url:
            norm = URL
        elif lex.like_email:
            norm = EMAIL
        elif lex.is_currency:
            norm = CURRENCY
        elif lex.like_num:
            norm = NUM
        else:
            norm = word_form(lex.orth_, self._table.get, self._known, self._stop_words)
            if not norm.strip():
                norm = None
        self._cache[orth] = norm
        return norm

    def sentences(self, doc: Doc, offset: int = 0) -> list[Sentence]:
        """Split a processed doc into :class:`Sentence` records (empty ones dropped).

        A sentence spans its first to its last non-space token; one with no word left
        after normalisation (only punctuation) is dropped.
        """
        if len(doc) == 0:
            return []
        # (asking spaCy for SENT_START walks every token object, so only when needed)
        arr = doc.to_array([ORTH, IS_SPACE, IDX, LENGTH])
        orths, spaces, starts, lengths = (arr[:, k] for k in range(4))
        if self.contextual:  # the trained pipeline's parser or senter set the starts
            bounds = [s.start for s in doc.sents]
        else:  # the blank pipeline's sentencizer is skipped in _stream; same rule here
            bounds = np.flatnonzero(sentence_starts(doc, self.final)).tolist()
        if not bounds or bounds[0] != 0:
            bounds.insert(0, 0)
        if self.contextual:
            norms = np.array([self._contextual(t) for t in doc], dtype=object)
        else:  # one look-up per word type of the doc, then a take()
            types, inverse = np.unique(orths, return_inverse=True)
            norms = np.array([self.lexeme(int(o)) for o in types], dtype=object)[inverse]
        keep = norms != None  # noqa: E711 (element-wise test on an object array)
        out = []
        for sent_start, sent_end in zip(bounds, [*bounds[1:], len(doc)], strict=True):
            tokens = tuple(norms[sent_start:sent_end][keep[sent_start:sent_end]])
            if not tokens:
                continue
            solid = np.flatnonzero(spaces[sent_start:sent_end] == 0) + sent_start
            first, last = int(solid[0]), int(solid[-1])
            out.append(Sentence(offset + int(starts[first]),
                                offset + int(starts[last] + lengths[last]), tokens))
        return out

    def _contextual(self, tok: spacy.tokens.Token) -> str | None:
        if tok.is_space or tok.is_punct:
            return None
        if tok.like_url:
            return URL
        if tok.like_email:
            return EMAIL
        if tok.is_currency:
            return CURRENCY
        if tok.like_num:
            return NUM
        lemma = tok.lemma_  # the trained pipeline's lemma, in context
        return word_form(tok.text, lambda _: lemma, self._known, self._stop_words) or None


def stream(texts: Iterable[str], nlp: Language, batch_size: int,
            max_chars: int) -> Iterator[list[Sentence]]:
    normalizer = Normalizer(nlp)
    # pieces are at most max_chars long: spaCy's own memory guard must admit them
    nlp.max_length = max(nlp.max_length, max_chars)
    # (text number in batch, offset, piece, the normalised whole text)
    pending: list[tuple[int, int, str, NormalText]] = []
    n_texts = 0

    # the blank pipeline's lemmas come from the lookup table, per word type (Normalizer),
    # so the lemmatizer component itself need not run on every token
    # and its sentence starts are computed by the Normalizer from token arrays, which
    # spares spaCy's per-token bookkeeping of is_sent_start
    skip = [] if normalizer.contextual else [n for n in ("lemmatizer", "trafficlens_sentencizer")
                                             if nlp.has_pipe(n)]

    def flush() -> Iterator[list[Sentence]]:
        results: list[list[Sentence]] = [[] for _ in range(n_texts)]
        with nlp.select_pipes(disable=skip):
            docs = list(nlp.pipe((p[2] for p in pending), batch_size=batch_size))
        for (idx, offset, _, normal), doc in zip(pending, docs, strict=True):
            sentences = normalizer.sentences(doc, offset)
            if normal.offsets is not None:  # back to offsets into the text as given
                sentences = [Sentence(*normal.original_span(s.start, s.end), s.tokens)
                             for s in sentences]
            results[idx].extend(sentences)
        yield from results

    for text in texts:
        normal = normalize_text(text)
        pending.extend((n_texts, off, piece, normal)
                       for off, piece in split_long(normal.text, max_chars))
        n_texts += 1
        if len(pending) >= batch_size:
            yield from flush()
            pending, n_texts = [], 0
    if n_texts:
        yield from flush()




def keep_alphanumeric_names(nlp: Language) -> None:
    """Make the tokenizer keep 5G, 4G, 3D ... whole (spaCy splits "5G" as 5 + unit G),
    also when punctuation joins them to other words ("5G/4G", "IoT/5G", "4G.Then")."""
    tokenizer = nlp.tokenizer
    suffix = compile_suffix_regex([*nlp.Defaults.suffixes, ALNUM_FULL_STOP]).search

    def suffix_search(text: str):
        found = suffix(text)
        name = ALNUM_TAIL.search(text)
        if found and name and found.start() > name.start():
            return None  # the "unit" is the last letter of a name: 5G, not 5 + G
        return found

    tokenizer.suffix_search = suffix_search
    tokenizer.infix_finditer = compile_infix_regex(
        [*nlp.Defaults.infixes, *ALNUM_INFIXES]).finditer
    previous = tokenizer.token_match

    def token_match(text: str):
        return ALNUM_NAME.match(text) or (previous(text) if previous else None)

    tokenizer.token_match = token_match


@lru_cache(maxsize=2)
def former_nlp(lang: str = "en") -> Language:
    """The blank pipeline as it was built before issue 14: spacy.blank, the lookup
    lemmatizer component initialised from spacy-lookups-data, then three tokenizer
    setters."""
    nlp = spacy.blank(lang)
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    keep_alphanumeric_names(nlp)
    return nlp


def former_stream(texts, batch_size: int = 256, max_chars: int = 900_000, lang: str = "en"):
    """Sentences of ``texts`` exactly as the former code made them."""
    return stream(texts, former_nlp(lang), batch_size, max_chars)


def blank_tokenizer(lang: str = "en"):
    """The former pipeline's tokenizer."""
    return former_nlp(lang).tokenizer
