"""What every reader yields (:class:`Document`), the options readers share, the reader type.

A reader is a function ``reader(path, options)`` that yields the documents of one file.
It reports a file it cannot read by raising ``ValueError`` (or letting ``OSError``
through) with a short reason; :func:`pipeline.io.inputs.read_path` turns that into one
error record naming the file.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
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
    """Settings shared by all readers.

    Parameters
    ----------
    text_column : str
        Field of ``.jsonl`` / ``.csv`` / ``.parquet`` rows that holds the text.
    id_column : str
        Field of those rows that holds the document id (the row's place when missing).
    max_bytes : int
        A file larger than this is not read; it gets an error record instead. The same
        limit applies to the text unpacked from a file (a DOCX unzipped, a PDF's pages,
        a Parquet file's columns), checked before unpacking where the format allows.
    """

    text_column: str = "text"
    id_column: str = "id"
    max_bytes: int = 200 * 1024 * 1024


Reader = Callable[[Path, ReadOptions], Iterator[Document]]


def whole_file(extract: Callable[[Path, ReadOptions], str]) -> Reader:
    """Make a reader of one document per file from a function returning the file's text.

    The document's id and source are the path. ``extract`` raises ``ValueError`` with
    a reason for a file it cannot read; text that is empty or only whitespace is
    reported as ``"no text"`` unless ``extract`` says something more precise. Stray NUL
    characters are removed (with a warning), many make the file binary. Text larger
    than ``options.max_bytes`` (in UTF-8) is refused like a file that large.
    """
    from pipeline.io.readers.encoding import without_nuls

    def reader(path: Path, options: ReadOptions) -> Iterator[Document]:
        text = without_nuls(extract(path, options), str(path))
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > options.max_bytes:  # unpacked from a smaller file (DOCX, PDF, ...)
            raise ValueError(f"text too large ({size} bytes > {options.max_bytes})")
        if not text.strip():
            raise ValueError("no text")
        yield Document(str(path), str(path), text)

    reader.__name__ = f"whole_file({getattr(extract, '__name__', 'extract')})"
    reader.__doc__ = extract.__doc__
    return reader


def reason(err: BaseException) -> str:
    """A short reason for a library's exception (its message, else its type's name)."""
    text = str(err).strip()
    return text if text else type(err).__name__


def os_reason(err: BaseException) -> str:
    """A short reason for a failed file operation ("symlink loop", "Permission denied")."""
    if isinstance(err, OSError):
        if err.errno == errno.ELOOP:
            return "symlink loop"
        return err.strerror or str(err)
    return str(err)
