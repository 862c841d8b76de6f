"""Bytes to text: byte-order mark, else UTF-8, else the legacy encoding that reads best.

Files from analysts' machines are mostly UTF-8, but Windows and old web exports still
give cp1252 / latin-1, and sometimes UTF-16 with a byte-order mark. charset-normalizer
guesses the rest. On short Western European texts its guess is often a Central
European or East Asian code page that turns "à" into "ŕ" or "über" into Chinese, so
cp1252 is preferred whenever it reads at least as cleanly as that guess.
"""

from __future__ import annotations

import codecs
import warnings

BINARY = "binary file (NUL bytes), not text"
#: Text whose NUL characters are at most this share of it has a few stray NULs (a bad
#: export, a copy from a terminal): they are removed with a warning. More is binary data
#: (an image, UTF-16 without a byte-order mark), which is an error record.
MAX_STRAY_NUL_SHARE = 0.01
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_SAMPLE = 64 * 1024  # characters judged when comparing cp1252 with the detector's guess
_MAX_MESS = 0.2  # charset-normalizer's own limit for "this is text"


def has_bom(data: bytes) -> bool:
    """Whether ``data`` starts with a UTF-8 or UTF-16 byte-order mark."""
    return data.startswith(tuple(bom for bom, _ in _BOMS))


def decode(data: bytes) -> str:
    """Decode bytes: byte-order mark, else UTF-8, else cp1252 or the detected charset.

    NUL characters of otherwise valid UTF-8 (or BOM-marked) text are kept, so a caller
    can judge them where they are (a table judges each row, see :func:`without_nuls`).
    Raises ``ValueError`` for binary data: NUL bytes in data that is not UTF-8, or no
    plausible encoding.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                break  # a stray BOM-like start: judge the bytes as if it were not there
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise ValueError(BINARY)
    return _detect(data)


def without_nuls(text: str, where: str) -> str:
    """``text`` without its stray NUL characters (warning ``where`` they were removed).

    Raises ``ValueError`` (binary) when NULs are more than
    :data:`MAX_STRAY_NUL_SHARE` of the text.
    """
    count = text.count("\x00")
    if not count:
        return text
    if count > MAX_STRAY_NUL_SHARE * len(text):
        raise ValueError(BINARY)
    warnings.warn(f"{where}: removed {count} stray NUL byte(s)", stacklevel=2)
    return text.replace("\x00", "")


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes
    from charset_normalizer.md import mess_ratio

    best = from_bytes(data).best()
    try:
        western: str | None = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None:
        limit = best.chaos if best is not None else _MAX_MESS
        if mess_ratio(western[:_SAMPLE], 1.0) <= limit:
            return western
    if best is None:
        raise ValueError("not text in any known encoding")
    return str(best)
