"""Collection-level summary of predictions: label counts and the stage x technology matrix.

The matrix counts what Table 3 of the thesis counts: by default the sentences that name
a stage and a technology together (``--count sentences``), or else the documents that
carry both (``--count documents``). Its axes hold every label of both sets in the
labeling guide's order (the config's ``[labels.*]``), zeros included.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.io.markdown import md_escape
from pipeline.io.outputs import output_format, read_output
from pipeline.io.readers.base import reason

STAGE, TECHNOLOGY = "stage", "technology"
#: What a cell of the stage x technology matrix counts, and how titles name it.
COUNTS = {"sentences": "sentences naming both", "documents": "documents carrying both"}


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """Records written by ``predict`` (JSONL, CSV or Parquet): one per document, or one
    per sentence (``--level sentence``).

    A record whose ``labels`` is not a table of label lists is an error naming its line
    (row); so is a malformed ``same_sentence`` table, and a file mixing document and
    sentence records.
    """
    return list(iter_predictions(path))


def iter_predictions(path: Path) -> Iterator[dict[str, Any]]:
    """:func:`read_predictions` one record at a time (a large collection's records need
    not all be held at once)."""
    path = Path(path)
    if path.is_dir():
        raise PipelineError(f"{path}: is a folder; give the file predict wrote (--out)")
    if not path.exists():
        raise PipelineError(f"{path}: no such file")
    fmt = output_format(path)
    first: bool | None = None
    try:
        if fmt == "jsonl":
            rows: Iterable[tuple[str, Any]] = _jsonl_rows(path)
        else:
            rows = ((f"{path}: row {n}", r) for n, r in enumerate(read_output(path), 1))
        for place, record in rows:
            record = _checked(record, place)
            if first is None:
                first = _is_sentence(record)
            elif _is_sentence(record) != first:
                raise PipelineError(f"{place}: mixes document and sentence records; give "
                                    "one output of predict per file")
            yield record
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as err:
        raise PipelineError(f"{path}: cannot read predictions ({reason(err)})") from None


def _jsonl_rows(path: Path) -> Iterator[tuple[str, Any]]:
    # \n only: json.dumps(..., ensure_ascii=False) writes U+2028 and U+2029 raw
    with open(path, encoding="utf-8-sig") as fh:  # a byte-order mark from an editor is fine
        lines = _lines(fh)
        yield from _parsed(path, lines)


def _lines(fh: Any) -> Iterator[str]:
    """Lines split at \n only (not at U+2028, U+2029 or other breaks str.splitlines knows)."""
    rest = ""
    while chunk := fh.read(1 << 20):
        parts = (rest + chunk).split("\n")
        rest = parts.pop()
        yield from parts
    yield rest


def _parsed(path: Path, lines: Iterable[str]) -> Iterator[tuple[str, Any]]:
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield f"{path}:{lineno}", json.loads(line)
        except json.JSONDecodeError as err:
            raise PipelineError(f"{path}:{lineno}: bad JSON ({err.msg})") from None


def _is_sentence(record: dict[str, Any]) -> bool:
    return "doc_id" in record or "sentence" in record


def _checked(record: Any, place: str) -> dict[str, Any]:
    if not isinstance(record, dict) or not isinstance(record.get("labels"), dict):
        raise PipelineError(f"{place}: labels: not a prediction record")
    for set_name, labs in record["labels"].items():
        if not isinstance(labs, list) or not all(isinstance(x, str) for x in labs):
            raise PipelineError(f"{place}: labels.{set_name}: expected a list of label names, "
                                f"got {labs!r}")
    if "same_sentence" in record:
        table = record["same_sentence"]
        if not isinstance(table, dict) or not all(
                isinstance(row, dict) and all(_count(n) for n in row.values())
                for row in table.values()):
            raise PipelineError(f"{place}: same_sentence: expected a table of sentence counts "
                                "per stage and technology")
    return record


def _count(n: Any) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def is_sentence_level(records: list[dict[str, Any]]) -> bool:
    """Whether the records are sentences (``predict --level sentence``), not documents."""
    return bool(records) and _is_sentence(records[0])


def documents(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per document: sentence records merged by ``doc_id``, for counting
    documents and errors (their labels are the union of the sentences' labels, which is
    not the document rule's decision: never count these as document labels)."""
    if not is_sentence_level(records):
        return records
    docs: dict[Any, dict[str, Any]] = {}
    for r in records:
        doc = docs.setdefault(r.get("doc_id"), {"id": r.get("doc_id"), "labels": {},
                                                "error": None})
        for set_name, labs in r["labels"].items():
            have = doc["labels"].setdefault(set_name, [])
            have += [lab for lab in labs if lab not in have]
        doc["error"] = doc["error"] or r.get("error")
    return list(docs.values())


def label_order(records: list[dict[str, Any]], config: Config | None = None
                ) -> dict[str, list[str]]:
    """Per label set, its labels: the config's in its order, then any other label the
    records name (in their scores, labels or same_sentence tables), in first-seen order."""
    order: dict[str, list[str]] = {}
    for s in config.label_sets if config else ():
        order[s.name] = list(s.labels)

    def add(set_name: str, labs: Iterable[str]) -> None:
        have = order.setdefault(set_name, [])
        have += [lab for lab in labs if lab not in have]

    for r in records:
        for set_name, scores in (r.get("scores") or {}).items():
            add(set_name, scores)
        for set_name, labs in r["labels"].items():
            add(set_name, labs)
        for stage, row in (r.get("same_sentence") or {}).items():
            add(STAGE, [stage])
            add(TECHNOLOGY, row)
    return order


def label_counts(records: list[dict[str, Any]],
                 order: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """Documents per label (rows: set, label), every label of ``order`` included; for
    sentence-level predictions, sentences per label (document labels follow the document
    rule, which sentence records do not carry)."""
    unit = "sentences" if is_sentence_level(records) else "documents"
    counts = Counter((s, lab) for r in records for s, labs in r["labels"].items()
                     for lab in labs)
    rows = [{"set": s, "label": lab, unit: counts[(s, lab)]}
            for s, labs in _completed(order, records).items() for lab in labs]
    return pd.DataFrame(rows, columns=["set", "label", unit])


def _completed(order: dict[str, list[str]] | None,
               records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """``order`` with every other label the records name appended."""
    full = {s: list(labs) for s, labs in (order or {}).items()}
    for s, labs in label_order(records).items():
        have = full.setdefault(s, [])
        have += [lab for lab in labs if lab not in have]
    return full


def cooccurrence(records: list[dict[str, Any]], count: str = "sentences",
                 order: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """The stage x technology matrix: per (stage, technology) pair, the sentences labelled
    with both (``count="sentences"``) or the documents carrying both (``"documents"``).

    Document records are counted per sentence from their ``same_sentence`` tables; a
    readable document without one (an older predict's output) is an error.
    """
    if count not in COUNTS:
        raise PipelineError(f"--count: {count!r} is not one of {', '.join(COUNTS)}")
    order = _completed(order, records)
    stages, techs = order.get(STAGE, []), order.get(TECHNOLOGY, [])
    pairs: Counter[tuple[str, str]] = Counter()
    if count == "documents" and is_sentence_level(records):
        raise PipelineError("--count documents: these are sentence-level predictions; a "
                            "document's labels follow the document rule, which they do not "
                            "carry: count sentences, or run predict without --level "
                            "sentence")
    if count == "documents" or is_sentence_level(records):
        for r in records:
            pairs.update((a, b) for a in r["labels"].get(STAGE, [])
                         for b in r["labels"].get(TECHNOLOGY, []))
    else:
        missing = [r for r in records if "same_sentence" not in r and r.get("error") is None]
        if missing:
            raise PipelineError(
                f"{len(missing)} of {len(records)} document records have no same_sentence "
                "counts (written by an older trafficlens predict), so sentences naming both "
                "cannot be counted; use --count documents, or re-run trafficlens predict")
        for r in records:
            for a, row in (r.get("same_sentence") or {}).items():
                pairs.update({(a, b): n for b, n in row.items()})
    data = [[pairs[(a, b)] for b in techs] for a in stages]
    return pd.DataFrame(data, index=pd.Index(stages, name=STAGE),
                        columns=pd.Index(techs, name=TECHNOLOGY), dtype="int64")


@dataclass(frozen=True)
class Summary:
    """What summarize reports about a collection of predictions."""

    count: str  # what a matrix cell counts: "sentences" or "documents"
    documents: int
    errors: int  # documents that could not be read
    sentences: int  # sentences of the readable documents
    labels: pd.DataFrame  # documents per label
    matrix: pd.DataFrame  # stage x technology
    note: str | None  # why there is nothing to count, if there is not

    @property
    def title(self) -> str:
        """The matrix's title, naming what it counts."""
        of = f"{self.documents} documents"
        if self.count == "sentences":
            of = f"{self.sentences} sentences of {of}"
        return f"Stage x technology: {COUNTS[self.count]} ({of})"

    @property
    def empty(self) -> bool:
        """Whether there is nothing at all to count (no readable document or no labels)."""
        return self.note is not None and (self.documents == self.errors
                                          or self.matrix.size == 0)


def summarize(records: list[dict[str, Any]], count: str = "sentences",
              order: dict[str, list[str]] | None = None) -> Summary:
    """Label counts and the stage x technology matrix of ``records`` (see :func:`cooccurrence`)."""
    order = _completed(order, records)
    matrix = cooccurrence(records, count, order)
    docs = documents(records)
    errors = sum(r.get("error") is not None for r in docs)
    if is_sentence_level(records):
        sentences = sum(r.get("sentence") is not None for r in records)
    else:
        sentences = sum(int(r.get("n_sentences") or 0) for r in records)
    if not docs:
        note = "Nothing to count: the predictions hold no documents."
    elif errors == len(docs):
        note = f"Nothing to count: none of the {len(docs)} documents could be read."
    elif matrix.size == 0:
        note = "Nothing to count: no stage or technology labels (name them with --config)."
    elif not matrix.to_numpy().any():
        note = (f"No {'sentence names' if count == 'sentences' else 'document carries'} "
                "both a stage and a technology.")
    else:
        note = None
    return Summary(count, len(docs), errors, sentences, label_counts(records, order), matrix,
                   note)


def write_summary(records: list[dict[str, Any]], out_dir: Path, count: str = "sentences",
                  order: dict[str, list[str]] | None = None) -> list[Path]:
    """Write label counts and the stage x technology matrix as CSV, Markdown and PNG."""
    from pipeline.evaluation.plots import heatmap
    from pipeline.io.outputs import write_text

    out_dir = Path(out_dir)
    summary = summarize(records, count, order)
    paths = [out_dir / "label_counts.csv", out_dir / "stage_technology.csv",
             out_dir / "stage_technology.md", out_dir / "stage_technology.png"]
    write_text(paths[0], summary.labels.to_csv(index=False))
    write_text(paths[1], summary.matrix.to_csv())
    md = [f"# Collection summary\n\n{summary.documents} documents ({summary.errors} "
          f"unreadable), {summary.sentences} sentences.\n"]
    if summary.empty:
        md.append(f"{summary.note}\n")
    else:
        md += [f"## {summary.labels.columns[-1].capitalize()} per label\n",
               _markdown(summary.labels, index=False),
               f"\n## {summary.title}\n", f"{_CELL[count]}\n", _markdown(summary.matrix, True)]
        if summary.note:
            md.append(f"\n{summary.note}\n")
    write_text(paths[2], "\n".join(md) + "\n")
    title = summary.title + (f"\n{summary.note}" if summary.note else "")
    heatmap(summary.matrix, title, paths[3])
    return paths


_CELL = {"sentences": "Each cell counts the sentences labelled with both the row's stage and "
                      "the column's technology.",
         "documents": "Each cell counts the documents labelled with both the row's stage and "
                      "the column's technology (a document carries every label one of its "
                      "sentences carries)."}


def text_table(frame: pd.DataFrame, index: bool = True) -> str:
    """A plain aligned table for the terminal: text left-aligned, numbers right-aligned."""
    head = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    body = [([str(key)] if index else []) + [str(v) for v in row]
            for key, row in zip(frame.index, frame.itertuples(index=False), strict=True)]
    numeric = ([False] if index else []) + [pd.api.types.is_numeric_dtype(t)
                                            for t in frame.dtypes]
    widths = [max(len(r[j]) for r in [head, *body]) for j in range(len(head))]
    return "\n".join("  ".join(c.rjust(w) if num else c.ljust(w)
                               for c, w, num in zip(r, widths, numeric, strict=True)).rstrip()
                     for r in [head, *body])


def _markdown(frame: pd.DataFrame, index: bool) -> str:
    """A pipe table without the optional `tabulate` dependency; label names come from
    the predictions file, so every cell is escaped."""
    cols = ([frame.index.name or ""] if index else []) + list(frame.columns)
    lines = ["| " + " | ".join(md_escape(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for key, row in frame.iterrows():
        cells = ([key] if index else []) + row.tolist()
        lines.append("| " + " | ".join(md_escape(c) for c in cells) + " |")
    return "\n".join(lines)
