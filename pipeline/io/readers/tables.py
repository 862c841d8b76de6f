"""Tables: each row of a ``.jsonl``, ``.csv`` or ``.parquet`` file is one document.

The text and id fields are :attr:`ReadOptions.text_column` and ``id_column``. A row
without an id gets its place as id (``file:line`` for JSONL and CSV, ``file:row N`` for
Parquet); a row without text is an error record. A file with no text column, or with
no rows at all, is one error record.

What is wrong with one row stays with that row: NUL bytes are judged per row (a few
in a text field are removed with a warning, more make that row a binary error
record), a CSV cell of any size is read, a row the CSV parser rejects is an error
record and the rows after it are still read, and JSON lines are split at ``\n`` only
(``json.dumps(..., ensure_ascii=False)`` writes U+2028, U+2029 and U+0085 raw, and
``str.splitlines`` would cut a line there).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path

from pipeline.io.readers.base import Document, ReadOptions, reason
from pipeline.io.readers.encoding import BINARY, decode, without_nuls

NO_ROWS = "no rows"


def read_jsonl_file(path: Path, options: ReadOptions) -> Iterator[Document]:
    """Each JSON line is one document with a text field; a bad line is an error record."""
    text = decode(path.read_bytes())
    rows = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        rows += 1
        where = f"{path}:{lineno}"
        try:  # strict=False: control characters (NUL) in strings are judged per field
            record = json.loads(line, strict=False)
        except json.JSONDecodeError as err:
            yield Document(where, where, error=f"bad JSON ({err.msg} at column {err.colno})")
            continue
        yield row_document(record, where, options)
    if not rows:
        raise ValueError(NO_ROWS)


def read_csv_file(path: Path, options: ReadOptions) -> Iterator[Document]:
    """Each CSV row is one document (header row required); line numbers count the header."""
    text = decode(path.read_bytes())
    # a cell can be as large as the file (which max_bytes already bounds)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is not None and "\x00" in "".join(reader.fieldnames):
        raise ValueError(BINARY)  # e.g. UTF-16 without a byte-order mark
    _require_column(reader.fieldnames, options)
    rows = 0
    while True:
        before = reader.reader.line_num  # (DictReader.line_num lags after an error)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            if reader.reader.line_num == before:  # the parser cannot move on
                raise
            rows += 1
            where = f"{path}:{reader.reader.line_num}"
            yield Document(where, where, error=f"bad CSV row ({reason(err)})")
            continue
        rows += 1
        yield row_document(row, f"{path}:{reader.line_num}", options)
    if not rows:
        raise ValueError(NO_ROWS)


def read_parquet_file(path: Path, options: ReadOptions) -> Iterator[Document]:
    """Each Parquet row is one document; its place is ``file:row N`` (N counts from 1)."""
    import pandas as pd
    import pyarrow.parquet as pq

    data = path.read_bytes()
    try:
        meta = pq.read_metadata(io.BytesIO(data))
        columns = meta.schema.to_arrow_schema().names
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ... on damage
        raise ValueError(f"damaged Parquet file ({reason(err)})") from None
    _require_column(columns, options)
    wanted = [options.text_column]
    if options.id_column in columns and options.id_column != options.text_column:
        wanted.append(options.id_column)
    unpacked = sum(group.column(k).total_uncompressed_size
                   for group in (meta.row_group(g) for g in range(meta.num_row_groups))
                   for k in range(group.num_columns)
                   if group.column(k).path_in_schema.split(".")[0] in wanted)
    if unpacked > options.max_bytes:  # checked before decompressing anything
        raise ValueError(f"too large when decompressed ({unpacked} bytes > "
                         f"{options.max_bytes})")
    try:
        frame = pd.read_parquet(io.BytesIO(data), engine="pyarrow", columns=wanted,
                                dtype_backend="pyarrow")
    except Exception as err:
        raise ValueError(f"damaged Parquet file ({reason(err)})") from None
    if frame.empty:
        raise ValueError(NO_ROWS)
    values = {name: frame[name].tolist() for name in wanted}
    for n in range(len(frame)):
        record = {name: _plain(values[name][n]) for name in wanted}
        yield row_document(record, f"{path}:row {n + 1}", options)


def row_document(record: object, where: str, options: ReadOptions) -> Document:
    """The document of one table row; ``where`` is its place, used when it has no id."""
    if not isinstance(record, dict):
        return Document(where, where, error="expected a JSON object")
    rid = record.get(options.id_column)
    doc_id = str(rid).replace("\x00", "") if rid not in (None, "") else where
    text = record.get(options.text_column)
    if not isinstance(text, str):
        return Document(doc_id, where, error=f"missing {options.text_column!r} field")
    try:
        text = without_nuls(text, where)
    except ValueError:
        return Document(doc_id, where,
                        error=f"binary data (NUL bytes) in the {options.text_column!r} field")
    if not text.strip():
        return Document(doc_id, where, error=f"empty {options.text_column!r} field")
    return Document(doc_id, where, text)


def _require_column(columns: list[str] | None, options: ReadOptions) -> None:
    if columns is None or options.text_column not in columns:
        raise ValueError(f"no {options.text_column!r} column (columns: "
                         f"{', '.join(columns or [])}); use --text-column")


def _plain(value: object) -> object:
    """A Parquet cell as a plain Python value, missing values (NA, NaN) as None."""
    import pandas as pd

    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
