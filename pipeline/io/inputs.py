"""Read documents to classify: files by extension, folders, or stdin.

Every input document yields exactly one :class:`Document`; one that cannot be read
carries an ``error`` instead of text, so it still gets an output record. Nothing is
skipped silently except hidden entries inside a folder (see below), and bad input
never raises.

Readers are chosen by file extension from :data:`READERS`, which a user may extend::

    from pipeline.io.inputs import register_reader, whole_file
    register_reader(".rtf", whole_file(lambda path, options: my_rtf_to_text(path)))

The built-in readers live in :mod:`pipeline.io.readers`, one module each: ``.txt``/``.md``
(text, any common encoding), ``.html``/``.htm`` (visible text), ``.pdf`` (pypdf),
``.docx`` (python-docx), and the tables ``.jsonl``/``.csv``/``.parquet`` (one document
per row, fields named by :class:`ReadOptions`).

Each of these becomes one error record naming the file: an unsupported extension, a
file over ``ReadOptions.max_bytes``, an empty file, something that is not a regular
file (a FIFO would block), an unreadable file, binary data with a text extension, and
anything a reader rejects (damaged, encrypted, no text).

Folders are walked recursively in a stable order (files by name, then subfolders);
see :mod:`pipeline.io.readers.walk` for symlinks: a loop such as ``sub/loop -> ..`` is
one ``symlink loop`` error record, any other symlinked folder is read once.
Hidden files and folders (names starting with ``.``) inside a folder are skipped
without a record: they are ``.DS_Store``, ``._name.pdf`` AppleDouble copies,
``.git/`` and the like, which nobody meant as input and which would drown real errors.
A hidden file named explicitly is read.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.io.readers.base import Document, Reader, ReadOptions, os_reason, whole_file
from pipeline.io.readers.docx import read_docx_file
from pipeline.io.readers.encoding import decode, without_nuls
from pipeline.io.readers.html import read_html_file
from pipeline.io.readers.pdf import read_pdf_file
from pipeline.io.readers.tables import read_csv_file, read_jsonl_file, read_parquet_file
from pipeline.io.readers.text import read_text_file
from pipeline.io.readers.walk import walk

__all__ = ["READERS", "Document", "ReadOptions", "Reader", "decode", "iter_files",
           "read_csv_file", "read_docx_file", "read_html_file", "read_inputs",
           "read_jsonl_file", "read_parquet_file", "read_path", "read_pdf_file", "read_stdin",
           "read_text_file", "register_reader", "walk", "whole_file"]

READERS: dict[str, Reader] = {
    ".txt": read_text_file,
    ".md": read_text_file,
    ".html": read_html_file,
    ".htm": read_html_file,
    ".pdf": read_pdf_file,
    ".docx": read_docx_file,
    ".jsonl": read_jsonl_file,
    ".csv": read_csv_file,
    ".parquet": read_parquet_file,
}


def register_reader(extension: str, reader: Reader) -> None:
    """Read files ending in ``extension`` (e.g. ``".rtf"``, any case) with ``reader``.

    Replaces the reader an extension had. ``reader(path, options)`` yields documents
    and raises ``ValueError`` (or ``OSError``) for a file it cannot read; see
    :func:`whole_file` for the common one-document-per-file case.
    """
    ext = extension.lower()
    if not ext.startswith("."):
        ext = "." + ext
    if len(ext) < 2 or not callable(reader):
        raise ValueError(f"register_reader: need an extension and a reader, got {extension!r}")
    READERS[ext] = reader


def iter_files(root: Path) -> Iterator[Path]:
    """Files under ``root`` in reading order (see :func:`walk`, which also gives errors)."""
    for item in walk(root):
        if isinstance(item, Path):
            yield item


def read_path(path: Path, options: ReadOptions) -> Iterator[Document]:
    """Documents of one file; any failure becomes one error record naming the file."""
    name = str(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        kind = f"file type {path.suffix!r}" if path.suffix else "file without an extension"
        yield Document(name, name, error=f"unsupported {kind} "
                       f"(supported: {', '.join(sorted(READERS))})")
        return
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            yield Document(name, name, error="a folder, not a file")
            return
        if not stat.S_ISREG(info.st_mode):
            yield Document(name, name, error="not a regular file (use - to read stdin)")
            return
        if info.st_size > options.max_bytes:
            yield Document(name, name,
                           error=f"file too large ({info.st_size} bytes > {options.max_bytes})")
            return
        if info.st_size == 0:
            yield Document(name, name, error="empty file")
            return
        yield from reader(path, options)
    except (OSError, ValueError, csv.Error) as err:
        yield Document(name, name, error=os_reason(err))


def read_stdin(stream: io.TextIOBase, options: ReadOptions) -> Document:
    """The one document on stdin, read as bytes and decoded like a ``.txt`` file (so
    binary input is an error record and cp1252 or UTF-16 text is read right)."""
    raw = getattr(stream, "buffer", None)
    try:
        if raw is None:  # a text stream without bytes underneath (e.g. io.StringIO)
            text = stream.read()
        else:
            data = raw.read(options.max_bytes + 1)
            if len(data) > options.max_bytes:
                return Document("stdin", "stdin",
                                error=f"input on stdin too large (> {options.max_bytes} bytes)")
            text = without_nuls(decode(data), "stdin")
    except (OSError, ValueError) as err:
        return Document("stdin", "stdin", error=os_reason(err))
    if not text.strip():
        return Document("stdin", "stdin", error="empty input on stdin")
    return Document("stdin", "stdin", text)


def read_inputs(inputs: Iterable[str], options: ReadOptions | None = None,
                stdin: io.TextIOBase | None = None,
                skip: Iterable[Path] = ()) -> Iterator[Document]:
    """Documents from every input: files, folders (recursive), or ``-`` for stdin.

    Files in a folder that are one of ``skip`` (the run's own output files) are passed
    over with a warning, so a run never reads what it writes.
    """
    options = options or ReadOptions()
    own = {Path(os.path.realpath(p)) for p in skip}
    own_names = {p.name for p in own}
    for item in inputs:
        if item == "-":
            yield read_stdin(stdin if stdin is not None else sys.stdin, options)
            continue
        path = Path(item)
        if path.is_dir():
            for found in walk(path):
                if isinstance(found, Document):
                    yield found
                elif found.name in own_names and Path(os.path.realpath(found)) in own:
                    warnings.warn(f"{found}: skipped, it is this run's output", stacklevel=2)
                else:
                    yield from read_path(found, options)
        elif path.exists() or path.is_symlink():
            yield from read_path(path, options)
        else:
            yield Document(str(path), str(path), error="no such file or directory")
