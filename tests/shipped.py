"""Every text the project ships: corpus passages, document sentences, whole documents and
the examples (the inputs of the issue-14 equality tests: speed changed, answers did not)."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import LabelSet
from pipeline.corpus.read import read_corpus

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def shipped_texts(label_sets: list[LabelSet]) -> list[str]:
    """Passages of both corpora, then whole document texts, then the examples."""
    texts = [p.text for p in read_corpus([DATA / "documents" / "sentences", DATA / "corpus"],
                                         label_sets)]
    files = sorted((DATA / "documents" / "texts").rglob("*.txt"))
    files += sorted((DATA / "examples").iterdir())
    return texts + [p.read_text(encoding="utf-8") for p in files]
