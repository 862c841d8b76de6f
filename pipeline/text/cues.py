"""Cue terms from the labeling guide, matched as whole normalised phrases.

Terms live in a TOML file (one list per label) that analysts extend without touching
code. Terms and text go through the same normalisation (:mod:`pipeline.text.normalize`),
and the matcher compares the lower-cased normalised tokens, so "crypto
wallets" matches the term "crypto wallet". A term that normalises to nothing, to a
stop word or to a placeholder (it would match every number or URL) is an error.
Per-label match counts become model features and drive the keyword baseline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path

import numpy as np
import tomllib

from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.text.preprocess import PLACEHOLDERS, Preprocessor

#: The cue file's table that holds the precision rule, not a label set.
PRECISION_TABLE = "precision"
EXEMPT_ENTRY = re.compile(r"^[^.:\s]+\.[^.:\s]+:\S.*$")


@dataclass(frozen=True)
class PrecisionRule:
    """What ``data cues`` holds every term to: a term matching at least ``min_matches``
    passages must have at least ``min_precision`` of them carry its label, unless it is
    listed in ``exempt`` (as ``"set.label:term"``, explained in the cue file)."""

    min_precision: float = 0.5
    min_matches: int = 5
    exempt: frozenset[str] = frozenset()

    def violated(self, label: str, term: str, matched: int, precision: float | None) -> bool:
        return (precision is not None and matched >= self.min_matches
                and precision < self.min_precision and f"{label}:{term}" not in self.exempt)


def _load(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: cue file not found (paths.cues in the config)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise PipelineError(f"{path}: cannot read cue terms: {err}") from None


def read_precision_rule(path: Path) -> PrecisionRule:
    """The cue file's ``[precision]`` table (defaults where it has none)."""
    table = _load(path).get(PRECISION_TABLE, {})
    where_ = f"{path}: [{PRECISION_TABLE}]"
    if not isinstance(table, dict):
        raise PipelineError(f"{where_}: expected a table (min_precision, min_matches, exempt)")
    unknown = sorted(set(table) - {"min_precision", "min_matches", "exempt"})
    if unknown:
        raise PipelineError(f"{where_}: unknown key {unknown[0]!r} "
                            "(known: min_precision, min_matches, exempt)")
    share, matches = table.get("min_precision", 0.5), table.get("min_matches", 5)
    exempt = table.get("exempt", [])
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 <= share <= 1:
        raise PipelineError(f"{where_}: min_precision: expected a number from 0 to 1")
    if not isinstance(matches, int) or isinstance(matches, bool) or matches < 1:
        raise PipelineError(f"{where_}: min_matches: expected a whole number >= 1")
    if not isinstance(exempt, list) or not all(isinstance(t, str) for t in exempt):
        raise PipelineError(f"{where_}: exempt: expected a list of \"set.label:term\" strings")
    bad = [t for t in exempt if not EXEMPT_ENTRY.match(t)]
    if bad:
        raise PipelineError(f"{where_}: exempt: {bad[0]!r} is not \"set.label:term\"")
    return PrecisionRule(float(share), matches, frozenset(exempt))


def read_cues(path: Path, config: Config) -> dict[str, list[str]]:
    """Read ``[set] label = ["term", ...]`` tables; keys are ``set:label``.

    Every label of the config gets an entry (empty when the file lists none); a
    set or label the config does not know is an error naming it. The ``[precision]``
    table is the rule of :func:`read_precision_rule`, not a label set.
    """
    raw = _load(path)
    raw.pop(PRECISION_TABLE, None)
    out = {f"{s}:{lab}": [] for s, lab in config.all_labels}
    for set_name, table in raw.items():
        if not isinstance(table, dict):
            raise PipelineError(f"{path}: {set_name}: expected a table of label = [terms]")
        for label, terms in table.items():
            key = f"{set_name}:{label}"
            if key not in out:
                raise PipelineError(f"{path}: {set_name}.{label}: not a label of the config")
            if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
                raise PipelineError(f"{path}: {set_name}.{label}: expected a list of strings")
            out[key] = [t for t in terms if t.strip()]
    return out


def normal_term(term: str, preprocessor: Preprocessor, source: str, key: str,
                tokens: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """A cue term's normal form; raise when it cannot mean what it says.

    A term must keep at least one token that is neither a stop word nor a placeholder,
    and no placeholder at all: ``"24/7"`` would become ``<num>`` and match every number.
    ``tokens``: the term already normalised (:meth:`Preprocessor.tokens_of`).
    """
    if tokens is None:
        tokens = preprocessor.tokens(term)
    label = key.replace(":", ".")
    problem = ""
    if not tokens:
        problem = "normalises to nothing"
    elif any(t in PLACEHOLDERS for t in tokens):
        problem = f"normalises to {' '.join(tokens)!r}, which has a placeholder"
    elif all(preprocessor.is_stop(t) for t in tokens):
        problem = f"normalises to the stop word(s) {' '.join(tokens)!r}"
    if problem:
        raise PipelineError(f"{source}: {label}: cue term {term!r} {problem}; write it as it "
                            "appears in text (e.g. capitals for acronyms: 'AI') or remove it")
    return tokens


class CueMatcher:
    """Counts cue-term matches per label in normalised token sequences.

    A match inside a longer match of another label of the same set does not count:
    "Internet of Things" is ``iot_5g``, not also ``clearnet``; "video chat" is
    ``clearnet``, not also ``camera_microphone``. Labels of different sets may share
    words ("crypto wallet": ``cryptocurrency`` and the ``proceeds`` cue "wallet").

    Parameters
    ----------
    cues : dict
        ``set:label`` -> list of terms, in the order of the model's label columns.
    preprocessor : Preprocessor
        Normalises the terms exactly as the texts are normalised.
    source : str
        Where the terms come from (a file, a model), for error messages.
    """

    def __init__(self, cues: dict[str, list[str]], preprocessor: Preprocessor,
                 source: str = "cue terms") -> None:
        self.keys = list(cues)
        self.terms: dict[str, list[tuple[str, ...]]] = {}  # distinct normal forms, sorted
        self._forms: dict[str, list[tuple[str, tuple[str, ...]]]] = {}  # (term, normal form)
        # first word (lower-cased) -> (whole term lower-cased, label column), from which
        # the look-up tables below are built
        by_first: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        given = [t for terms in cues.values() for t in terms if t.strip()]
        normal = dict(zip(given, preprocessor.tokens_of(given), strict=True))  # one batch
        for j, (key, terms) in enumerate(cues.items()):
            self._forms[key] = [(t, normal_term(t, preprocessor, source, key, normal[t]))
                                for t in terms if t.strip()]
            normed = sorted({form for _, form in self._forms[key]})
            self.terms[key] = normed
            for form in normed:
                low = tuple(w.lower() for w in form)
                by_first.setdefault(low[0], []).append((low, j))
        self._set = [k.split(":", 1)[0] for k in self.keys]
        # first word -> [(length, {whole term: label columns})]: one slice and one
        # dictionary look-up per distinct term length at a candidate position
        self._by_length: dict[str, list[tuple[int, dict[tuple[str, ...], list[int]]]]] = {}
        for word, entries in by_first.items():
            lengths: dict[int, dict[tuple[str, ...], list[int]]] = {}
            for term, j in entries:
                lengths.setdefault(len(term), {}).setdefault(term, []).append(j)
            self._by_length[word] = sorted(lengths.items())
        # a position can start a match only if its word is a one-word term, or it and
        # the next word begin a longer one: tested for a whole batch with numpy
        words = {w for entries in by_first.values() for term, _ in entries for w in term}
        self._word_id = {w: i for i, w in enumerate(sorted(words))}
        self._single = np.zeros(len(words) + 1, dtype=bool)  # last entry: unknown words
        pairs = set()
        for entries in by_first.values():
            for term, _ in entries:
                if len(term) == 1:
                    self._single[self._word_id[term[0]]] = True
                else:
                    pairs.add(self._word_id[term[0]] * len(words) + self._word_id[term[1]])
        self._pairs = np.array(sorted(pairs), dtype=np.int64)

    def term_forms(self, key: str) -> list[tuple[str, tuple[str, ...]]]:
        """``(term, normal form)`` of each of a label's terms, in the order they were given
        (blank terms left out)."""
        return self._forms[key]

    def spans(self, tokens: Sequence[str]) -> list[tuple[int, int, int]]:
        """``(label column, start, end)`` of every counted match in a token sequence."""
        return self.spans_many([tokens]).get(0, [])

    def spans_many(self, sequences: Sequence[Sequence[str]]
                   ) -> dict[int, list[tuple[int, int, int]]]:
        """:meth:`spans` of many token sequences at once: ``{row: spans}`` for the rows
        with a match. A match never crosses from one sequence into the next.

        The tokens of all rows are looked up in one pass (a dictionary look-up per
        token in C); only positions where some term starts are compared in Python.
        """
        lengths = np.fromiter(map(len, sequences), dtype=np.int64, count=len(sequences))
        low = list(map(str.lower, chain.from_iterable(sequences)))
        n_words = len(self._word_id)
        ids = np.fromiter(map(self._word_id.get, low, repeat(n_words)), dtype=np.int64,
                          count=len(low))
        ends = np.cumsum(lengths)
        row_of = np.repeat(np.arange(len(sequences)), lengths)
        can = self._single[ids]
        if len(self._pairs) and len(ids) > 1:
            inside = (row_of[1:] == row_of[:-1]) & (ids[:-1] < n_words) & (ids[1:] < n_words)
            pair = np.zeros(len(ids), dtype=bool)
            at = np.flatnonzero(inside)
            keys = ids[at] * n_words + ids[at + 1]
            hit = np.searchsorted(self._pairs, keys)
            hit[hit >= len(self._pairs)] = 0
            pair[at[self._pairs[hit] == keys]] = True
            can |= pair
        starts = np.flatnonzero(can)
        if not len(starts):
            return {}
        rows = row_of[starts]
        found: dict[int, list[tuple[int, int, int]]] = {}
        for pos, row, row_end, row_len in zip(starts.tolist(), rows.tolist(),
                                              ends[rows].tolist(), lengths[rows].tolist(),
                                              strict=True):
            offset = row_end - row_len
            for size, terms in self._by_length[low[pos]]:
                end = pos + size
                if end > row_end:
                    break  # lengths rise: no longer term fits in this row
                for j in terms.get(tuple(low[pos:end]), ()):
                    found.setdefault(row, []).append((j, pos - offset, end - offset))
        return {row: self._outermost(spans) for row, spans in found.items()}

    def _outermost(self, found: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """Sorted matches, without those inside a longer match of the same label set."""
        found.sort(key=lambda m: (m[1], m[2], m[0]))
        if len(found) < 2:
            return found
        reach = -1
        for _, start, end in found:
            if start < reach:
                break  # two matches overlap
            reach = end
        else:
            return found  # no match lies inside another
        return [(j, start, end) for j, start, end in found
                if not any(k != j and self._set[k] == self._set[j] and s <= start
                           and end <= e and e - s > end - start for k, s, e in found)]

    def counts(self, tokens: Sequence[str]) -> np.ndarray:
        """Matches per label (float32 vector, label-column order) in one token sequence."""
        return self.counts_many([tokens])[0]

    #: Token sequences matched at once (their lower-cased tokens are copied): bounds
    #: memory on a long document; counts do not depend on it.
    ROWS = 4096

    def counts_many(self, sequences: Sequence[Sequence[str]]) -> np.ndarray:
        """Matches per label (float32, one row per token sequence)."""
        out = np.zeros((len(sequences), len(self.keys)), dtype=np.float32)
        for first in range(0, len(sequences), self.ROWS):
            chunk = sequences[first:first + self.ROWS]
            for row, spans in self.spans_many(chunk).items():
                for j, _, _ in spans:
                    out[first + row, j] += 1
        return out

    def matches(self, tokens: Sequence[str]) -> dict[str, list[str]]:
        """Matched terms (normal forms) per label, e.g. to explain a keyword decision."""
        found: dict[str, list[str]] = {}
        for j, start, end in self.spans(tokens):
            found.setdefault(self.keys[j], []).append(" ".join(tokens[start:end]))
        return found
