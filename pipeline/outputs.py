"""Write prediction records as JSONL (default) or CSV, atomically.

Files are written to a temporary name beside the target and renamed on success, so
an interrupted run never leaves a half-written output under the final name. CSV
rows flatten labels (``;``-joined) and scores (one column per label) so the file
opens directly in a spreadsheet; evidence goes in one JSON column. Lone surrogates from
broken input are written as U+FFFD, so every output file is valid UTF-8.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from pipeline.preprocess import clean

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv"}


@contextmanager
def atomic_writer(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it to ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> None:
    """Write a whole text file atomically."""
    with atomic_writer(path) as fh:
        fh.write(text)


def flat_row(record: dict[str, Any]) -> dict[str, Any]:
    """One CSV row: scalars as they are, labels joined with ``;``, one column per score."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key == "labels":
            for set_name, labs in value.items():
                row[set_name] = ";".join(labs)
        elif key == "scores":
            for set_name, scores in value.items():
                for lab, score in scores.items():
                    row[f"score_{set_name}_{lab}"] = score
        elif key == "evidence":
            row["evidence"] = json.dumps(value, ensure_ascii=False)
        else:
            row[key] = "" if value is None else value
    return row


def output_format(path: Path | None) -> str:
    if path is None:
        return "jsonl"
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        from pipeline.errors import PipelineError

        raise PipelineError(f"{path}: unsupported output format (use .jsonl or .csv)")
    return fmt


def write_records(records: Iterable[dict[str, Any]], out: Path | None) -> int:
    """Write records to ``out`` (stdout when None); return how many were written."""
    fmt = output_format(out)
    if out is None:
        return _write(records, sys.stdout, fmt)
    with atomic_writer(Path(out)) as fh:
        return _write(records, fh, fmt)


def _write(records: Iterable[dict[str, Any]], fh: IO[str], fmt: str) -> int:
    n = 0
    writer = None
    for record in records:
        if fmt == "jsonl":
            fh.write(clean(json.dumps(record, ensure_ascii=False)) + "\n")
        else:
            row = {k: clean(v) if isinstance(v, str) else v for k, v in flat_row(record).items()}
            if writer is None:
                writer = csv.DictWriter(fh, fieldnames=list(row), extrasaction="ignore")
                writer.writeheader()
            writer.writerow(row)
        n += 1
    return n
