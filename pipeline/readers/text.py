"""``.txt`` / ``.md``: the whole file is one document, decoded by :func:`decode`."""

from __future__ import annotations

from pathlib import Path

from pipeline.readers.base import ReadOptions, whole_file
from pipeline.readers.encoding import decode


def text_of(path: Path, options: ReadOptions) -> str:
    """The file's text; ``ValueError`` for binary data or a file with only whitespace."""
    text = decode(path.read_bytes())
    if not text.strip():
        raise ValueError("empty file")
    return text


read_text_file = whole_file(text_of)
