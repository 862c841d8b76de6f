"""Cue terms from the labeling guide, matched with spaCy's PhraseMatcher.

Terms live in a TOML file (one list per label) that analysts extend without touching
code. Terms and text go through the same normalisation (lower-cased lemmas), and the
matcher runs on the normalised tokens with ``attr="LOWER"``, so "crypto wallets"
matches the term "crypto wallet". Per-label match counts become model features and
drive the keyword baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tomllib
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.preprocess import Preprocessor


def read_cues(path: Path, config: Config) -> dict[str, list[str]]:
    """Read ``[set] label = ["term", ...]`` tables; keys are ``set:label``.

    Every label of the config gets an entry (empty when the file lists none); a
    set or label the config does not know is an error naming it.
    """
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: cue file not found (paths.cues in the config)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise PipelineError(f"{path}: cannot read cue terms: {err}") from None
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


class CueMatcher:
    """Counts cue-term matches per label in normalised token sequences.

    Parameters
    ----------
    cues : dict
        ``set:label`` -> list of terms, in the order of the model's label columns.
    preprocessor : Preprocessor
        Normalises the terms exactly as the texts are normalised.
    """

    def __init__(self, cues: dict[str, list[str]], preprocessor: Preprocessor) -> None:
        self.keys = list(cues)
        self.vocab = preprocessor.nlp.vocab
        self.matcher = PhraseMatcher(self.vocab, attr="LOWER")
        self.terms: dict[str, list[tuple[str, ...]]] = {}
        for key, terms in cues.items():
            normed = sorted({preprocessor.tokens(t) for t in terms} - {()})
            self.terms[key] = normed
            if normed:
                self.matcher.add(key, [Doc(self.vocab, words=list(t)) for t in normed])
        self._index = {self.vocab.strings[k]: i for i, k in enumerate(self.keys)}

    def counts(self, tokens: Sequence[str]) -> np.ndarray:
        """Matches per label (float32 vector, label-column order) in one token sequence."""
        out = np.zeros(len(self.keys), dtype=np.float32)
        if tokens:
            for match_id, _, _ in self.matcher(Doc(self.vocab, words=list(tokens))):
                out[self._index[match_id]] += 1
        return out

    def matches(self, tokens: Sequence[str]) -> dict[str, list[str]]:
        """Matched terms per label, for explaining a keyword-baseline decision."""
        found: dict[str, list[str]] = {}
        if tokens:
            doc = Doc(self.vocab, words=list(tokens))
            for match_id, start, end in self.matcher(doc):
                found.setdefault(self.vocab.strings[match_id], []).append(doc[start:end].text)
        return found
