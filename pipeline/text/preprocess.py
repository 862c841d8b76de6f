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
    IS_SPACE,
    LENGTH,
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


#: Columns of :attr:`WordTypes.flags`: what the sentence rule reads of a word type.
(PUNCT, SPACE, LEFT_PUNCT, QUOTE, DIGIT, LOWER, LIKE_NUMBER, FINAL, TITLE, REFERENCE, DOT,
 INNER, LIST, BLANK_LINE, KEEP) = range(15)
N_FLAGS = 15


def sentence_starts(flags: np.ndarray, spacy_after: np.ndarray,
                    first: np.ndarray) -> np.ndarray:
    """Sentence starts (boolean per token) of one or many documents laid end to end.

    ``flags`` holds each token's word-type flags (:class:`WordTypes`), ``spacy_after``
    whether a space follows it, ``first`` whether it opens a document.

    spaCy's ``sentencizer`` rule: after a sentence-final character (``.``, ``!``, ``?``
    ...) the next token that is neither punctuation nor such a character starts a
    sentence; a token after a blank line does too. Three refinements for report text:
    the full stop of an abbreviation (``et al.``, ``No. 29``, ``Lt.``) or of a
    line-initial list number (``12.``) ends no sentence, and an opening quote or
    bracket starts the sentence it opens. A full stop glued to a following comma,
    semicolon or colon ends no sentence either. Computed on token arrays of a whole
    batch at once: per-document and per-token Python work was the largest cost of
    preprocessing.
    """
    n = len(first)
    starts = np.zeros(n, dtype=bool)
    if n == 0:
        return starts
    doc = np.cumsum(first) - 1  # document number of each token
    same_next = np.zeros(n, dtype=bool)  # the next token is in the same document
    same_next[:-1] = doc[1:] == doc[:-1]
    is_final = flags[:, FINAL] & ~_abbreviation_stops(flags, spacy_after, first, same_next)
    starts[first] = True
    opens = np.flatnonzero(~(flags[:, PUNCT] | is_final))  # can open a sentence
    if len(opens):
        seen = np.cumsum(is_final)
        # finals up to the previous opener of the same document, or before the document
        before_doc = np.concatenate(([0], seen))[np.flatnonzero(first)]
        first_open = np.ones(len(opens), dtype=bool)
        first_open[1:] = doc[opens[1:]] != doc[opens[:-1]]
        before = np.where(first_open, before_doc[doc[opens]],
                          np.concatenate(([0], seen[opens[:-1]])))
        starts[opens[seen[opens] - before > 0]] = True
    # an opening quote or bracket after a space belongs to the sentence it opens
    lead = np.flatnonzero(starts[2:] & flags[1:-1, LEFT_PUNCT] & ~spacy_after[1:-1]
                          & spacy_after[:-2] & same_next[:-2] & same_next[1:-1]) + 2
    starts[lead - 1], starts[lead] = True, False
    starts[np.flatnonzero(flags[:-1, BLANK_LINE] & same_next[:-1]) + 1] = True
    return starts


def _abbreviation_stops(flags: np.ndarray, spacy_after: np.ndarray, first: np.ndarray,
                        same_next: np.ndarray) -> np.ndarray:
    """Full stops that end an abbreviation or a line-initial list number, not a sentence."""
    n = len(first)
    out = np.zeros(n, dtype=bool)
    attached = np.zeros(n, dtype=bool)  # a token of the same document, no space between
    attached[1:] = ~first[1:] & ~spacy_after[:-1]
    dots = np.flatnonzero(flags[:, DOT] & attached)  # "al.", not "al ."
    if not len(dots):
        return out
    glued = dots[same_next[dots] & ~spacy_after[dots]]  # "al.," "etc.;": mid-sentence
    out[glued[flags[glued + 1, INNER]]] = True
    out[dots[flags[dots - 1, TITLE]]] = True
    ref = dots[flags[dots - 1, REFERENCE] & same_next[dots]]
    nxt = flags[ref + 1]
    out[ref[nxt[:, DIGIT] | nxt[:, LOWER] | nxt[:, LIKE_NUMBER]
            | (nxt[:, LEFT_PUNCT] & ~nxt[:, QUOTE])]] = True
    marks = dots[flags[dots - 1, LIST]]  # "12." or "b." opening a line
    # the number opens its document, or follows a space token (a line break)
    line_start = first[marks - 1] | flags[np.maximum(marks - 2, 0), SPACE]
    out[marks[line_start]] = True
    return out


class WordTypes:
    """Per word type (spaCy orth hash): its normal form and the flags the sentence rule
    reads, computed once per type and looked up for whole token arrays with numpy.

    The normal form of a blank-pipeline token depends only on its lexeme, so a batch of
    documents needs one Python call per *new* word type, not per token.
    """

    #: word types kept at most; then the table restarts (memory stays flat on open text)
    MAX_TYPES = 2_000_000

    def __init__(self, vocab, form) -> None:
        self.vocab = vocab
        self.form = form
        add = vocab.strings.add
        self._final = set(sentence_final_hashes(vocab).tolist())
        self._titles = {add(w) for w in TITLES}
        self._references = {add(w) for w in REFERENCES}
        self._dot = add(".")
        self._inner = {add(c) for c in ",;:"}
        self._clear()

    def _clear(self) -> None:
        self.keys = np.zeros(0, dtype=np.uint64)  # sorted orth hashes
        self.rows = np.zeros(0, dtype=np.int64)  # row of each key
        self.flags = np.zeros((0, N_FLAGS), dtype=bool)
        self.forms = np.zeros(0, dtype=object)  # normal form, None when dropped
        self.lengths = np.zeros(0, dtype=np.int64)

    def lookup(self, orths: np.ndarray) -> np.ndarray:
        """Row of each orth hash in :attr:`flags`, :attr:`forms` and :attr:`lengths`."""
        pos = np.searchsorted(self.keys, orths)
        found = pos < len(self.keys)
        found[found] = self.keys[pos[found]] == orths[found]
        if not found.all():
            new = np.unique(orths[~found])
            if len(self.keys) + len(new) > self.MAX_TYPES:
                self._clear()
                new = np.unique(orths)
            self._add(new)
            pos = np.searchsorted(self.keys, orths)
        return self.rows[pos]

    def _add(self, orths: np.ndarray) -> None:
        n = len(self.forms)
        values = [self._type(int(o)) for o in orths]
        self.flags = np.concatenate([self.flags, np.array([v[0] for v in values], dtype=bool)
                                     .reshape(-1, N_FLAGS)])
        forms = np.empty(len(values), dtype=object)
        forms[:] = [v[1] for v in values]
        self.forms = np.concatenate([self.forms, forms])
        self.lengths = np.concatenate([self.lengths, np.array([v[2] for v in values],
                                                              dtype=np.int64)])
        at = np.searchsorted(self.keys, orths)
        self.keys = np.insert(self.keys, at, orths)
        self.rows = np.insert(self.rows, at, np.arange(n, n + len(orths)))

    def _type(self, orth: int) -> tuple[list[bool], str | None, int]:
        lex = self.vocab[orth]
        text = lex.orth_
        form = self.form(lex)
        flags = [False] * N_FLAGS
        flags[PUNCT], flags[SPACE], flags[LEFT_PUNCT] = lex.is_punct, lex.is_space, \
            lex.is_left_punct
        flags[QUOTE], flags[DIGIT], flags[LOWER] = lex.is_quote, lex.is_digit, lex.is_lower
        flags[LIKE_NUMBER] = lex.like_num
        flags[FINAL] = orth in self._final
        flags[TITLE] = orth in self._titles
        flags[REFERENCE] = orth in self._references
        flags[DOT] = orth == self._dot
        flags[INNER] = orth in self._inner
        flags[LIST] = bool(LIST_MARK.match(text))
        flags[BLANK_LINE] = lex.is_space and bool(PARAGRAPH.search(text))
        flags[KEEP] = form is not None
        return flags, form, len(text)


class FastSentencizer:
    """Pipeline component setting ``is_sent_start`` from :func:`sentence_starts`, for
    callers of ``nlp(text)``; :class:`Preprocessor` applies the rule to whole batches."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp

    def __call__(self, doc: Doc) -> Doc:
        if len(doc):
            types = _normalizer(self.nlp).types
            arr = doc.to_array([ORTH, SPACY])
            first = np.zeros(len(doc), dtype=bool)
            first[0] = True
            rows = types.lookup(arr[:, 0])  # may grow the table: look up first
            starts = sentence_starts(types.flags[rows], arr[:, 1].astype(bool), first)
            values = np.where(starts, 1, -1).astype(np.int64).view(np.uint64)  # -1 = not
            doc.from_array([SENT_START], values.reshape(-1, 1))
        return doc


@Language.factory("trafficlens_sentencizer")
def make_fast_sentencizer(nlp: Language, name: str) -> FastSentencizer:
    return FastSentencizer(nlp)


def alphanumeric_tokenizer(vocab, defaults, *, rules=None, prefix_search=None,
                           token_match=None, url_match=None):
    """spaCy's tokenizer for a language's ``defaults``, keeping 5G, 4G, 3D ... whole
    (spaCy splits "5G" as 5 + unit G), also when punctuation joins them to other words
    ("5G/4G", "IoT/5G", "4G.Then"). Built in one step: patterns compiled once, spaCy's
    special cases read once (each setter on a built tokenizer re-reads them)."""
    from spacy.tokenizer import Tokenizer
    from spacy.util import compile_prefix_regex

    suffix = compile_suffix_regex([*(defaults.suffixes or ()), ALNUM_FULL_STOP]).search
    infix = compile_infix_regex([*(defaults.infixes or ()), *ALNUM_INFIXES]).finditer
    if prefix_search is None and defaults.prefixes:
        prefix_search = compile_prefix_regex(defaults.prefixes).search

    def suffix_search(text: str):
        found = suffix(text)
        name = ALNUM_TAIL.search(text)
        if found and name and found.start() > name.start():
            return None  # the "unit" is the last letter of a name: 5G, not 5 + G
        return found

    previous = token_match

    def match(text: str):
        return ALNUM_NAME.match(text) or (previous(text) if previous else None)

    return Tokenizer(vocab, rules=rules, prefix_search=prefix_search,
                     suffix_search=suffix_search, infix_finditer=infix, token_match=match,
                     url_match=url_match)


@spacy.registry.tokenizers("trafficlens.Tokenizer.v1")
def create_alphanumeric_tokenizer():
    """The blank pipeline's tokenizer (:func:`alphanumeric_tokenizer`), by name."""
    def factory(nlp: Language):
        d = nlp.Defaults
        return alphanumeric_tokenizer(nlp.vocab, d, rules=d.tokenizer_exceptions,
                                      token_match=d.token_match, url_match=d.url_match)
    return factory


def keep_alphanumeric_names(nlp: Language) -> None:
    """Give a loaded pipeline the :func:`alphanumeric_tokenizer`, keeping its rules."""
    old = nlp.tokenizer
    nlp.tokenizer = alphanumeric_tokenizer(
        nlp.vocab, nlp.Defaults, rules=old.rules, prefix_search=old.prefix_search,
        token_match=old.token_match, url_match=old.url_match)


@lru_cache(maxsize=4)
def load_nlp(spacy_model: str = "", lang: str = "en") -> Language:
    """Build (once per process) the spaCy pipeline named in the config."""
    return _build_nlp(spacy_model, lang)


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
        keep_alphanumeric_names(nlp)
        return nlp
    try:
        nlp = spacy.blank(lang, config={"nlp": {"tokenizer": {
            "@tokenizers": "trafficlens.Tokenizer.v1"}}})
    except ImportError as err:  # spaCy has no such language
        raise PipelineError(f"preprocess.lang: {lang!r} is not a language spaCy knows "
                            f"({err})") from None
    nlp.add_pipe("trafficlens_sentencizer")
    nlp._trafficlens_normalizer = Normalizer(nlp, lemma_table(lang))
    return nlp


def lemma_table(lang: str) -> dict[str, str]:
    """The lookup lemmatizer's table (word -> lemma) of ``lang`` from spacy-lookups-data.

    The blank pipeline lemmatises by word type (:class:`Normalizer`), so the table is
    read as a plain dict instead of through spaCy's lemmatizer component, which would
    never run (and whose set-up took a tenth of a second).
    """
    from spacy.util import load_language_data, registry

    try:
        tables = registry.lookups.get(lang)
        return dict(load_language_data(tables["lemma_lookup"]))
    except (KeyError, ValueError, OSError) as err:  # catalogue's RegistryError: ValueError
        raise PipelineError(f"cannot set up the lookup lemmatizer for {lang!r}: {err} "
                            "(is spacy-lookups-data installed?)") from None


class Normalizer:
    """Maps tokens to their normal form and splits docs into :class:`Sentence` records.

    With the blank pipeline, both depend only on word types (:class:`WordTypes`), so
    whole batches of docs are handled with numpy (:meth:`batch`); a trained pipeline
    lemmatises and splits in context, one doc at a time (:meth:`sentences`).
    """

    def __init__(self, nlp: Language, lemmas: dict[str, str] | None = None) -> None:
        self.nlp = nlp
        self.contextual = not nlp.has_pipe("trafficlens_sentencizer")
        table = {} if self.contextual or lemmas is None else lemmas
        self._table = table
        self._known = frozenset(table.values()) if table else frozenset()
        self._stop_words = nlp.Defaults.stop_words
        self.types = WordTypes(nlp.vocab, self.form)

    def form(self, lex) -> str | None:
        """Normal form of a word type, or None when it is dropped (punctuation, space)."""
        if lex.is_space or lex.is_punct:
            return None
        if lex.like_url:
            return URL
        if lex.like_email:
            return EMAIL
        if lex.is_currency:
            return CURRENCY
        if lex.like_num:
            return NUM
        norm = word_form(lex.orth_, self._table.get, self._known, self._stop_words)
        return norm if norm.strip() else None

    def batch(self, docs: Sequence[Doc]) -> list[list[Sentence]]:
        """Sentences of each doc (blank pipeline), offsets into the doc's text.

        A sentence spans its first to its last non-space token; one with no word left
        after normalisation (only punctuation) is dropped.
        """
        out: list[list[Sentence]] = [[] for _ in docs]
        arrays = [d.to_array([ORTH, SPACY, IDX]) for d in docs if len(d)]
        if not arrays:
            return out
        arr = np.concatenate(arrays)
        sizes = np.array([len(d) for d in docs])
        first = np.zeros(len(arr), dtype=bool)
        first[np.cumsum(sizes[sizes > 0])[:-1]] = True
        first[0] = True
        types = self.types
        rows = types.lookup(arr[:, 0])
        flags = types.flags[rows]
        starts = sentence_starts(flags, arr[:, 1].astype(bool), first)
        sentence = np.cumsum(starts) - 1
        n_sentences = int(sentence[-1]) + 1
        kept = np.flatnonzero(flags[:, KEEP])
        if not len(kept):  # only spaces and punctuation
            return out
        words = np.bincount(sentence[kept], minlength=n_sentences)
        solid = np.flatnonzero(~flags[:, SPACE])
        of_solid = sentence[solid]
        opens = np.ones(len(solid), dtype=bool)
        opens[1:] = of_solid[1:] != of_solid[:-1]
        heads = np.flatnonzero(opens)
        tails = np.append(heads[1:] - 1, len(solid) - 1)
        head = np.zeros(n_sentences, dtype=np.int64)
        tail = np.zeros(n_sentences, dtype=np.int64)
        head[of_solid[heads]], tail[of_solid[heads]] = solid[heads], solid[tails]
        idx = arr[:, 2].astype(np.int64)
        begin = idx[head]
        end = idx[tail] + types.lengths[rows[tail]]
        owner = np.repeat(np.flatnonzero(sizes), sizes[sizes > 0])[head]
        forms = types.forms[rows[kept]].tolist()
        cut = np.concatenate(([0], np.cumsum(words))).tolist()
        for s in np.flatnonzero(words).tolist():
            out[owner[s]].append(Sentence(int(begin[s]), int(end[s]),
                                          tuple(forms[cut[s]:cut[s + 1]])))
        return out

    def sentences(self, doc: Doc) -> list[Sentence]:
        """Sentences of a doc processed by a trained pipeline (its own sentence starts
        and lemmas), offsets into the doc's text."""
        if len(doc) == 0:
            return []
        arr = doc.to_array([IS_SPACE, IDX, LENGTH])
        spaces, starts, lengths = (arr[:, k] for k in range(3))
        bounds = [s.start for s in doc.sents]
        if not bounds or bounds[0] != 0:
            bounds.insert(0, 0)
        norms = np.array([self._contextual(t) for t in doc], dtype=object)
        keep = norms != None  # noqa: E711 (element-wise test on an object array)
        out = []
        for sent_start, sent_end in zip(bounds, [*bounds[1:], len(doc)], strict=True):
            tokens = tuple(norms[sent_start:sent_end][keep[sent_start:sent_end]])
            if not tokens:
                continue
            solid = np.flatnonzero(spaces[sent_start:sent_end] == 0) + sent_start
            first, last = int(solid[0]), int(solid[-1])
            out.append(Sentence(int(starts[first]), int(starts[last] + lengths[last]), tokens))
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
    """Cut a text into ``(offset, piece)`` pieces of at most ``max_chars`` for spaCy
    (:func:`piece_spans`)."""
    return [(start, text[start:end]) for start, end in piece_spans(text, max_chars)]


def piece_spans(text: str, max_chars: int) -> list[tuple[int, int]]:
    """``(start, end)`` of pieces of at most ``max_chars`` that together make ``text``.

    Each cut is made in the second half of the allowed length, at the last paragraph
    break there, else after the last sentence end (a sentence-final character, closing
    quotes or brackets, white space), else at white space, else anywhere: so a sentence
    is cut only when no sentence ends in half a piece, and no fragment of one is
    classified as a sentence of its own.
    """
    if len(text) <= max_chars:
        return [(0, len(text))]
    from spacy.pipeline.sentencizer import Sentencizer

    finals = re.escape("".join(Sentencizer.default_punct_chars))
    boundaries = (PARAGRAPH, re.compile(f"[{finals}]+[\"'\u201d\u2019)\\]]*\\s"),
                  re.compile(r"\s"))
    spans = []
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
        spans.append((start, end))
        start = end
    return spans


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
        return self.tokens_of([text])[0]

    def tokens_of(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        """:meth:`tokens` of many short texts, preprocessed as one batch."""
        return [tuple(t for s in sentences for t in s.tokens)
                for sentences in self.stream(texts)]

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
    # (text number in batch, piece start, piece end, the normalised whole text)
    pending: list[tuple[int, int, int, NormalText]] = []
    n_texts = 0

    # the blank pipeline's lemmas and sentence starts depend on word types only: the
    # Normalizer computes both for a whole batch from token arrays, so only the
    # tokenizer runs (its sentencizer component is for callers of nlp(text))
    run = nlp.pipe if normalizer.contextual else nlp.tokenizer.pipe

    def flush() -> Iterator[list[Sentence]]:
        results: list[list[Sentence]] = [[] for _ in range(n_texts)]
        for group in _groups(pending):  # spaCy docs of at most BATCH_CHARS at a time
            docs = list(run((p[3].text[p[1]:p[2]] for p in group), batch_size=batch_size))
            split = (normalizer.batch(docs) if not normalizer.contextual
                     else [normalizer.sentences(doc) for doc in docs])
            del docs
            for (idx, offset, _, normal), sentences in zip(group, split, strict=True):
                if offset:
                    sentences = [Sentence(s.start + offset, s.end + offset, s.tokens)
                                 for s in sentences]
                if normal.offsets is not None:  # back to offsets into the text as given
                    sentences = [Sentence(*normal.original_span(s.start, s.end), s.tokens)
                                 for s in sentences]
                results[idx].extend(sentences)
        yield from results

    for text in texts:
        normal = normalize_text(text)
        # pieces as (start, end): sliced only when their group is tokenised
        pending.extend((n_texts, start, end, normal)
                       for start, end in piece_spans(normal.text, max_chars))
        n_texts += 1
        if len(pending) >= batch_size:
            yield from flush()
            pending, n_texts = [], 0
    if n_texts:
        yield from flush()


#: Characters tokenised and split at once (a long document's pieces go one or a few at
#: a time): bounds the memory of spaCy docs and token arrays; answers do not depend on it.
BATCH_CHARS = 1_000_000


def _groups(pending: list[tuple[int, int, int, NormalText]]
            ) -> Iterator[list[tuple[int, int, int, NormalText]]]:
    """Consecutive runs of ``pending`` pieces of at most :data:`BATCH_CHARS` characters
    (a longer piece on its own)."""
    group: list[tuple[int, int, int, NormalText]] = []
    size = 0
    for item in pending:
        if group and size + item[2] - item[1] > BATCH_CHARS:
            yield group
            group, size = [], 0
        group.append(item)
        size += item[2] - item[1]
    if group:
        yield group


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
