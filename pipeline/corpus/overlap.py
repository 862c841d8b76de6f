"""Shared word sequences between the corpus and published text, without storing the text.

The corpus must be original writing: no sequence of ``n`` words (8 by default) may
appear in a published text its writers read. Published texts are kept only as hashes
of their ``n``-word sequences (one per line in a fingerprint file), so the check can be
repeated by anyone while the texts themselves stay out of the repository.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.text.normalize import normalize_text

WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Lower-cased words (letters and digits), quotes and invisible characters normalised."""
    return WORD.findall(normalize_text(text).text.lower())


def sequences(text: str, n: int) -> Iterator[tuple[str, ...]]:
    """Every run of ``n`` consecutive words."""
    w = words(text)
    for i in range(len(w) - n + 1):
        yield tuple(w[i:i + n])


def digest(seq: tuple[str, ...]) -> str:
    """A 64-bit hash of one word sequence, as 16 hex digits."""
    return hashlib.blake2b(" ".join(seq).encode("utf-8"), digest_size=8).hexdigest()


def fingerprint(texts: Iterable[str], n: int) -> set[str]:
    """Hashes of every ``n``-word sequence of ``texts``."""
    return {digest(seq) for text in texts for seq in sequences(text, n)}


def write_fingerprint(hashes: set[str], out: Path, n: int, note: str = "") -> None:
    """Write hashes sorted, one per line, after a header naming ``n`` (atomically)."""
    from pipeline.io.outputs import write_text
    from pipeline.io.readers.base import os_reason

    header = [f"# {n}-word sequence hashes (blake2b-64) of published texts; no text kept"]
    if note:
        header.append(f"# {note}")
    try:
        write_text(out, "\n".join([*header, f"n = {n}", *sorted(hashes)]) + "\n")
    except OSError as err:
        raise PipelineError(f"{out}: cannot write the fingerprint file ({os_reason(err)})"
                            ) from None


def read_fingerprint(path: Path) -> tuple[int, set[str]]:
    """``(n, hashes)`` of a fingerprint file."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError as err:
        raise PipelineError(f"{path}: cannot read the fingerprint file ({err.strerror})") from None
    except UnicodeDecodeError:
        raise PipelineError(f"{path}: not a fingerprint file (not UTF-8 text)") from None
    n, hashes = 0, set()
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("n = "):
            if n:  # two files of different lengths glued together would match nothing
                raise PipelineError(f"{path}:{lineno}: a second 'n = ' line; one fingerprint "
                                    "file holds one sequence length")
            if not line[4:].strip().isdigit() or int(line[4:]) < 1:
                raise PipelineError(f"{path}:{lineno}: 'n = ' needs a whole number >= 1")
            n = int(line[4:])
        elif re.fullmatch(r"[0-9a-f]{16}", line):
            hashes.add(line)
        else:
            raise PipelineError(f"{path}:{lineno}: not a sequence hash")
    if n < 1:
        raise PipelineError(f"{path}: no 'n = ...' line")
    return n, hashes


def shared(text: str, hashes: set[str], n: int) -> list[str]:
    """The ``n``-word sequences of ``text`` whose hash is in ``hashes``."""
    return [" ".join(seq) for seq in sequences(text, n) if digest(seq) in hashes]
