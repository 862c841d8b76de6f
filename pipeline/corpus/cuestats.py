"""How well each cue term predicts its label on an annotated corpus.

For every term: its normal form, the passages it matches and the share of those that
carry its label (its precision on the corpus). Analysts read it worst first before they
extend ``configs/cues.toml``: a term that matches often but rarely with its label adds
noise to the cue features and false positives to the keyword baseline. Matches are
counted by :class:`~pipeline.text.cues.CueMatcher`, exactly as the model counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.config import Config
from pipeline.corpus.read import Passage
from pipeline.text.cues import CueMatcher
from pipeline.text.preprocess import Preprocessor, Sentence


@dataclass(frozen=True)
class TermStats:
    """One cue term of one label and how it fares on the corpus."""

    label: str  # set.label
    term: str
    normal: str
    matched: int  # passages the term matches
    correct: int  # ... of which carry the label

    @property
    def precision(self) -> float | None:
        return self.correct / self.matched if self.matched else None


def term_stats(matcher: CueMatcher, passages: Sequence[Passage],
               sentences: Sequence[list[Sentence]]) -> list[TermStats]:
    """Per-term statistics; terms with the same normal form share their counts."""
    matched: dict[tuple[str, str], int] = {}
    correct: dict[tuple[str, str], int] = {}
    for passage, sents in zip(passages, sentences, strict=True):
        hits = {(key, normal) for s in sents
                for key, normals in matcher.matches(s.tokens).items() for normal in normals}
        for key, normal in hits:
            set_name, label = key.split(":", 1)
            matched[key, normal] = matched.get((key, normal), 0) + 1
            correct[key, normal] = (correct.get((key, normal), 0)
                                    + (label in passage.labels.get(set_name, ())))
    out = []
    for key in matcher.keys:
        for term, normal in matcher.term_forms(key):
            form = " ".join(normal)
            out.append(TermStats(key.replace(":", "."), term, form,
                                 matched.get((key, form), 0), correct.get((key, form), 0)))
    return out


def worst_first(stats: Sequence[TermStats]) -> list[TermStats]:
    """Terms with precision first (lowest first, more matches first), unmatched last."""
    return sorted(stats, key=lambda s: (s.precision is None, s.precision or 0.0, -s.matched,
                                        s.label, s.term))


def cue_report(config: Config, passages: Sequence[Passage]) -> list[TermStats]:
    """Term statistics for the config's cue file on ``passages``, worst first."""
    from pipeline.text.cues import read_cues

    pre = Preprocessor(config.preprocess, cache_dir=config.paths.cache,
                       max_chars=config.predict.max_chars)
    cues = read_cues(config.paths.cues, config)
    matcher = CueMatcher(cues, pre, source=str(config.paths.cues))
    sentences = pre.process([p.text for p in passages])
    return worst_first(term_stats(matcher, passages, sentences))
