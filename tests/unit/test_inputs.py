"""pipeline.io.inputs: every input document gives exactly one Document."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pipeline.io.inputs import Document, ReadOptions, decode, read_inputs, read_path


def by_id(docs: list[Document]) -> dict[str, Document]:
    out = {d.id: d for d in docs}
    assert len(out) == len(docs), "document ids are not unique"
    return out


def test_folder_gives_one_document_per_input_document(input_folder):
    docs = list(read_inputs([str(input_folder.root)]))
    found = by_id(docs)
    assert set(found) == input_folder.ids
    for doc_id, text in input_folder.texts.items():
        assert found[doc_id].text == text and found[doc_id].error is None
    for doc_id, fragment in input_folder.errors.items():
        assert found[doc_id].text is None
        assert fragment in found[doc_id].error


def test_folder_order_is_stable_and_sorted(input_folder):
    ids = [d.id for d in read_inputs([str(input_folder.root)])]
    assert ids == [d.id for d in read_inputs([str(input_folder.root)])]
    root = str(input_folder.root)
    assert ids[:2] == [f"{root}/a.txt", f"{root}/b.md"]
    # files of a folder before its subfolders; folders reached by a symlink last
    assert ids[-2:] == [f"{root}/sub/nested.txt", f"{root}/sub/loop"]
    assert ids.index("q1") < ids.index("q2") < ids.index(f"{root}/n_notes.rtf")
    assert not any("/." in i for i in ids)  # hidden files give no record


def test_latin1_file_is_decoded(input_folder):
    (doc,) = read_path(input_folder.root / "g_latin1.txt", ReadOptions())
    assert doc.error is None
    assert doc.text.startswith("Caf\u00e9 workers") and "caf\u00e9 kitchen" in doc.text


def test_unreadable_file_becomes_error_record(input_folder):
    (doc,) = read_path(input_folder.locked, ReadOptions())
    assert doc == Document(str(input_folder.locked), str(input_folder.locked),
                           error="Permission denied")


def test_jsonl_rows(input_folder):
    docs = list(read_path(input_folder.root / "c.jsonl", ReadOptions()))
    path = input_folder.root / "c.jsonl"
    assert [(d.id, d.source) for d in docs] == [("j1", f"{path}:1"), ("j2", f"{path}:3"),
                                                ("j3", f"{path}:4")]
    assert docs[2].error == "missing 'text' field"


def test_jsonl_bad_lines(tmp_path: Path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "No id here."}\nnot json\n[1]\n{"id": 5, "text": "  "}\n',
                    encoding="utf-8")
    docs = list(read_path(path, ReadOptions()))
    assert [d.id for d in docs] == [f"{path}:1", f"{path}:2", f"{path}:3", "5"]
    assert docs[0].text == "No id here."
    assert docs[1].error.startswith("bad JSON")
    assert docs[2].error == "expected a JSON object"
    assert docs[3].error == "empty 'text' field"


def test_csv_rows_and_columns(tmp_path: Path):
    path = tmp_path / "ads.csv"
    path.write_text('ad_id,body\na1,"Line one,\nline two"\na2,Second ad\n', encoding="utf-8")
    docs = list(read_path(path, ReadOptions(text_column="body", id_column="ad_id")))
    assert [(d.id, d.text) for d in docs] == [("a1", "Line one,\nline two"), ("a2", "Second ad")]
    assert docs[1].source == f"{path}:4"  # header is line 1; a1 spans lines 2-3
    (missing,) = read_path(path, ReadOptions())  # no "text" column: one error record
    assert missing.id == str(path) and "no 'text' column" in missing.error
    assert "ad_id, body" in missing.error


def test_unsupported_and_missing(tmp_path: Path):
    (tmp_path / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0 Word 97")
    (tmp_path / "README").write_text("No extension.", encoding="utf-8")
    docs = list(read_inputs([str(tmp_path / "old.doc"), str(tmp_path / "nope.txt"),
                             str(tmp_path / "README")]))
    assert docs[0].error.startswith("unsupported file type '.doc' (supported: .csv, .docx, ")
    assert docs[1] == Document(str(tmp_path / "nope.txt"), str(tmp_path / "nope.txt"),
                               error="no such file or directory")
    assert docs[2].error.startswith("unsupported file without an extension (supported: ")


def test_too_large(tmp_path: Path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 100, encoding="utf-8")
    (doc,) = read_path(path, ReadOptions(max_bytes=50))
    assert doc.error.startswith("file too large (500 bytes > 50)")


def test_stdin():
    (doc,) = read_inputs(["-"], stdin=io.StringIO("Her passport was taken.\n"))
    assert doc == Document("stdin", "stdin", "Her passport was taken.\n")
    (empty,) = read_inputs(["-"], stdin=io.StringIO("  \n"))
    assert empty.text is None and empty.error == "empty input on stdin"


def test_mixed_inputs_keep_argument_order(tmp_path: Path):
    a, b = tmp_path / "z.txt", tmp_path / "a.txt"
    a.write_text("First.", encoding="utf-8")
    b.write_text("Second.", encoding="utf-8")
    docs = list(read_inputs([str(a), "-", str(b)], stdin=io.StringIO("Middle.")))
    assert [d.text for d in docs] == ["First.", "Middle.", "Second."]


@pytest.mark.parametrize(("data", "text"), [
    (b"plain ascii", "plain ascii"),
    ("Caf\u00e9 \u2013 na\u00efve".encode(), "Caf\u00e9 \u2013 na\u00efve"),
    (b"\xef\xbb\xbfWith a BOM", "With a BOM"),
    ("Caf\u00e9 workers were forced to work without pay.".encode("latin-1"),
     "Caf\u00e9 workers were forced to work without pay."),
])
def test_decode(data: bytes, text: str):
    assert decode(data) == text


def test_decode_rejects_binary():
    with pytest.raises(ValueError, match="binary"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")  # NULs and not UTF-8


def test_decode_leaves_nuls_of_utf8_text_to_the_caller():
    assert decode(b"text\x00with NUL") == "text\x00with NUL"
