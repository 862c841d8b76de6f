"""spaCy preprocessing: split text into sentences and normalise each into tokens.

The default pipeline is ``spacy.blank(lang)`` with a sentencizer and the lookup
lemmatizer tables of ``spacy-lookups-data``; nothing is downloaded. A trained
pipeline installed as a package may be named in the config instead.

Texts are first normalised by :func:`pipeline.text.normalize.normalize_text` (quotes,
invisible characters), and sentence offsets are mapped back to the original text.
Normalised tokens are :func:`pipeline.text.normalize.word_form`: lower-cased lemmas, with
acronyms and alphanumeric names (AI, 5G) kept whole; punctuation and spaces are
dropped; URLs, e-mail addresses, numbers and currency symbols become placeholder
tokens. The normal form of a blank-pipeline token depends only on its lexeme, so it is
computed once per word type: this keeps preprocessing close to the tokenizer's own speed.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import spacy
from spacy.attrs import (
    IDX,
    IS_DIGIT,
    IS_LEFT_PUNCT,
    IS_LOWER,
    IS_PUNCT,
    IS_QUOTE,
    IS_SPACE,
    LENGTH,
    LIKE_NUM,
    ORTH,
    SENT_START,
    SPACY,
)
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import compile_infix_regex, compile_suffix_regex

from pipeline.config import Preprocess
from pipeline.errors import PipelineError
from pipeline.text.normalize import ALNUM_NAME, NormalText, normalize_text, word_form

#: Bump when the normal form changes, so cached preprocessing is not reused.
NORMALIZER_VERSION = "3"
URL, EMAIL, NUM, CURRENCY = "<url>", "<email>", "<num>", "<currency>"
PLACEHOLDERS = frozenset({URL, EMAIL, NUM, CURRENCY})
PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")
#: A full stop after an alphanumeric name ("... over 4G.") ends the sentence; spaCy's
#: own rule keeps it on the token after a capital letter (for abbreviations like "U.S.").
ALNUM_FULL_STOP = r"(?<=[0-9][A-Z])\."
#: An alphanumeric name at the end of a string, after its start or a non-word character.
ALNUM_TAIL = re.compile(r"(?:^|(?<=[^0-9A-Za-z]))[0-9]{1,2}[A-Z]{1,3}$")
#: Punctuation between an alphanumeric name and another word splits them.
ALNUM_INFIXES = (r"(?<=[0-9][A-Z])[/,.](?=[0-9A-Za-z])",
                 r"(?<=[0-9A-Za-z])[/,](?=[0-9]{1,2}[A-Z])")
#: Abbreviations whose full stop never ends a sentence: titles before a name.
TITLES = ("Lt", "Sgt", "Insp", "Det", "Supt", "Dr", "Prof", "Capt", "Col", "Gen", "Rev", "ST",
          "Sen", "Rep", "Gov", "Hon", "hon", "Cllr", "St", "Mr", "Mrs", "Ms", "v", "vs")
#: Abbreviations whose full stop ends no sentence when a number, a lower-case word or
#: an opening bracket follows: "et al. (2019)", "No. 29", "pp. 12-14", "approx. 40".
REFERENCES = ("al", "No", "Nos", "pp", "p", "para", "paras", "cf", "vol",
              "Vol", "art", "Art", "fig", "Fig", "ch", "sec", "approx", "Approx", "ibid",
              "op", "cit", "ed", "eds", "esp", "incl", "Jan", "Feb", "Aug", "Sept", "Oct",
              "Nov", "Dec")
#: A list or paragraph number at the start of a line ("12. The court ...").
LIST_MARK = re.compile(r"^(?:[0-9]{1,3}|[a-z]|[ivx]{1,4})$")




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


@lru_cache(maxsize=4)
def load_nlp(spacy_model: str = "", lang: str = "en") -> Language:
    """Build (once per process) the spaCy pipeline named in the config."""
    nlp = _build_nlp(spacy_model, lang)
    keep_alphanumeric_names(nlp)
    return nlp


def _build_nlp(spacy_model: str, lang: str) -> Language:
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
        try:
            cached = self._get_memory().cache(_process_chunk)
            out: list[list[Sentence]] = []
            chunk = self.settings.cache_chunk
            for i in range(0, len(texts), chunk):
                out.extend(cached(tuple(texts[i:i + chunk]), self.settings.spacy_model,
                                  self.settings.lang, self.settings.batch_size,
                                  self.max_chars, self.signature()))
            return out
        except OSError as err:  # a file where the folder should be, no permission, full disk
            warnings.warn(f"{self.cache_dir}: cannot use as the preprocessing cache "
                          f"({err.strerror or err}); working without it (set paths.cache "
                          "to another folder, or \"\" to turn it off)", stacklevel=2)
            self.cache_dir = None
            return list(self.stream(texts))

    def stream(self, texts: Iterable[str]) -> Iterator[list[Sentence]]:
        """Sentences of every text, lazily (no cache): for streaming prediction."""
        return _stream(texts, self.nlp, self.settings.batch_size, self.max_chars)

    def is_stop(self, token: str) -> bool:
        """Whether a normalised token is a stop word of the pipeline's language."""
        return token in self.nlp.Defaults.stop_words

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
    # pieces are at most max_chars long: spaCy's own memory guard must admit them
    nlp.max_length = max(nlp.max_length, max_chars)
    # (text number in batch, offset, piece, the normalised whole text)
    pending: list[tuple[int, int, str, NormalText]] = []
    n_texts = 0

    # the blank pipeline's lemmas come from the lookup table, per word type (Normalizer),
    # so the lemmatizer component itself need not run on every token
    # and its sentence starts are computed by the Normalizer from token arrays, which
    # spares spaCy's per-token bookkeeping of is_sent_start
    skip = [] if normalizer.contextual else ["lemmatizer", "trafficlens_sentencizer"]

    def flush() -> Iterator[list[Sentence]]:
        results: list[list[Sentence]] = [[] for _ in range(n_texts)]
        with nlp.select_pipes(disable=skip):
            docs = list(nlp.pipe((p[2] for p in pending), batch_size=batch_size))
        for (idx, offset, _, normal), doc in zip(pending, docs, strict=True):
            sentences = normalizer.sentences(doc, offset)
            if normal.index is not None:  # back to offsets into the text as given
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
