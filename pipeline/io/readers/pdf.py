"""``.pdf``: the text of every page (pypdf), pages separated by a blank line.

A PDF that opens without a password is read even when it is encrypted (an owner
password only restricts printing or copying; any viewer opens it). One that needs a
password, or is damaged, is one error record; so is one whose pages hold no text
layer (a scan): OCR it first. pypdf's warnings about recoverable damage are
silenced while reading, since they would name no file. Text beyond ``--max-bytes``
(compressed streams decompress to far more than the file's size) is an error record;
reading stops at the page that passes the limit.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.io.readers.base import ReadOptions, reason, whole_file

NO_TEXT = "no extractable text (scanned?)"


def pdf_text(path: Path, options: ReadOptions) -> str:
    """Text of all pages; ``ValueError`` for an encrypted, damaged or text-less PDF."""
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError

    data = path.read_bytes()
    with _quiet():
        try:
            pdf = PdfReader(io.BytesIO(data))  # tries the empty password itself
            locked = pdf.is_encrypted and pdf.decrypt("") == PasswordType.NOT_DECRYPTED
            pages = [] if locked else _page_texts(pdf, options.max_bytes)
        except TooMuchTextError:
            raise ValueError(f"too much text (more than {options.max_bytes} bytes once "
                             "decompressed)") from None
        except DependencyError as err:  # AES without the optional crypto library
            raise ValueError(f"encrypted PDF: cannot decrypt ({err}; "
                             "pip install cryptography)") from None
        except Exception as err:  # pypdf raises many types on damaged files
            raise ValueError(f"damaged PDF ({reason(err)})") from None
    if locked:
        raise ValueError("encrypted PDF (needs a password)")
    text = "\n\n".join(page for page in pages if page)
    if not text:
        raise ValueError(NO_TEXT)
    return text


read_pdf_file = whole_file(pdf_text)


class TooMuchTextError(Exception):
    """The pages' text passed the size limit (a small file of compressed streams)."""


def _page_texts(pdf, max_bytes: int) -> list[str]:
    """Each page's text, stopping once their total passes ``max_bytes``."""
    pages, total = [], 0
    for page in pdf.pages:
        text = (page.extract_text() or "").strip()
        total += len(text.encode("utf-8", "surrogatepass"))
        if total > max_bytes:
            raise TooMuchTextError
        pages.append(text)
    return pages


@contextmanager
def _quiet() -> Iterator[None]:
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
