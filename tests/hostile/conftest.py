"""A folder of awkward inputs, built at test time, and what predict must make of it.

Each file is added with the number of documents it holds (one per file, one per table
row) and whether they are readable, so a test can check that every document in gives
exactly one record out, and that each error record names its file (and row).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

TEXT = "Recruiters posted fake jobs abroad on social media. Her passport was taken."


@dataclass
class Hostile:
    root: Path
    documents: int = 0  # documents in, all files together
    errors: int = 0  # of which unreadable (an error record each)
    table_rows: dict[str, int] = field(default_factory=dict)  # table file -> rows

    def add(self, name: str | bytes, data: bytes, documents: int = 1, errors: int = 0,
            table: bool = False) -> Path:
        raw = os.fsencode(self.root) + b"/" + (name if isinstance(name, bytes) else name.encode())
        os.makedirs(os.path.dirname(raw), exist_ok=True)
        with open(raw, "wb") as fh:
            fh.write(data)
        self.documents += documents
        self.errors += errors
        path = Path(os.fsdecode(raw))
        if table:
            self.table_rows[str(path)] = documents
        return path


def jsonl(*lines: object) -> bytes:
    return b"".join((x if isinstance(x, bytes) else json.dumps(x, ensure_ascii=False).encode())
                    + b"\n" for x in lines)


def build(root: Path) -> Hostile:
    root.mkdir()
    h = Hostile(root)
    big = "y" * (csv.field_size_limit() + 10)
    # tables: whatever is wrong with one row stays with that row
    h.add("tables/nul_row.csv", b"id,text\nr1,job offer on facebook\nr2,bad\x00cell\n"
          b"r3,passport taken\n", documents=3, errors=1, table=True)
    h.add("tables/huge_cell.csv", f"id,text\nh1,{TEXT}\nh2,{big}\nh3,{TEXT}\n".encode(),
          documents=3, table=True)
    h.add("tables/duplicate_ids.csv", f"id,text\nd,{TEXT}\nd,{TEXT}\nd,{TEXT}\n".encode(),
          documents=3, table=True)
    h.add("tables/formulas.csv", f'id,text\n=1+1,"=HYPERLINK(""x"") {TEXT}"\n@x,-{TEXT}\n'
          .encode(), documents=2, table=True)
    h.add("tables/header_only.csv", b"id,text\n", errors=1)
    h.add("tables/utf16_no_bom.csv", f"id,text\nu,{TEXT}\n".encode("utf-16-le"), errors=1)
    h.add("tables/crlf.csv", f"id,text\r\nc1,{TEXT}\r\nc2,{TEXT}\r\n".encode(), documents=2,
          table=True)
    h.add("tables/lines.jsonl", jsonl(
        {"id": "sep", "text": f"one\u2028two\u2029three\u0085{TEXT}"},
        b'{"id": "broken", "text": ',
        b'{"id": "nul", "text": "a\x00b"}',
        [1, 2, 3],
        {"id": "notext", "body": TEXT},
        {"id": "sep", "text": TEXT},
        b"",
        {"id": "<script>alert(1)</script>", "text": f"![x](http://t.example/p.png) {TEXT}"},
    ), documents=7, errors=4, table=True)
    h.add("tables/crlf.jsonl", jsonl({"id": "w1", "text": TEXT}).replace(b"\n", b"\r\n") * 2,
          documents=2, table=True)
    pd.DataFrame({"id": ["q1", None, "q3"], "text": [TEXT, TEXT, None]}).to_parquet(
        root / "tables" / "nulls.parquet")
    h.documents += 3
    h.errors += 1
    h.table_rows[str(root / "tables" / "nulls.parquet")] = 3
    # text files
    h.add("text/stray_nul.txt", (TEXT * 3)[:100].encode() + b"\x00" + (TEXT * 3)[100:].encode())
    h.add("text/binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01" * 10, errors=1)
    h.add("text/empty.txt", b"", errors=1)
    h.add("text/blank.md", b" \n\t\n", errors=1)
    h.add("text/cp1252.txt", "\u201cShe was promised a job\u201d \u2013 the recruiter charged "
          "\u20ac500.".encode("cp1252"))
    h.add("text/utf16.txt", TEXT.encode("utf-16"))
    h.add(b"text/caf\xe9 undecodable name.txt", TEXT.encode())
    h.add("text/=formula name.txt", TEXT.encode())
    h.add("text/surrogates.txt", TEXT.encode() + b" \xed\xa0\x80 lone surrogate bytes")
    h.add("text/long line.txt", ((TEXT + " ") * 3000).encode())
    # other kinds
    h.add("other/script_only.html", b"<html><script>alert(1)</script></html>", errors=1)
    h.add("other/damaged.docx", b"PK\x03\x04 not really a zip", errors=1)
    h.add("other/damaged.pdf", b"%PDF-1.4\n1 0 obj <<", errors=1)
    h.add("other/notes.rtf", b"{\\rtf1 notes}", errors=1)
    loop = root / "other" / "loop"
    loop.symlink_to("..", target_is_directory=True)
    h.documents += 1
    h.errors += 1
    # hidden files are skipped without a record
    h.add(".DS_Store", b"\x00\x00\x00\x01Bud1", documents=0)
    return h


@pytest.fixture
def hostile(tmp_path: Path) -> Hostile:
    """The awkward folder (see :func:`build`)."""
    return build(tmp_path / "hostile")
