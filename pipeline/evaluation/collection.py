"""The collection evidence report: one self-contained HTML page over predict's outputs.

``trafficlens report`` reads one or more outputs of ``predict``: document records
(labels by the document rule, scores, quoted evidence, read errors) and/or sentence
records (``--level sentence``: every sentence with its labels and scores). Records are
joined by document id, so giving both outputs of one collection shows each document's
labels *and* every sentence in context. With document records alone, a document shows
its quoted evidence only, and the matrix still counts every sentence (from the
records' ``same_sentence`` tables).

The page holds the data once, as JSON in a non-executed ``<script type=
"application/json">`` block, and builds everything with DOM calls that set text, never
markup, so no text from the data can run or break the page.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.errors import PipelineError
from pipeline.evaluation.summarize import STAGE, TECHNOLOGY, is_sentence_level, iter_predictions
from pipeline.text.pii import PiiMasker

#: Characters escaped inside the JSON block so that no text can end the block or open a
#: comment (``</script>``, ``<!--``), nor break a line in older parsers.
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                 "\u2029": "\\u2029"}


Key = tuple[str, str]  # (label set, label)


_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class _Sentence:
    position: int | None  # 1-based, from sentence records; None for a quote
    start: int
    end: int
    text: str
    labels: dict[Key, float]  # the labels it carries, with their scores


@dataclass
class _Doc:
    id: str
    source: str = ""
    n_sentences: int | None = None
    labels: list[Key] | None = None  # by the document rule, if a document record came
    scores: dict[Key, float] = field(default_factory=dict)
    error: str | None = None
    same_sentence: dict[str, dict[str, int]] | None = None
    quotes: dict[tuple[int, int], _Sentence] = field(default_factory=dict)  # by offsets
    sentences: dict[int, _Sentence] = field(default_factory=dict)  # by position

    @property
    def complete(self) -> bool:
        """Every sentence is known: sentence records, as many as the document has."""
        return bool(self.sentences) and (self.n_sentences is None
                                         or len(self.sentences) >= self.n_sentences)

    def shown(self) -> list[_Sentence]:
        """The sentences the page holds, in document order: the sentence records, and
        the quotes of sentences they lack (all quotes when there are no sentence
        records; those the records miss when the sentence file was cut short)."""
        held = list(self.sentences.values())
        if not self.complete:
            spans = {(x.start, x.end) for x in held}
            held += [q for span, q in self.quotes.items() if span not in spans]
        return sorted(held, key=lambda x: (x.start, x.position or 0, x.end))


@dataclass(frozen=True)
class Collection:
    """Documents of one or more predict outputs, joined by id, in first-seen order."""

    docs: list[_Doc]
    inputs: list[str]
    label_sets: dict[str, list[str]]


def read_collection(paths: Sequence[Path], order: dict[str, list[str]] | None = None
                    ) -> Collection:
    """Read predict outputs (JSONL, CSV or Parquet) and join their records by document.

    A document id given twice at the same level (two document records, or one
    sentence twice) is an error naming both places: the report would not know which
    record to show. Values of the wrong type (a score that is not a finite number,
    evidence that is not a list) are left out, as if absent.
    """
    docs: dict[str, _Doc] = {}
    seen: dict[tuple[str, str], str] = {}
    label_sets = {s: list(labs) for s, labs in (order or {}).items()}

    def note_labels(set_name: str, labs: Any) -> None:
        have = label_sets.setdefault(set_name, [])
        have += [lab for lab in labs if lab not in have]

    for path in paths:
        for n, r in enumerate(iter_predictions(Path(path)), 1):
            sentence_level = is_sentence_level([r])
            place = f"{path}: record {n}"
            for s, scores in _tables(r.get("scores")):  # every label, in order
                note_labels(s, scores)
            for s, labs in r["labels"].items():
                note_labels(s, labs)
            doc_id = str(r.get("doc_id") if sentence_level else r.get("id"))
            doc = docs.setdefault(doc_id, _Doc(doc_id))
            doc.source = doc.source or _text(r.get("source")) or ""
            if sentence_level:
                _add_sentence(doc, r, place, seen)
            else:
                _add_document(doc, r, place, seen)
    return Collection(list(docs.values()), [str(p) for p in paths], label_sets)


def _tables(value: Any) -> list[tuple[str, dict[str, Any]]]:
    """The (set, table) pairs of a per-set mapping, skipping what is not a table."""
    if not isinstance(value, dict):
        return []
    return [(str(s), t) for s, t in value.items() if isinstance(t, dict)]


def _add_document(doc: _Doc, r: dict[str, Any], place: str, seen: dict) -> None:
    key = ("document", doc.id)
    if key in seen:
        raise PipelineError(f"{place}: document {doc.id!r} is already in {seen[key]}; give "
                            "report one predict output per level of a collection")
    seen[key] = place
    n = _int(r.get("n_sentences"))
    doc.n_sentences = n if n is not None and n >= 0 else None
    doc.labels = [(s, lab) for s, labs in r["labels"].items() for lab in labs]
    doc.scores = {(s, lab): v for s, table in _tables(r.get("scores"))
                  for lab, raw in table.items() if (v := _score(raw)) is not None}
    doc.error = doc.error or _text(r.get("error"))
    doc.same_sentence = r.get("same_sentence")
    for s, table in _tables(r.get("evidence")):
        for lab, quotes in table.items():
            for q in quotes if isinstance(quotes, list) else ():
                start = _int(q.get("start")) if isinstance(q, dict) else None
                if start is None or start < 0:
                    continue
                end = max(start, _int(q.get("end")) or start)
                entry = doc.quotes.setdefault((start, end), _Sentence(
                    None, start, end, _text(q.get("text")) or "", {}))
                score = _score(q.get("score"))
                if score is not None:
                    entry.labels[(s, lab)] = score


def _add_sentence(doc: _Doc, r: dict[str, Any], place: str, seen: dict) -> None:
    doc.error = doc.error or _text(r.get("error"))
    position = _int(r.get("sentence"))
    if position is None:  # the record of an unreadable or empty document
        return
    key = ("sentence", f"{doc.id}#{position}")
    if key in seen:
        raise PipelineError(f"{place}: sentence {position} of document {doc.id!r} is already "
                            f"in {seen[key]}; give report one predict output per level of a "
                            "collection")
    seen[key] = place
    start = max(0, _int(r.get("start")) or 0)
    end = max(start, _int(r.get("end")) or start)
    scores = dict(_tables(r.get("scores")))
    carried = {(s, lab): _score((scores.get(s) or {}).get(lab)) or 0.0
               for s, labs in r["labels"].items() for lab in labs}
    doc.sentences[position] = _Sentence(position, start, end, _text(r.get("text")) or "",
                                        carried)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _score(value: Any) -> float | None:
    """A score that is a finite number, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _text(value: Any) -> str | None:
    return None if value is None or value != value else str(value)


def report_data(collection: Collection, masker: PiiMasker | None = None,
                title: str = "trafficlens collection report") -> dict[str, Any]:
    """The page's data: documents, each sentence once (column-wise), the stage x
    technology matrix, and counts; sentence text masked when ``masker`` is given."""
    sets = collection.label_sets
    labels = [(s, lab) for s, labs in sets.items() for lab in labs]
    index = {lab: i for i, lab in enumerate(labels)}
    docs: dict[str, list[Any]] = {k: [] for k in ("id", "source", "n", "error", "labels",
                                                  "scores", "complete")}
    sents: dict[str, list[Any]] = {k: [] for k in ("doc", "pos", "start", "end", "text",
                                                   "labels")}
    stages, techs = sets.get(STAGE, []), sets.get(TECHNOLOGY, [])
    matrix = [[0] * len(techs) for _ in stages]
    for d, doc in enumerate(collection.docs):
        shown = doc.shown()
        docs["id"].append(doc.id)
        docs["source"].append(doc.source)
        docs["n"].append(doc.n_sentences if doc.n_sentences is not None
                         else (len(doc.sentences) if doc.sentences else None))
        docs["error"].append(doc.error)
        docs["labels"].append(None if doc.labels is None else [index[x] for x in doc.labels
                                                                if x in index])
        docs["scores"].append([[index[x], round(v, 4)] for x, v in doc.scores.items()
                               if x in index])
        docs["complete"].append(doc.complete)
        texts = [x.text for x in shown]
        if masker is not None and texts:
            texts = masker.mask_texts(texts)
        for x, text in zip(shown, texts, strict=True):
            sents["doc"].append(d)
            sents["pos"].append(x.position)
            sents["start"].append(x.start)
            sents["end"].append(x.end)
            sents["text"].append(text)
            sents["labels"].append([[index[k], round(v, 4)] for k, v in x.labels.items()
                                    if k in index])
        # the matrix counts every sentence: from the sentences when all are known, else
        # from the document record's same_sentence table, else from what is held
        if doc.complete or not isinstance(doc.same_sentence, dict):
            counted = doc.sentences.values() if doc.sentences else shown
            for x in counted:
                for a, st in enumerate(stages):
                    if (STAGE, st) in x.labels:
                        for b, te in enumerate(techs):
                            matrix[a][b] += (TECHNOLOGY, te) in x.labels
        else:
            for a, st in enumerate(stages):
                row = doc.same_sentence.get(st)
                for b, te in enumerate(techs):
                    n = row.get(te, 0) if isinstance(row, dict) else 0
                    matrix[a][b] += n if isinstance(n, int) and n > 0 else 0
    readable = [i for i, e in enumerate(docs["error"]) if e is None]
    return {
        "title": title,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "inputs": collection.inputs,
        "masked": masker is not None and bool(masker.kinds),
        "sets": [[s, list(labs)] for s, labs in sets.items()],
        "labels": [list(k) for k in labels],
        "docs": docs,
        "sents": sents,
        "matrix": {"rows": list(stages), "cols": list(techs), "counts": matrix},
        "summary": {
            "documents": len(collection.docs),
            "errors": len(collection.docs) - len(readable),
            "sentences": sum(n or 0 for n in docs["n"]),
            "complete": sum(docs["complete"]),
            "with_labels": sum(v is not None for v in docs["labels"]),
        },
    }


def _asset(name: str) -> str:
    return resources.files("pipeline.evaluation").joinpath("assets", name).read_text("utf-8")


def embedded_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script type="application/json">`` block."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = _SURROGATE.sub("\ufffd", text)  # lone surrogates of broken input: not UTF-8
    for char, escape in _JSON_ESCAPES.items():
        text = text.replace(char, escape)
    return text


def render_html(data: dict[str, Any]) -> str:
    """The self-contained page: the template with its style, script and data inlined.

    Its Content-Security-Policy allows only this style sheet and this script (by hash)
    and no network access at all, so even markup that reached the page could neither
    run nor fetch anything.
    """
    style, script = _asset("collection.css"), _asset("collection.js")
    policy = ("default-src 'none'; img-src data:; "
              f"style-src '{_sha256(style)}'; script-src '{_sha256(script)}'")
    head, rest = _asset("collection.html").split("/*STYLE*/")
    middle, rest = rest.split("/*DATA*/")
    before, tail = rest.split("/*SCRIPT*/")
    return "".join([head.replace("/*POLICY*/", policy), style, middle, embedded_json(data),
                    before, script, tail])


def _sha256(text: str) -> str:
    import base64
    import hashlib

    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def write_collection_report(paths: Sequence[Path], out: Path,
                            order: dict[str, list[str]] | None = None,
                            masker: PiiMasker | None = None,
                            title: str = "trafficlens collection report") -> dict[str, Any]:
    """Read predict outputs, write the HTML report to ``out``; return its summary."""
    from pipeline.io.outputs import write_text

    data = report_data(read_collection(paths, order), masker, title)
    write_text(Path(out), render_html(data))
    return data["summary"]
