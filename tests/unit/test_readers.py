"""pipeline.io.readers: each file kind's reader, the folder walk, and the reader registry.

Every test builds real files in ``tmp_path`` and checks exact texts, ids and errors.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import docx
import pandas as pd
import pypdf
import pytest

from pipeline.io import inputs
from pipeline.io.inputs import (
    READERS,
    Document,
    ReadOptions,
    read_inputs,
    read_path,
    register_reader,
    whole_file,
)
from pipeline.io.readers.encoding import decode
from pipeline.io.readers.html import declared_charset, html_to_text


def read_one(path: Path, **options) -> Document:
    docs = list(read_path(path, ReadOptions(**options)))
    assert len(docs) == 1, docs
    return docs[0]


def error_of(path: Path, **options) -> str:
    doc = read_one(path, **options)
    assert doc.text is None and doc.id == str(path) and doc.source == str(path)
    return doc.error


# ---------------------------------------------------------------- text and encodings

@pytest.mark.parametrize(("text", "encoding"), [
    ("\u201cShe was promised a job\u201d \u2013 the recruiter charged \u20ac500.", "cp1252"),
    ("Les victimes \u00e9taient recrut\u00e9es \u00e0 Paris et envoy\u00e9es \u00e0 "
     "l'\u00e9tranger.", "cp1252"),
    ("Die Opfer wurden \u00fcber soziale Medien angeworben und mussten in "
     "B\u00e4ckereien arbeiten.", "latin-1"),
    ("\u0415\u0451 \u043f\u0430\u0441\u043f\u043e\u0440\u0442 \u0437\u0430\u0431\u0440\u0430"
     "\u043b\u0438 \u043f\u043e \u043f\u0440\u0438\u0431\u044b\u0442\u0438\u0438, \u0438 "
     "\u043e\u043d\u0430 \u0440\u0430\u0431\u043e\u0442\u0430\u043b\u0430 \u0431\u0435\u0437 "
     "\u043e\u043f\u043b\u0430\u0442\u044b.", "cp1251"),
])
def test_legacy_encoded_text_file(tmp_path: Path, text: str, encoding: str):
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode(encoding))
    assert read_one(path) == Document(str(path), str(path), text)


def test_utf16_with_bom(tmp_path: Path):
    path = tmp_path / "notepad.txt"
    path.write_bytes("Her passport was taken.\r\nCaf\u00e9.".encode("utf-16"))
    assert read_one(path).text == "Her passport was taken.\r\nCaf\u00e9."


@pytest.mark.parametrize(("data", "error"), [
    (b"", "empty file"),
    (b" \n\t\n", "empty file"),
    (b"GIF89a\x01\x00\x00\x00text", "binary file (NUL bytes), not text"),
])
def test_text_file_errors(tmp_path: Path, data: bytes, error: str):
    path = tmp_path / "x.md"
    path.write_bytes(data)
    assert error_of(path) == error


def test_decode_keeps_utf8_first():
    assert decode("\u00e0 la caf\u00e9".encode()) == "\u00e0 la caf\u00e9"


# ---------------------------------------------------------------- HTML

PAGE = """<!DOCTYPE html>
<html><head><title>Agency site</title><meta charset="utf-8">
<style>p { color: red }</style>
<script>var s = "<p>not text</p>";</script></head>
<body>
<header><h1>Agency banner</h1></header>
<nav><ul><li>Home</li><li>About</li></ul></nav>
<main>
<h1>Case   report</h1>
<p>Her <b>passport</b> was
taken&nbsp;on arrival &amp; kept.</p>
<ul><li>Recruited online</li><li>Paid in bitcoin</li></ul>
<div hidden>hidden div</div><div style="color: red; display:none">invisible div</div>
<p>Line one<br>Line two</p>
<table><tr><th>Name</th><td>Cell B</td></tr></table>
<noscript>Enable JavaScript</noscript><template><p>template text</p></template>
<svg><text>svg label</text></svg>
<form><label>Email</label><input name="e"><button>Send</button></form>
<aside>Related stories</aside>
<pre>first   line
second line</pre>
</main>
<footer>Copyright 2024</footer>
</body></html>
"""

PAGE_TEXT = ("Case report\n\n"
             "Her passport was taken on arrival & kept.\n\n"
             "Recruited online\n\n"
             "Paid in bitcoin\n\n"
             "Line one\nLine two\n\n"
             "Name\n\n"
             "Cell B\n\n"
             "first line\nsecond line")


def test_html_visible_text_only(tmp_path: Path):
    path = tmp_path / "page.html"
    path.write_text(PAGE, encoding="utf-8")
    assert read_one(path) == Document(str(path), str(path), PAGE_TEXT)


def test_htm_extension_any_case(tmp_path: Path):
    path = tmp_path / "OLD.HTM"
    path.write_bytes(b"<p>One.</p><p>Two.</p>")
    assert read_one(path).text == "One.\n\nTwo."


def test_html_unclosed_skipped_element_ends_with_its_parent():
    markup = "<div>Before <nav>menu <b>items</div><p>After the menu.</p><aside><aside>x</aside>"
    assert html_to_text(markup + "y</aside><p>End.</p>") == "Before\n\nAfter the menu.\n\nEnd."


def test_html_end_tag_closes_elements_left_open_inside_it():
    assert html_to_text("<pre><b>x  y\nz</pre><p>a\n  b</p>") == "x y\nz\n\na b"


def test_html_inline_elements_do_not_split_words():
    assert html_to_text("<p>traf<b>fick</b>ing <i>victims</i></p>") == "trafficking victims"


POLISH = "Ofiary by\u0142y werbowane przez media spo\u0142eczno\u015bciowe."


@pytest.mark.parametrize(("head", "body", "text"), [
    # the declared charset decides (detection alone would read cp1252 here)
    ('<meta charset="windows-1250">', POLISH.encode("cp1250"), POLISH),
    ('<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-2">',
     POLISH.encode("iso-8859-2"), POLISH),
    # iso-8859-1 is read as windows-1252, as browsers do (curly quotes, euro sign)
    ("<meta charset='iso-8859-1'>", "\u201cA job\u201d for \u20ac500.".encode("cp1252"),
     "\u201cA job\u201d for \u20ac500."),
    # a stale declaration on a page that is valid UTF-8
    ('<meta charset="iso-8859-1">', "Caf\u00e9 \u2013 na\u00efve.".encode(),
     "Caf\u00e9 \u2013 na\u00efve."),
    # no declaration: detected
    ("", "Les victimes \u00e9taient recrut\u00e9es \u00e0 Paris.".encode("cp1252"),
     "Les victimes \u00e9taient recrut\u00e9es \u00e0 Paris."),
])
def test_html_charset(tmp_path: Path, head: str, body: bytes, text: str):
    path = tmp_path / "page.html"
    path.write_bytes(f"<html><head>{head}</head><body><p>".encode("ascii") + body + b"</p>")
    assert read_one(path).text == text


def test_declared_charset_names():
    assert declared_charset(b'<?xml version="1.0" encoding="KOI8-R"?><html>') == "koi8-r"
    assert declared_charset(b"<meta charset=utf-8>") == "utf-8"
    assert declared_charset(b'<meta charset="no-such-charset">') is None
    assert declared_charset(b"<p>charset=latin1 in text, not in a meta tag</p>") is None


@pytest.mark.parametrize(("data", "error"), [
    (b"<html><head><script>x()</script></head><body><nav>Menu</nav></body></html>",
     "no visible text"),
    (b"<html>\x00\x01\x02</html>", "binary file (NUL bytes), not text"),
])
def test_html_errors(tmp_path: Path, data: bytes, error: str):
    path = tmp_path / "page.html"
    path.write_bytes(data)
    assert error_of(path) == error


# ---------------------------------------------------------------- PDF

def test_pdf_pages_separated_by_blank_lines(tmp_path: Path, make_pdf):
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf([["Her passport was taken.", "She was sold online (twice)."],
                               [], ["Profits went to a crypto wallet."]]))
    assert read_one(path) == Document(
        str(path), str(path),
        "Her passport was taken.\nShe was sold online (twice).\n\nProfits went to a crypto wallet.")


def encrypted(pdf: bytes, user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_needing_a_password_is_an_error(tmp_path: Path, make_pdf):
    path = tmp_path / "locked.pdf"
    path.write_bytes(encrypted(make_pdf([["Secret text."]]), user_password="secret"))
    assert error_of(path) == "encrypted PDF (needs a password)"


def test_pdf_with_owner_password_only_is_read(tmp_path: Path, make_pdf):
    path = tmp_path / "restricted.pdf"
    path.write_bytes(encrypted(make_pdf([["Printing is restricted."]]), user_password=""))
    assert read_one(path).text == "Printing is restricted."


def test_pdf_needing_missing_crypto_library(tmp_path: Path, make_pdf, monkeypatch):
    def aes_reader(stream):
        raise pypdf.errors.DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(pypdf, "PdfReader", aes_reader)
    path = tmp_path / "aes.pdf"
    path.write_bytes(make_pdf([["x"]]))
    assert error_of(path) == ("encrypted PDF: cannot decrypt (cryptography>=3.1 is required "
                              "for AES algorithm; pip install cryptography)")


def test_pdf_without_text_layer(tmp_path: Path, make_pdf):
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([[], []]))
    assert error_of(path) == "no extractable text (scanned?)"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "not_pdf"])
def test_damaged_pdf(tmp_path: Path, make_pdf, damage: str, caplog):
    good = make_pdf([["Some text."]])
    data = {"truncated": good[: len(good) // 2], "garbage": b"%PDF-1.4\n" + b"\x13" * 300,
            "not_pdf": b"<html>saved web page</html>"}[damage]
    path = tmp_path / "bad.pdf"
    path.write_bytes(data)
    assert error_of(path).startswith("damaged PDF (")
    # pypdf's own warnings ("EOF marker not found") name no file: they are kept quiet
    assert [r.getMessage() for r in caplog.records if r.name.startswith("pypdf")] == []


# ---------------------------------------------------------------- DOCX

def test_docx_paragraphs_and_tables_in_order(tmp_path: Path):
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "CONFIDENTIAL (page header)"
    document.add_heading("Witness statement", level=1)
    document.add_paragraph("Her passport was taken.")
    document.add_paragraph("   ")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Recruited online"
    table.cell(0, 1).text = "Paid in bitcoin"
    table.cell(0, 0).add_table(rows=1, cols=1).cell(0, 0).text = "Nested cell"
    table.cell(1, 0).merge(table.cell(1, 1)).text = "Merged across two columns"
    document.add_paragraph("After the table.")
    path = tmp_path / "statement.docx"
    document.save(path)
    assert read_one(path).text == ("Witness statement\n\nHer passport was taken.\n\n"
                                   "Recruited online\n\nNested cell\n\nPaid in bitcoin\n\n"
                                   "Merged across two columns\n\nAfter the table.")


def test_docx_without_text(tmp_path: Path):
    path = tmp_path / "blank.docx"
    docx.Document().save(path)
    assert error_of(path) == "no text in document"


def test_damaged_docx(tmp_path: Path):
    good = tmp_path / "good.docx"
    document = docx.Document()
    document.add_paragraph("Text.")
    document.save(good)
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(good.read_bytes()[:300])
    assert error_of(truncated) == "damaged DOCX (File is not a zip file)"
    other_zip = tmp_path / "other.docx"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("hello.txt", "not a Word package")
    assert error_of(other_zip).startswith("damaged DOCX (")
    ole = tmp_path / "protected.docx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    assert error_of(ole).startswith("not a .docx package: password-protected, or an old Word")


# ---------------------------------------------------------------- tables

def test_parquet_rows(tmp_path: Path):
    path = tmp_path / "ads.parquet"
    pd.DataFrame({"id": ["a1", None, "a3", "a4"],
                  "text": ["First ad.", "Second ad.", None, "  "],
                  "views": [1, 2, 3, 4]}).to_parquet(path)
    docs = list(read_path(path, ReadOptions()))
    assert docs == [
        Document("a1", f"{path}:row 1", "First ad."),
        Document(f"{path}:row 2", f"{path}:row 2", "Second ad."),
        Document("a3", f"{path}:row 3", error="missing 'text' field"),
        Document("a4", f"{path}:row 4", error="empty 'text' field"),
    ]


def test_parquet_chosen_columns_and_integer_ids(tmp_path: Path):
    path = tmp_path / "ads.parquet"
    pd.DataFrame({"ad_id": pd.array([7, None], dtype="Int64"),
                  "body": ["Seven.", "No id."]}).to_parquet(path)
    docs = list(read_path(path, ReadOptions(text_column="body", id_column="ad_id")))
    assert [(d.id, d.text) for d in docs] == [("7", "Seven."), (f"{path}:row 2", "No id.")]
    assert error_of(path) == "no 'text' column (columns: ad_id, body); use --text-column"


def test_parquet_errors(tmp_path: Path):
    empty = tmp_path / "empty.parquet"
    pd.DataFrame({"text": pd.Series([], dtype="string")}).to_parquet(empty)
    assert error_of(empty) == "no rows"
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(b"PAR1 this is not really parquet PAR1")
    assert error_of(damaged).startswith("damaged Parquet file (")


@pytest.mark.parametrize(("name", "content"), [
    ("header_only.csv", "id,text\n"),
    ("blank_lines.jsonl", "\n  \n"),
])
def test_table_without_rows(tmp_path: Path, name: str, content: str):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert error_of(path) == "no rows"


# ---------------------------------------------------------------- files and folders

def test_too_large_is_checked_before_reading(tmp_path: Path, make_pdf, monkeypatch):
    path = tmp_path / "big.pdf"
    path.write_bytes(make_pdf([["Some text."]]))
    size = path.stat().st_size
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("file was read"))
    assert error_of(path, max_bytes=100) == f"file too large ({size} bytes > 100)"


def test_symlink_loop_is_one_error_record(tmp_path: Path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "top.txt").write_text("Top.", encoding="utf-8")
    (root / "sub" / "deep.txt").write_text("Deep.", encoding="utf-8")
    (root / "sub" / "loop").symlink_to("..", target_is_directory=True)
    (root / "sub" / "self").symlink_to(".", target_is_directory=True)
    docs = list(read_inputs([str(root)]))
    assert [(d.id, d.text) for d in docs] == [
        (f"{root}/top.txt", "Top."), (f"{root}/sub/deep.txt", "Deep."),
        (f"{root}/sub/loop", None), (f"{root}/sub/self", None)]
    assert docs[2].error == "symlink loop: it points to .., a folder that contains it"
    assert docs[3].error == "symlink loop: it points to ., a folder that contains it"


def test_symlink_loop_through_an_outside_folder(tmp_path: Path):
    root, outside = tmp_path / "in", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (outside / "x.txt").write_text("Outside.", encoding="utf-8")
    (outside / "back").symlink_to(root, target_is_directory=True)
    (root / "link").symlink_to(outside, target_is_directory=True)
    docs = list(read_inputs([str(root)]))
    assert [(d.id, d.text) for d in docs] == [(f"{root}/link/x.txt", "Outside."),
                                               (f"{root}/link/back", None)]
    assert docs[1].error.startswith("symlink loop: it points to ")


def test_symlinked_folders_are_read_once(tmp_path: Path):
    root, outside = tmp_path / "in", tmp_path / "shared"
    (root / "real").mkdir(parents=True)
    outside.mkdir()
    (root / "real" / "r.txt").write_text("Real.", encoding="utf-8")
    (outside / "s.txt").write_text("Shared.", encoding="utf-8")
    (root / "a_link").symlink_to(outside, target_is_directory=True)
    (root / "b_link").symlink_to(outside, target_is_directory=True)
    (root / "0_latest").symlink_to("real", target_is_directory=True)  # sorts before real/
    docs = list(read_inputs([str(root)]))
    assert [(d.id, d.text, d.error) for d in docs] == [
        (f"{root}/real/r.txt", "Real.", None),
        (f"{root}/0_latest", None, f"symlink to a folder already read as {root}/real"),
        (f"{root}/a_link/s.txt", "Shared.", None),
        (f"{root}/b_link", None, f"symlink to a folder already read as {root}/a_link"),
    ]


def test_symlink_to_a_parent_of_the_input_is_a_loop(tmp_path: Path):
    root = tmp_path / "in"
    root.mkdir()
    (tmp_path / "beside.txt").write_text("Not part of the input.", encoding="utf-8")
    (root / "up").symlink_to("..", target_is_directory=True)
    link = str(root / "up")
    assert list(read_inputs([str(root)])) == [
        Document(link, link, error="symlink loop: it points to .., a folder that contains it")]


def test_folder_met_again_inside_a_followed_symlink(tmp_path: Path):
    root, shared = tmp_path / "in", tmp_path / "shared"
    root.mkdir()
    (shared / "sub").mkdir(parents=True)
    (shared / "top.txt").write_text("Top.", encoding="utf-8")
    (shared / "sub" / "s.txt").write_text("Sub.", encoding="utf-8")
    (root / "a_sub").symlink_to(shared / "sub", target_is_directory=True)
    (root / "b_all").symlink_to(shared, target_is_directory=True)
    docs = list(read_inputs([str(root)]))
    assert [(d.id, d.text, d.error) for d in docs] == [
        (f"{root}/a_sub/s.txt", "Sub.", None),
        (f"{root}/b_all/top.txt", "Top.", None),
        (f"{root}/b_all/sub", None, f"folder already read as {root}/a_sub")]


def test_file_symlinks(tmp_path: Path):
    root = tmp_path / "in"
    root.mkdir()
    (root / "self.txt").symlink_to("self.txt")
    (root / "gone.txt").symlink_to("missing.txt")
    docs = list(read_inputs([str(root)]))
    assert [(d.id, d.error) for d in docs] == [(f"{root}/gone.txt", "No such file or directory"),
                                               (f"{root}/self.txt", "symlink loop")]


def test_unreadable_folder(tmp_path: Path, monkeypatch):
    root = tmp_path / "in"
    (root / "locked").mkdir(parents=True)
    (root / "ok.txt").write_text("Fine.", encoding="utf-8")
    real = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    docs = list(read_inputs([str(root)]))
    assert [(d.id, d.text, d.error) for d in docs] == [
        (f"{root}/ok.txt", "Fine.", None),
        (f"{root}/locked", None, "cannot read folder: Permission denied")]


def test_fifo_is_not_read(tmp_path: Path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    (doc,) = read_inputs([str(tmp_path)])  # reading it would block forever
    assert doc == Document(str(fifo), str(fifo), error="not a regular file (use - to read stdin)")


def test_hidden_files_skipped_in_folders_but_read_when_named(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("Git internals.", encoding="utf-8")
    (tmp_path / "._report.pdf").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (tmp_path / ".notes.txt").write_text("Hidden notes.", encoding="utf-8")
    (tmp_path / "visible.txt").write_text("Visible.", encoding="utf-8")
    assert [d.text for d in read_inputs([str(tmp_path)])] == ["Visible."]
    assert [d.text for d in read_inputs([str(tmp_path / ".notes.txt")])] == ["Hidden notes."]


def test_folder_named_like_a_file(tmp_path: Path):
    folder = tmp_path / "archive.txt"
    folder.mkdir()
    assert error_of(folder) == "a folder, not a file"


# ---------------------------------------------------------------- the registry

def test_register_reader(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(inputs, "READERS", dict(READERS))
    register_reader("RTF", whole_file(lambda path, options: path.read_text().upper()))
    path = tmp_path / "notes.Rtf"
    path.write_text("recruited online", encoding="utf-8")
    assert read_one(path) == Document(str(path), str(path), "RECRUITED ONLINE")
    blank = tmp_path / "blank.rtf"
    blank.write_text("   ", encoding="utf-8")
    assert error_of(blank) == "no text"
    assert ".rtf" not in READERS  # the module's own table is untouched by this test


def test_reader_failing_midway_keeps_rows_and_adds_one_error(tmp_path: Path, monkeypatch):
    def rows(path: Path, options: ReadOptions):
        yield Document("r1", f"{path}:1", "First row.")
        raise ValueError("row 2 is broken")

    monkeypatch.setitem(READERS, ".rows", rows)
    path = tmp_path / "x.rows"
    path.write_text("anything", encoding="utf-8")
    assert list(read_path(path, ReadOptions())) == [
        Document("r1", f"{path}:1", "First row."),
        Document(str(path), str(path), error="row 2 is broken")]


def test_register_reader_rejects_nonsense():
    with pytest.raises(ValueError, match="need an extension and a reader"):
        register_reader(".", whole_file(lambda path, options: ""))


# ---------------------------------------------------------------- hostile tables (issue 13)

def test_nul_in_one_csv_row_is_that_rows_error_only(tmp_path: Path):
    path = tmp_path / "r.csv"
    path.write_bytes(b"id,text\nr1,job offer on facebook\nr2,bad\x00cell\nr3,passport taken\n")
    docs = list(read_path(path, ReadOptions()))
    assert [(d.id, d.text) for d in docs] == [
        ("r1", "job offer on facebook"), ("r2", None), ("r3", "passport taken")]
    assert docs[1].source == f"{path}:3" and "NUL" in docs[1].error


def test_nul_in_one_jsonl_line_is_that_lines_error_only(tmp_path: Path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"id": "a", "text": "fine"}\n{"id": "b", "text": "ba\x00d"}\n'
                     b'{"id": "c", "text": "also fine"}\n')
    docs = list(read_path(path, ReadOptions()))
    assert [(d.id, d.text) for d in docs] == [("a", "fine"), ("b", None), ("c", "also fine")]
    assert docs[1].source == f"{path}:2" and "NUL" in docs[1].error


def test_stray_nul_in_a_long_table_cell_is_removed_with_a_warning(tmp_path: Path):
    path = tmp_path / "r.csv"
    text = "Her passport was taken on arrival. " * 10
    path.write_bytes(b"id,text\nr1," + text.encode() + b"\x00\n")
    with pytest.warns(UserWarning, match=r"r\.csv:2: removed 1 stray NUL"):
        (doc,) = read_path(path, ReadOptions())
    assert doc.text == text


def test_utf16_csv_without_bom_is_one_binary_error(tmp_path: Path):
    path = tmp_path / "u.csv"
    path.write_bytes("id,text\nr1,job offer\n".encode("utf-16-le"))
    assert error_of(path) == "binary file (NUL bytes), not text"


def test_stray_nuls_in_a_text_file_are_removed_with_a_warning(tmp_path: Path):
    path = tmp_path / "note.txt"
    text = "Her passport was taken on arrival and she was moved abroad. " * 4
    path.write_bytes(text[:100].encode() + b"\x00" + text[100:].encode())
    with pytest.warns(UserWarning, match=r"note\.txt: removed 1 stray NUL"):
        assert read_one(path).text == text


def test_csv_cell_over_the_csv_field_limit_keeps_later_rows(tmp_path: Path):
    import csv

    path = tmp_path / "big.csv"
    big = "y" * (csv.field_size_limit() + 10)
    path.write_text(f"id,text\n1,first\n2,{big}\n3,third\n", encoding="utf-8")
    docs = list(read_path(path, ReadOptions()))
    assert [(d.id, d.error) for d in docs] == [("1", None), ("2", None), ("3", None)]
    assert docs[1].text == big and docs[2].text == "third"


def test_bad_csv_row_is_an_error_record_and_later_rows_are_read(tmp_path: Path, monkeypatch):
    import csv

    path = tmp_path / "r.csv"
    path.write_text("id,text\n1,first\n2,second\n3,third\n", encoding="utf-8")
    real = csv.DictReader.__next__
    calls = []

    def flaky(self):
        calls.append(1)
        if len(calls) == 2:
            self.reader.__next__()  # the parser consumes the bad line, then fails
            raise csv.Error("field larger than field limit (131072)")
        return real(self)

    monkeypatch.setattr(csv.DictReader, "__next__", flaky)
    docs = list(read_path(path, ReadOptions()))
    assert [(d.id, d.text) for d in docs] == [("1", "first"), (f"{path}:3", None),
                                              ("3", "third")]
    assert "field larger than field limit" in docs[1].error


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_jsonl_text_holding_unicode_line_separators_is_one_row(tmp_path: Path, separator):
    import json

    path = tmp_path / "r.jsonl"
    rows = [{"id": "a", "text": f"one{separator}two"}, {"id": "b", "text": "three"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    docs = list(read_path(path, ReadOptions()))
    assert [(d.id, d.text, d.error) for d in docs] == [("a", f"one{separator}two", None),
                                                       ("b", "three", None)]
    assert docs[1].source == f"{path}:2"


# ---------------------------------------------------------------- unpacked size (item 18)

def test_docx_is_limited_by_its_unzipped_size(tmp_path: Path):
    path = tmp_path / "bomb.docx"
    document = docx.Document()
    for _ in range(200):
        document.add_paragraph("The recruiter kept her passport. " * 100)
    document.save(path)
    zipped = path.stat().st_size
    with zipfile.ZipFile(path) as package:
        unzipped = sum(m.file_size for m in package.infolist())
    assert unzipped > 4 * zipped
    limit = zipped * 2
    assert error_of(path, max_bytes=limit) == (f"too large when unzipped ({unzipped} bytes "
                                               f"> {limit})")
    assert read_one(path, max_bytes=unzipped).error is None


def test_parquet_is_limited_by_its_decompressed_text(tmp_path: Path):
    path = tmp_path / "rows.parquet"
    texts = [f"Row {i}: the recruiter kept her passport. " * 50 for i in range(200)]
    pd.DataFrame({"id": range(200), "text": texts}).to_parquet(path)
    size = path.stat().st_size
    assert sum(map(len, texts)) > 4 * size
    assert error_of(path, max_bytes=size * 2).startswith("too large when decompressed")
    assert len(list(read_path(path, ReadOptions()))) == 200


def test_pdf_text_beyond_the_limit_stops_reading(tmp_path: Path, make_pdf, monkeypatch):
    path = tmp_path / "streams.pdf"
    path.write_bytes(make_pdf([["The recruiter kept her passport."]] * 3))
    limit = path.stat().st_size  # the file itself passes the limit
    calls = []

    def inflated(page, *args, **kwargs):  # what a page of compressed streams unpacks to
        calls.append(page)
        return "x" * (limit // 2 + 1)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", inflated)
    assert error_of(path, max_bytes=limit).startswith("too much text (more than")
    assert len(calls) == 2  # stopped at the page that passed the limit


def test_registered_reader_text_is_limited_too(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(READERS, ".zz", whole_file(lambda p, o: "unpacked text " * 1000))
    path = tmp_path / "small.zz"
    path.write_bytes(b"tiny")
    assert error_of(path, max_bytes=100) == "text too large (14000 bytes > 100)"
