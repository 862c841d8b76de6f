"""Collection-level summary of predictions: label counts and the stage x technology matrix."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import PipelineError


def read_predictions(path: Path) -> list[dict[str, Any]]:
    """Read document-level prediction records written by ``predict`` (JSONL)."""
    records = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise PipelineError(f"{path}: cannot read predictions ({err})") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise PipelineError(f"{path}:{lineno}: bad JSON ({err.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("labels"), dict):
            raise PipelineError(f"{path}:{lineno}: labels: not a prediction record")
        records.append(record)
    return records


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
    """A pipe table without the optional `tabulate` dependency."""
    cols = ([frame.index.name or ""] if index else []) + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for key, row in frame.iterrows():
        cells = ([str(key)] if index else []) + [str(v) for v in row.tolist()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
