"""How much an annotated corpus looks like real report text: the shape table of the
dataset card (data/README.md), for the passage corpus and the document corpus.

    python benchmarks/corpus_shape.py
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.config import load_config
from pipeline.corpus.read import Passage, read_corpus

ROOT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"\([A-Z][^()]*\b(1[89]|20)\d\d[a-z]?(, p+\. ?\d+)?\)|\[\d+\]")
MENTIONS = {"technology/technologies": r"\btechnolog(y|ies)\b", "human trafficking":
            r"\bhuman trafficking\b", "traffickers": r"\btraffickers?\b",
            "online": r"\bonline\b", "threat": r"\bthreat"}


def shape(passages: list[Passage]) -> dict[str, float]:
    """Shares of sentences (passages) with each property."""
    n = len(passages)

    def share(test) -> float:
        return sum(bool(test(p)) for p in passages) / n

    stage = [set(p.labels.get("stage", ())) for p in passages]
    out = {
        "no label at all": share(lambda p: not any(p.labels.values())),
        "no stage": share(lambda p: not p.labels.get("stage")),
        "no technology": share(lambda p: not p.labels.get("technology")),
        "technology labels per sentence": sum(len(p.labels.get("technology", ()))
                                              for p in passages) / n,
    }
    for lab in ("ai", "iot_5g", "transport"):
        out[f"`{lab}`"] = share(lambda p, lab=lab: lab in p.labels.get("technology", ()))
    for name, pattern in MENTIONS.items():
        rx = re.compile(pattern, re.I)
        out[f'"{name}" in the sentence'] = share(lambda p, rx=rx: rx.search(p.text))
    for a, b in (("control", "exploitation"), ("recruitment", "control"),
                 ("recruitment", "advertisement")):
        both = sum(a in s and b in s for s in stage)
        smaller = min(sum(a in s for s in stage), sum(b in s for s in stage)) or 1
        out[f"{a}+{b} overlap"] = both / smaller
    out["with a citation"] = share(lambda p: CITATION.search(p.text))
    out["with parentheses"] = share(lambda p: "(" in p.text)
    return out


def main() -> None:
    cfg = load_config(ROOT / "configs" / "default.toml")
    corpora = {"passages": read_corpus([ROOT / "data" / "corpus"], cfg.label_sets),
               "documents": read_corpus([ROOT / "data" / "documents" / "sentences"],
                                        cfg.label_sets)}
    tables = {name: shape(p) for name, p in corpora.items()}
    print("| | " + " | ".join(f"{k} corpus" for k in tables) + " |")
    print("|---|" + "---|" * len(tables))
    for row in next(iter(tables.values())):
        values = [t[row] for t in tables.values()]
        cells = [f"{v:.2f}" if "per sentence" in row or "overlap" in row else f"{v:.1%}"
                 for v in values]
        print(f"| {row} | " + " | ".join(cells) + " |")
    print("overlap = sentences with both stages / sentences with the rarer of the two")


if __name__ == "__main__":
    main()
