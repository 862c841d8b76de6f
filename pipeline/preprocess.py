"""spaCy preprocessing: split text into sentences and normalise each into tokens.

The default pipeline is ``spacy.blank(lang)`` with a sentencizer and the lookup
lemmatizer tables of ``spacy-lookups-data``; nothing is downloaded. A trained
pipeline installed as a package may be named in the config instead.

Normalised tokens are lower-cased lemmas without punctuation or spaces; URLs,
e-mail addresses, numbers and currency symbols become placeholder tokens. The
normal form of a blank-pipeline token depends only on its lexeme, so it is computed
once per word type: this keeps preprocessing close to the tokenizer's own speed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import spacy
from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LENGTH, ORTH, SENT_START
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.config import Preprocess
from pipeline.errors import PipelineError

#: Bump when the normal form changes, so cached preprocessing is not reused.
NORMALIZER_VERSION = "2"
URL, EMAIL, NUM, CURRENCY = "<url>", "<email>", "<num>", "<currency>"
PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")
SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """Replace lone surrogates (from broken input) with U+FFFD, one character for one,
    so spaCy can encode the text and every offset still points into the original."""
    return SURROGATE.sub("\ufffd", text)


class Sentence(NamedTuple):
    """A sentence's character span in the original text and its normalised tokens."""

    start: int
    end: int
    tokens: tuple[str, ...]


def sentence_final_hashes(vocab) -> np.ndarray:
    """Hashes of the characters spaCy's sentencizer treats as sentence-final."""
    from spacy.pipeline.sentencizer import Sentencizer

    return np.array(sorted(vocab.strings.add(c) for c in Sentencizer.default_punct_chars),
                    dtype=np.uint64)


def sentence_starts(doc: Doc, final: np.ndarray) -> np.ndarray:
    """Sentence starts as a boolean array: spaCy's rule-based sentencizer plus blank lines.

    Same boundaries as ``sentencizer``: after a sentence-final character (``.``, ``!``,
    ``?`` ...) the next token that is neither punctuation nor such a character starts a
    sentence; a token after a blank line does too. Computed on token arrays, because
    walking Python token objects was the largest cost of preprocessing.
    """
    n = len(doc)
    starts = np.zeros(n, dtype=bool)
    if n == 0:
        return starts
    arr = doc.to_array([ORTH, IS_PUNCT, IS_SPACE])
    is_final = np.isin(arr[:, 0], final)
    opens = np.flatnonzero(~(arr[:, 1].astype(bool) | is_final))  # can open a sentence
    starts[0] = True
    if len(opens):
        seen = np.cumsum(is_final)
        before = np.concatenate(([0], seen[opens[:-1]]))  # finals up to the previous opener
        starts[opens[seen[opens] - before > 0]] = True
    # only whitespace tokens can hold a blank line (doc.text would rebuild the whole text)
    for i in np.flatnonzero(arr[:-1, 2]):
        if PARAGRAPH.search(doc[int(i)].text_with_ws):
            starts[int(i) + 1] = True
    return starts


class FastSentencizer:
    """Pipeline component setting ``is_sent_start`` from :func:`sentence_starts`."""

    def __init__(self, vocab) -> None:
        self.final = sentence_final_hashes(vocab)

    def __call__(self, doc: Doc) -> Doc:
        if len(doc):
            starts = sentence_starts(doc, self.final)
            values = np.where(starts, 1, -1).astype(np.int64).view(np.uint64)  # -1 = not
            doc.from_array([SENT_START], values.reshape(-1, 1))
        return doc


@Language.factory("trafficlens_sentencizer")
def make_fast_sentencizer(nlp: Language, name: str) -> FastSentencizer:
    return FastSentencizer(nlp.vocab)


@lru_cache(maxsize=4)
def load_nlp(spacy_model: str = "", lang: str = "en") -> Language:
    """Build (once per process) the spaCy pipeline named in the config."""
    if spacy_model:
        try:
            nlp = spacy.load(spacy_model, exclude=["ner"])
        except OSError as err:
            raise PipelineError(
                f"preprocess.spacy_model: cannot load {spacy_model!r} ({err}); install it or "
                "set spacy_model = \"\" to use the built-in blank pipeline") from None
        if not nlp.has_pipe("parser") and not nlp.has_pipe("senter"):
            nlp.add_pipe("sentencizer")
        return nlp
    nlp = spacy.blank(lang)
    nlp.add_pipe("trafficlens_sentencizer")
    try:
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
    except (ValueError, OSError) as err:
        raise PipelineError(f"cannot set up the lookup lemmatizer for {lang!r}: {err} "
                            "(is spacy-lookups-data installed?)") from None
    return nlp


class Normalizer:
    """Maps tokens to their normal form, caching per word type for the blank pipeline."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp
        # a trained pipeline lemmatises in context; the blank one by word type
        self.contextual = not nlp.has_pipe("trafficlens_sentencizer")
        self.final = sentence_final_hashes(nlp.vocab)
        table = {}
        if nlp.has_pipe("lemmatizer") and not self.contextual:
            lookups = nlp.get_pipe("lemmatizer").lookups
            if lookups.has_table("lemma_lookup"):
                table = lookups.get_table("lemma_lookup")
        self._table = table
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
            lower = lex.lower_
            norm = self._table.get(lower, lower) if self._table else lower
            norm = norm.lower() if norm else lower
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
        return (tok.lemma_ or tok.lower_).lower() or None


def split_long(text: str, max_chars: int) -> list[tuple[int, str]]:
    """Cut a text into ``(offset, piece)`` pieces of at most ``max_chars`` for spaCy.

    Each cut is made in the second half of the allowed length, at the last paragraph
    break there, else after the last sentence end (a sentence-final character, closing
    quotes or brackets, white space), else at white space, else anywhere: so a sentence
    is cut only when no sentence ends in half a piece, and no fragment of one is
    classified as a sentence of its own.
    """
    if len(text) <= max_chars:
        return [(0, text)]
    from spacy.pipeline.sentencizer import Sentencizer

    finals = re.escape("".join(Sentencizer.default_punct_chars))
    boundaries = (PARAGRAPH, re.compile(f"[{finals}]+[\"'\u201d\u2019)\\]]*\\s"),
                  re.compile(r"\s"))
    pieces = []
    start = 0
    while start < len(text):
        end = min(start + max_chars, len(text))
        if end < len(text):
            for pattern in boundaries:
                cut = None
                for match in pattern.finditer(text, start + max_chars // 2, end):
                    cut = match.end()
                if cut is not None:
                    end = cut
                    break
        pieces.append((start, text[start:end]))
        start = end
    return pieces


class Preprocessor:
    """Turns texts into lists of :class:`Sentence`, optionally cached on disk.

    Parameters
    ----------
    settings : Preprocess
        The ``[preprocess]`` section of the config.
    cache_dir : Path or None
        Where ``joblib.Memory`` keeps results keyed by content; None disables caching.
    max_chars : int
        Texts longer than this are processed in pieces (spaCy's ``max_length``).
    """

    def __init__(self, settings: Preprocess, *, cache_dir: Path | None = None,
                 max_chars: int = 900_000) -> None:
        self.settings = settings
        self.cache_dir = cache_dir
        self.max_chars = max_chars
        self._memory = None

    @property
    def nlp(self) -> Language:
        return load_nlp(self.settings.spacy_model, self.settings.lang)

    def signature(self) -> str:
        """What the cached output depends on besides the texts."""
        return "|".join([NORMALIZER_VERSION, spacy.__version__, self.settings.spacy_model or
                         f"blank:{self.settings.lang}", str(self.max_chars)])

    def process(self, texts: Sequence[str]) -> list[list[Sentence]]:
        """Sentences of every text, in order; cached in chunks when a cache dir is set."""
        if self.cache_dir is None:
            return list(self.stream(texts))
        memory = self._get_memory()
        cached = memory.cache(_process_chunk)
        out: list[list[Sentence]] = []
        chunk = self.settings.cache_chunk
        for i in range(0, len(texts), chunk):
            out.extend(cached(tuple(texts[i:i + chunk]), self.settings.spacy_model,
                              self.settings.lang, self.settings.batch_size, self.max_chars,
                              self.signature()))
        return out

    def stream(self, texts: Iterable[str]) -> Iterator[list[Sentence]]:
        """Sentences of every text, lazily (no cache): for streaming prediction."""
        return _stream(texts, self.nlp, self.settings.batch_size, self.max_chars)

    def tokens(self, text: str) -> tuple[str, ...]:
        """Normalised tokens of a short text (e.g. a cue term), sentences joined."""
        return tuple(t for s in next(self.stream([text])) for t in s.tokens)

    def _get_memory(self):
        if self._memory is None:
            from joblib import Memory

            self._memory = Memory(str(self.cache_dir), verbose=0)
        return self._memory


def _stream(texts: Iterable[str], nlp: Language, batch_size: int,
            max_chars: int) -> Iterator[list[Sentence]]:
    normalizer = _normalizer(nlp)
    pending: list[tuple[int, int, str]] = []  # (text number in batch, offset, piece)
    n_texts = 0

    # the blank pipeline's lemmas come from the lookup table, per word type (Normalizer),
    # so the lemmatizer component itself need not run on every token
    # and its sentence starts are computed by the Normalizer from token arrays, which
    # spares spaCy's per-token bookkeeping of is_sent_start
    skip = [] if normalizer.contextual else ["lemmatizer", "trafficlens_sentencizer"]

    def flush() -> Iterator[list[Sentence]]:
        results: list[list[Sentence]] = [[] for _ in range(n_texts)]
        with nlp.select_pipes(disable=skip):
            docs = list(nlp.pipe((piece for _, _, piece in pending), batch_size=batch_size))
        for (idx, offset, _), doc in zip(pending, docs, strict=True):
            results[idx].extend(normalizer.sentences(doc, offset))
        yield from results

    for text in texts:
        pending.extend((n_texts, off, piece)
                       for off, piece in split_long(clean(text), max_chars))
        n_texts += 1
        if len(pending) >= batch_size:
            yield from flush()
            pending, n_texts = [], 0
    if n_texts:
        yield from flush()


def _normalizer(nlp: Language) -> Normalizer:
    """The pipeline's Normalizer, kept on the pipeline object (its word-type cache lives
    exactly as long as the pipeline)."""
    norm = getattr(nlp, "_trafficlens_normalizer", None)
    if norm is None:
        norm = nlp._trafficlens_normalizer = Normalizer(nlp)
    return norm


def _process_chunk(texts: tuple[str, ...], spacy_model: str, lang: str, batch_size: int,
                   max_chars: int, signature: str) -> list[list[Sentence]]:
    """Cacheable unit of work: every argument is part of the cache key."""
    del signature  # only part of the key
    return list(_stream(texts, load_nlp(spacy_model, lang), batch_size, max_chars))
