"""``.docx``: the body's paragraphs and table cells in reading order, blank-line separated.

Read with python-docx. Headers, footers, footnotes, comments and text boxes are left
out, like page furniture in HTML. A cell merged across several grid cells is read once;
tables inside cells are read in place. A password-protected document, or an old
``.doc`` renamed to ``.docx`` (both are OLE files, not zip packages), and a damaged
file are one error record each, and so is a package that unzips to more than
``--max-bytes`` (checked from the zip's directory, before anything is unzipped).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

from pipeline.io.readers.base import ReadOptions, reason, whole_file

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def docx_text(path: Path, options: ReadOptions) -> str:
    """Paragraphs and table cells of a Word file; ``ValueError`` if damaged or empty."""
    import docx

    data = path.read_bytes()
    if data.startswith(_OLE_MAGIC):
        raise ValueError("not a .docx package: password-protected, or an old Word .doc "
                         "renamed (save it as .docx)")
    check_unzipped_size(data, options.max_bytes)
    try:
        document = docx.Document(io.BytesIO(data))
        paragraphs = [p for p in (t.strip() for t in _texts(document)) if p]
    except Exception as err:  # zipfile, lxml and python-docx raise many types
        raise ValueError(f"damaged DOCX ({reason(err)})") from None
    if not paragraphs:
        raise ValueError("no text in document")
    return "\n\n".join(paragraphs)


read_docx_file = whole_file(docx_text)


def check_unzipped_size(data: bytes, max_bytes: int) -> None:
    """Refuse a package whose members unzip to more than ``max_bytes`` (a zip bomb: a
    small file holding hundreds of megabytes of text), before anything is unzipped.

    The sizes are those the zip declares; :mod:`zipfile` never inflates a member past
    its declared size, so they bound what parsing can read.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            unzipped = sum(member.file_size for member in package.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise ValueError(f"damaged DOCX ({reason(err)})") from None
    if unzipped > max_bytes:
        raise ValueError(f"too large when unzipped ({unzipped} bytes > {max_bytes})")


def _texts(container) -> Iterator[str]:
    """Texts of a document or table cell's paragraphs and tables, in order."""
    from docx.text.paragraph import Paragraph

    for block in container.iter_inner_content():
        if isinstance(block, Paragraph):
            yield block.text
            continue
        seen = set()  # a merged cell is listed once per grid cell it covers
        for row in block.rows:
            for cell in row.cells:
                if cell._tc not in seen:
                    seen.add(cell._tc)
                    yield from _texts(cell)
