"""Read documents to classify: text files, folders, JSONL/CSV tables, or stdin.

Every input document yields exactly one :class:`Document`; one that cannot be read
carries an ``error`` instead of text, so it still gets an output record. Readers are
chosen by file extension from :data:`READERS`, which a user may extend.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Document:
    """A document to classify; ``text`` is None when ``error`` says why it is unreadable."""

    id: str
    source: str
    text: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ReadOptions:
    text_column: str = "text"
    id_column: str = "id"
    max_bytes: int = 200 * 1024 * 1024


Reader = Callable[[Path, ReadOptions], Iterator[Document]]


def decode(data: bytes) -> str:
    """Decode bytes as UTF-8 (BOM allowed), else the charset charset-normalizer detects.

    Raises ``ValueError`` for binary data (NUL bytes, or no plausible encoding).
    """
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise ValueError("not text in any known encoding")
    return str(best)


def read_text_file(path: Path, options: ReadOptions) -> Iterator[Document]:
    """A ``.txt`` or ``.md`` file is one document; its id is its path."""
    data = path.read_bytes()
    text = decode(data)
    if not text.strip():
        raise ValueError("empty file")
    yield Document(str(path), str(path), text)


def read_jsonl_file(path: Path, options: ReadOptions) -> Iterator[Document]:
    """Each JSON line is one document with a text field; a bad line is an error record."""
    text = decode(path.read_bytes())
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            yield Document(where, where, error=f"bad JSON ({err.msg} at column {err.colno})")
            continue
        yield _row_document(record, where, options)


def read_csv_file(path: Path, options: ReadOptions) -> Iterator[Document]:
    """Each CSV row is one document (header row required); line numbers count the header."""
    text = decode(path.read_bytes())
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or options.text_column not in reader.fieldnames:
        raise ValueError(f"no {options.text_column!r} column (columns: "
                         f"{', '.join(reader.fieldnames or [])}); use --text-column")
    for row in reader:
        where = f"{path}:{reader.line_num}"
        yield _row_document(row, where, options)


def _row_document(record: object, where: str, options: ReadOptions) -> Document:
    if not isinstance(record, dict):
        return Document(where, where, error="expected a JSON object")
    rid = record.get(options.id_column)
    doc_id = str(rid) if rid not in (None, "") else where
    text = record.get(options.text_column)
    if not isinstance(text, str):
        return Document(doc_id, where, error=f"missing {options.text_column!r} field")
    if not text.strip():
        return Document(doc_id, where, error=f"empty {options.text_column!r} field")
    return Document(doc_id, where, text)


READERS: dict[str, Reader] = {
    ".txt": read_text_file,
    ".md": read_text_file,
    ".jsonl": read_jsonl_file,
    ".csv": read_csv_file,
}


def iter_files(root: Path) -> Iterator[Path]:
    """Files under ``root`` in a stable order, not following directory symlinks."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def read_path(path: Path, options: ReadOptions) -> Iterator[Document]:
    """Documents of one file; any failure becomes one error record naming the file."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        yield Document(str(path), str(path), error=f"unsupported file type {path.suffix!r} "
                       f"(supported: {', '.join(sorted(READERS))})")
        return
    try:
        size = path.stat().st_size
        if size > options.max_bytes:
            yield Document(str(path), str(path),
                           error=f"file too large ({size} bytes > {options.max_bytes})")
            return
        yield from reader(path, options)
    except (OSError, ValueError, csv.Error) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        yield Document(str(path), str(path), error=reason)


def read_inputs(inputs: Iterable[str], options: ReadOptions | None = None,
                stdin: io.TextIOBase | None = None) -> Iterator[Document]:
    """Documents from every input: files, directories (recursive), or ``-`` for stdin."""
    options = options or ReadOptions()
    for item in inputs:
        if item == "-":
            stream = stdin if stdin is not None else sys.stdin
            text = stream.read()
            if text.strip():
                yield Document("stdin", "stdin", text)
            else:
                yield Document("stdin", "stdin", error="empty input on stdin")
            continue
        path = Path(item)
        if path.is_dir():
            for file in iter_files(path):
                yield from read_path(file, options)
        elif path.exists() or path.is_symlink():
            yield from read_path(path, options)
        else:
            yield Document(str(path), str(path), error="no such file or directory")
