"""Collection-level summary of predictions: label counts and the stage x technology matrix."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import PipelineError
from pipeline.markdown import md_escape
from pipeline.outputs import output_format, read_output
from pipeline.readers.base import reason


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """Document-level records written by ``predict``: JSONL, CSV or Parquet.

    A record whose ``labels`` is not a table of label lists is an error naming its
    line (row); so is sentence-level output, whose records are sentences, not documents.
    """
    path = Path(path)
    fmt = output_format(path)
    records = []
    try:
        if fmt == "jsonl":
            rows: Iterable[tuple[str, Any]] = _jsonl_rows(path)
        else:
            rows = ((f"{path}: row {n}", r) for n, r in enumerate(read_output(path), 1))
        for place, record in rows:
            records.append(_checked(record, place))
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as err:
        raise PipelineError(f"{path}: cannot read predictions ({reason(err)})") from None
    return records


def _jsonl_rows(path: Path) -> Iterator[tuple[str, Any]]:
    # \n only: json.dumps(..., ensure_ascii=False) writes U+2028 and U+2029 raw
    for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield f"{path}:{lineno}", json.loads(line)
        except json.JSONDecodeError as err:
            raise PipelineError(f"{path}:{lineno}: bad JSON ({err.msg})") from None


def _checked(record: Any, place: str) -> dict[str, Any]:
    if not isinstance(record, dict) or not isinstance(record.get("labels"), dict):
        raise PipelineError(f"{place}: labels: not a prediction record")
    if "doc_id" in record or "sentence" in record:
        raise PipelineError(f"{place}: a sentence-level record; summarize counts documents, "
                            "so give it the output of predict without --level sentence")
    for set_name, labs in record["labels"].items():
        if not isinstance(labs, list) or not all(isinstance(x, str) for x in labs):
            raise PipelineError(f"{place}: labels.{set_name}: expected a list of label names, "
                                f"got {labs!r}")
    return record


def label_counts(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Documents per label (rows: set, label)."""
    rows: dict[tuple[str, str], int] = {}
    for r in records:
        for set_name, labs in r["labels"].items():
            for lab in labs:
                rows[(set_name, lab)] = rows.get((set_name, lab), 0) + 1
    frame = pd.DataFrame([{"set": s, "label": lab, "documents": n}
                          for (s, lab), n in rows.items()],
                         columns=["set", "label", "documents"])
    return frame.sort_values(["set", "documents"], ascending=[True, False], ignore_index=True)


def cooccurrence(records: list[dict[str, Any]], rows: str = "stage",
                 columns: str = "technology") -> pd.DataFrame:
    """Documents carrying each (row label, column label) pair: the stage x technology table."""
    row_labels = sorted({lab for r in records for lab in r["labels"].get(rows, [])})
    col_labels = sorted({lab for r in records for lab in r["labels"].get(columns, [])})
    table = pd.DataFrame(0, index=pd.Index(row_labels, name=rows), columns=col_labels)
    for r in records:
        for a in r["labels"].get(rows, []):
            for b in r["labels"].get(columns, []):
                table.loc[a, b] += 1
    return table


def write_summary(records: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Write label counts and the stage x technology matrix as CSV, Markdown and PNG."""
    from pipeline.outputs import write_text
    from pipeline.plots import heatmap

    out_dir = Path(out_dir)
    counts, matrix = label_counts(records), cooccurrence(records)
    paths = [out_dir / "label_counts.csv", out_dir / "stage_technology.csv",
             out_dir / "stage_technology.md", out_dir / "stage_technology.png"]
    write_text(paths[0], counts.to_csv(index=False))
    write_text(paths[1], matrix.to_csv())
    errors = sum(r.get("error") is not None for r in records)
    md = [f"# Collection summary\n\n{len(records)} documents ({errors} unreadable).\n",
          "## Documents per label\n", _markdown(counts, index=False),
          "\n## Stage x technology (documents carrying both)\n", _markdown(matrix, index=True)]
    write_text(paths[2], "\n".join(md) + "\n")
    heatmap(matrix, f"Stage x technology ({len(records)} documents)", paths[3])
    return paths


def _markdown(frame: pd.DataFrame, index: bool) -> str:
    """A pipe table without the optional `tabulate` dependency; label names come from
    the predictions file, so every cell is escaped."""
    cols = ([frame.index.name or ""] if index else []) + list(frame.columns)
    lines = ["| " + " | ".join(md_escape(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for key, row in frame.iterrows():
        cells = ([key] if index else []) + row.tolist()
        lines.append("| " + " | ".join(md_escape(c) for c in cells) + " |")
    return "\n".join(lines)
