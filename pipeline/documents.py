"""Whole annotated documents: segment a text file into the sentences the tool sees.

An annotator labels a document sentence by sentence. :func:`segment` gives the
sentences exactly as ``predict`` splits them (same spaCy pipeline, same offsets
into the original text), so annotations and predictions line up one to one.
"""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline.config import Config
from pipeline.preprocess import Preprocessor

TEMPLATE_COLUMNS = ("seq", "start", "end", "stage", "technology", "text")


def segment(text: str, cfg: Config) -> list[tuple[int, int, str]]:
    """``(start, end, sentence text)`` for every sentence ``predict`` would classify."""
    pre = Preprocessor(cfg.preprocess, cache_dir=None, max_chars=cfg.predict.max_chars)
    sentences = next(iter(pre.stream([text])))
    return [(s.start, s.end, text[s.start:s.end]) for s in sentences]


def write_template(text: str, out: Path, cfg: Config) -> int:
    """Write an annotation template (TSV, one row per sentence, label columns empty)."""
    rows = segment(text, cfg)
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(TEMPLATE_COLUMNS)
        for seq, (start, end, sent) in enumerate(rows):
            writer.writerow([seq, start, end, "", "", " ".join(sent.split())])
    return len(rows)
