"""Whole annotated documents: templates to label, sentence records to train and test on.

An annotator labels a document sentence by sentence. :func:`segment` gives the
sentences exactly as ``predict`` splits them (same spaCy pipeline, same offsets into
the original text); :func:`write_template` writes them as a TSV to fill in, and
:func:`import_template` turns a filled template into sentence records
(``id, doc, seq, start, end, text, stage, technology, register, writer``).

If the splitter changed since the template was written, the labels move to the new
sentences: each old sentence goes to the new sentence holding most of its characters,
each new sentence takes the old sentence holding most of it, and a new sentence
carries the union of the labels it received (two merged sentences keep the labels of
both; the parts of a split sentence each keep its labels).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.errors import PipelineError, collect, where
from pipeline.text.preprocess import Preprocessor

TEMPLATE_SUFFIX = ".labels.tsv"


def template_columns(cfg: Config) -> tuple[str, ...]:
    """``seq, start, end``, one column per label set of the config, then ``text``."""
    return ("seq", "start", "end", *(ls.name for ls in cfg.label_sets), "text")


def read_document(path: Path) -> str:
    """A ``.txt`` document's text exactly as ``predict`` reads it (same decoding), so that
    template offsets and prediction offsets agree; unreadable files are a user error."""
    from pipeline.io.readers.base import ReadOptions, os_reason
    from pipeline.io.readers.text import text_of as decoded

    try:
        return decoded(Path(path), ReadOptions())
    except ValueError as err:
        raise PipelineError(f"{path}: {err}") from None
    except OSError as err:
        raise PipelineError(f"{path}: cannot read ({os_reason(err)})") from None


def segment(text: str, cfg: Config) -> list[tuple[int, int, str]]:
    """``(start, end, sentence text)`` for every sentence ``predict`` would classify."""
    pre = Preprocessor(cfg.preprocess, cache_dir=None, max_chars=cfg.predict.max_chars)
    sentences = next(iter(pre.stream([text])))
    return [(s.start, s.end, text[s.start:s.end]) for s in sentences]


def write_template(text: str, out: Path, cfg: Config, *, force: bool = False) -> int:
    """Write an annotation template (TSV, one row per sentence, label columns empty).

    A template that already holds labels is an annotator's work: it is replaced only
    with ``force``.
    """
    from pipeline.io.outputs import atomic_writer
    from pipeline.io.readers.base import os_reason

    if not force and _has_labels(out, cfg):
        raise PipelineError(f"{out}: already holds labels; use --force to start it again")
    rows = segment(text, cfg)
    empty = [""] * len(cfg.label_sets)
    try:
        with atomic_writer(out) as fh:
            writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
            writer.writerow(template_columns(cfg))
            for seq, (start, end, sent) in enumerate(rows):
                writer.writerow([seq, start, end, *empty, " ".join(sent.split())])
    except OSError as err:
        raise PipelineError(f"{out}: cannot write the template ({os_reason(err)})") from None
    return len(rows)


def _has_labels(template: Path, cfg: Config) -> bool:
    """Whether an existing template holds labels (an unreadable one might: an error)."""
    from pipeline.io.readers.base import os_reason

    try:
        with template.open(encoding="utf-8-sig", newline="") as fh:
            return any(any((row.get(ls.name) or "").strip() for ls in cfg.label_sets)
                       for row in csv.DictReader(fh, delimiter="\t"))
    except FileNotFoundError:
        return False
    except OSError as err:
        raise PipelineError(f"{template}: cannot write the template ({os_reason(err)})"
                            ) from None
    except (UnicodeDecodeError, csv.Error):
        return True  # not a template we wrote: someone's file, keep it


def text_of(template: Path) -> Path:
    """The document a template belongs to: ``doc.labels.tsv`` -> ``doc.txt``."""
    name = template.name
    if not name.endswith(TEMPLATE_SUFFIX):
        raise PipelineError(f"{template}: not an annotation template (*{TEMPLATE_SUFFIX})")
    return template.with_name(name[:-len(TEMPLATE_SUFFIX)] + ".txt")


@dataclass(frozen=True)
class Imported:
    """Sentence records of one document, and how many sentences the splitter moved."""

    records: list[dict[str, Any]]
    moved: int


def import_template(template: Path, cfg: Config, *, doc: str, register: str,
                    writer: str) -> Imported:
    """Read a filled template and its document; return one record per current sentence.

    Every problem of the template (bad label, offsets outside the text, text that does
    not match the document) is reported at once, with file, line and field.
    """
    source = text_of(template)
    if not source.is_file():
        raise PipelineError(f"{source}: no such file (the document of {template})")
    text = read_document(source)
    try:
        with template.open(encoding="utf-8-sig", newline="") as fh:  # a BOM is no column
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except FileNotFoundError as err:
        raise PipelineError(f"{err.filename}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise PipelineError(f"{template}: cannot read ({err})") from None
    old, problems = _parse_rows(rows, text, template, cfg)
    old.sort(key=lambda row: row[:2])  # a template sorted in a spreadsheet is still one
    problems += [f"{template}: rows {a[0]}-{a[1]} and {b[0]}-{b[1]} overlap (each character "
                 "belongs to one row; segment the document again)"
                 for a, b in itertools.pairwise(old) if b[0] < a[1]]
    if problems:
        raise collect(problems, f"{template}: invalid template")
    new = segment(text, cfg)
    labels: list[dict[str, set[str]]] = [{s.name: set() for s in cfg.label_sets} for _ in new]
    covered = [False] * len(new)
    sources: list[set[int]] = [set() for _ in new]  # old rows whose labels each one gets
    for k, (start, end, _) in enumerate(old):  # merged: an old row goes where most of it is
        target = _majority(start, end, new)
        if target is not None:
            sources[target].add(k)
    for i, (start, end, _) in enumerate(new):  # split: a part takes the row it came from
        holder = _majority(start, end, old)
        if holder is not None:
            sources[i].add(holder)
    moved = 0
    for i, ks in enumerate(sources):
        covered[i] = bool(ks)
        moved += any((old[k][0], old[k][1]) != new[i][:2] for k in ks)
        for k in ks:
            for set_name, values in old[k][2].items():
                labels[i][set_name] |= values
    missing = [i for i, ok in enumerate(covered) if not ok]
    if missing:  # never let an unannotated sentence pass as "no label"
        s, e, sent = new[missing[0]]
        raise PipelineError(
            f"{template}: {len(missing)} sentence(s) of {source} have no template row, "
            f"first at {s}-{e} ({' '.join(sent.split())[:60]!r}); was a row deleted or "
            "the document edited? segment it again")
    records = [{"id": f"{doc}#{seq}", "doc": doc, "seq": seq, "start": s, "end": e,
                "text": sent,
                **{ls.name: [lab for lab in ls.labels if lab in labels[seq][ls.name]]
                   for ls in cfg.label_sets},
                "register": register, "writer": writer}
               for seq, (s, e, sent) in enumerate(new)]
    return Imported(records, moved)


def _parse_rows(rows: Sequence[dict[str, str]], text: str, template: Path, cfg: Config
                ) -> tuple[list[tuple[int, int, dict[str, set[str]]]], list[str]]:
    out, problems = [], []
    for line, row in enumerate(rows, 2):
        missing = [c for c in template_columns(cfg) if row.get(c) is None]
        if missing:
            problems.append(f"{where(template, line, missing[0])}: missing column")
            continue
        try:
            start, end = int(row["start"]), int(row["end"])
        except ValueError:
            problems.append(f"{where(template, line, 'start')}: not a whole number")
            continue
        if not 0 <= start < end <= len(text):
            problems.append(f"{where(template, line, 'start')}: offsets {start}-{end} are "
                            f"outside the document ({len(text)} characters)")
            continue
        if " ".join(text[start:end].split()) != " ".join(row["text"].split()):
            problems.append(f"{where(template, line, 'text')}: does not match the document "
                            "at its offsets (was the document edited? segment it again)")
            continue
        labs: dict[str, set[str]] = {}
        for ls in cfg.label_sets:
            values = {v.strip() for v in row[ls.name].split(";") if v.strip()}
            unknown = sorted(values - set(ls.labels))
            if unknown:
                problems.append(f"{where(template, line, ls.name)}: unknown label "
                                f"{unknown[0]!r} (known: {', '.join(ls.labels)})")
            labs[ls.name] = values & set(ls.labels)
        out.append((start, end, labs))
    return out, problems


def _majority(start: int, end: int, sentences: Sequence[tuple[int, int, Any]]) -> int | None:
    """Index of the span (sorted ``(start, end, ...)``) that holds most of ``[start, end)``
    (None if none overlaps)."""
    best, best_overlap = None, 0
    for i, (s, e, _) in enumerate(sentences):
        if s >= end:
            break
        overlap = min(e, end) - max(s, start)
        if overlap > best_overlap:
            best, best_overlap = i, overlap
    return best
