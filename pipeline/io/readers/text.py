"""``.txt`` / ``.md``: the whole file is one document, decoded by :func:`decode`.

A few stray NUL bytes in otherwise readable text are removed with a warning; more
make the file binary (see :func:`~pipeline.io.readers.encoding.without_nuls`).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.io.readers.base import ReadOptions, whole_file
from pipeline.io.readers.encoding import decode, without_nuls


def text_of(path: Path, options: ReadOptions) -> str:
    """The file's text; ``ValueError`` for binary data or a file with only whitespace."""
    text = without_nuls(decode(path.read_bytes()), str(path))
    if not text.strip():
        raise ValueError("empty file")
    return text


read_text_file = whole_file(text_of)
