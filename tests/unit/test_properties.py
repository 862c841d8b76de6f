"""Property-based tests (hypothesis): arbitrary input never crashes a run or corrupts it.

Examples are bounded so CI stays fast; long documents are built by repetition.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.batch.predict import predict_documents
from pipeline.io.inputs import Document, ReadOptions, read_inputs, read_path
from pipeline.io.outputs import write_records
from pipeline.text.preprocess import Preprocessor

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
# every code point class, including controls, format marks (zero-width, right-to-left),
# NUL and lone surrogates
ANY_CHAR = st.characters(codec=None, categories=None)
SPECIALS = st.sampled_from(["\x00", "\u200b", "\u200e", "\u202e", "\ufeff", "\ud800", "\udfff",
                            "\r\n", "\n\n", "\t", "  ", "http://x.example/a?b", "a@b.example",
                            "€5", "...", "🙂"])
TEXT = st.lists(st.one_of(st.text(ANY_CHAR, max_size=40), SPECIALS), max_size=30).map("".join)


@st.composite
def documents(draw) -> str:
    """Texts from empty to about 200,000 characters, with long tokens and lines."""
    base = draw(TEXT)
    kind = draw(st.sampled_from(["plain", "repeat", "long_token", "whitespace"]))
    if kind == "repeat" and base:
        return (base + " ") * draw(st.integers(1, 200_000 // (len(base) + 1)))
    if kind == "long_token":
        return base + "x" * draw(st.integers(1, 120_000))
    if kind == "whitespace":
        return draw(st.text(st.sampled_from(" \t\n\r\u00a0\u2003"), max_size=500))
    return base


@SETTINGS
@given(data=st.binary(max_size=3000))
def test_any_bytes_in_a_text_file_give_exactly_one_document(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.txt"
        path.write_bytes(data)
        docs = list(read_path(path, ReadOptions()))
    assert len(docs) == 1
    doc = docs[0]
    assert (doc.text is None) != (doc.error is None)
    if doc.text is not None:
        assert doc.text.strip()


@SETTINGS
@given(text=TEXT)
def test_any_text_in_jsonl_and_stdin_gives_one_record_each(text):
    import json

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docs.jsonl"
        line = json.dumps({"id": "d1", "text": text})  # escapes surrogates as \\ud800
        path.write_text(line + "\n", encoding="utf-8")
        docs = list(read_inputs([str(path), "-"], stdin=io.StringIO(text)))
    assert [d.id for d in docs] == ["d1", "stdin"]


@SETTINGS
@given(text=documents())
def test_preprocessing_offsets_slice_the_original_text(text, preprocessor):
    small = Preprocessor(preprocessor.settings, max_chars=50_000)
    sentences = list(small.stream([text]))
    assert len(sentences) == 1
    previous_end = 0
    for s in sentences[0]:
        assert 0 <= s.start < s.end <= len(text)
        assert s.start >= previous_end
        assert text[s.start:s.end].strip() == text[s.start:s.end]
        assert s.tokens and all(t and not t.isspace() for t in s.tokens)
        previous_end = s.end


@SETTINGS
@given(texts=st.lists(documents(), min_size=1, max_size=4))
def test_predict_one_record_per_document_with_valid_evidence(texts, model):
    docs = [Document(f"d{i}", "test", t) if t.strip() else Document(f"d{i}", "test", error="empty")
            for i, t in enumerate(texts)]
    first = list(predict_documents(model, docs))
    assert [r["id"] for r in first] == [d.id for d in docs]
    for doc, record in zip(docs, first, strict=True):
        for scores in record["scores"].values():
            assert all(0.0 <= v <= 1.0 for v in scores.values())
        for by_label in record["evidence"].values():
            for items in by_label.values():
                for e in items:
                    assert doc.text[e["start"]:e["end"]] == e["text"]
    assert list(predict_documents(model, docs)) == first  # same input, same output
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("out.jsonl", "out.csv"):
            out = Path(tmp) / name
            assert write_records(first, out) == len(docs)
            out.read_bytes().decode("utf-8")  # valid UTF-8 whatever the input held
