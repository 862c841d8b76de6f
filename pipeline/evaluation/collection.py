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


@dataclass
class _Sentence:
    position: int | None  # 1-based, from sentence records; None for a quote
    text: str
    labels: dict[str, float]  # "set:label" -> score, for the labels it carries


@dataclass
class _Doc:
    id: str
    source: str = ""
    file: str = ""  # the prediction file (and line) the document came from
    n_sentences: int | None = None
    labels: list[str] | None = None  # "set:label" by the document rule, if known
    scores: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    same_sentence: dict[str, dict[str, int]] | None = None
    sentences: dict[tuple[int, int], _Sentence] = field(default_factory=dict)  # by offsets
    complete: bool = False  # every sentence is known (sentence records)


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
    record to show.
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
            for s, scores in (r.get("scores") or {}).items():  # every label, in order
                if isinstance(scores, dict):
                    note_labels(s, scores)
            for s, labs in r["labels"].items():
                note_labels(s, labs)
            doc_id = str(r.get("doc_id") if sentence_level else r.get("id"))
            doc = docs.setdefault(doc_id, _Doc(doc_id))
            doc.source = doc.source or str(r.get("source") or "")
            if sentence_level:
                _add_sentence(doc, r, place, seen)
            else:
                _add_document(doc, r, place, seen)
    return Collection(list(docs.values()), [str(p) for p in paths], label_sets)


def _add_document(doc: _Doc, r: dict[str, Any], place: str, seen: dict) -> None:
    key = ("document", doc.id)
    if key in seen:
        raise PipelineError(f"{place}: document {doc.id!r} is already in {seen[key]}; give "
                            "report one predict output per level of a collection")
    seen[key] = place
    doc.file = doc.file or place
    doc.n_sentences = _int(r.get("n_sentences"))
    doc.labels = [f"{s}:{lab}" for s, labs in r["labels"].items() for lab in labs]
    doc.scores = {f"{s}:{lab}": float(v) for s, table in (r.get("scores") or {}).items()
                  if isinstance(table, dict) for lab, v in table.items() if _number(v)}
    doc.error = doc.error or _text(r.get("error"))
    doc.same_sentence = r.get("same_sentence")
    if doc.complete:  # its sentence records came first and hold every sentence
        return
    for s, table in (r.get("evidence") or {}).items():
        for lab, quotes in (table or {}).items() if isinstance(table, dict) else ():
            for q in quotes if isinstance(quotes, list) else ():
                if not isinstance(q, dict) or _int(q.get("start")) is None:
                    continue
                span = (int(q["start"]), _int(q.get("end")) or int(q["start"]))
                entry = doc.sentences.setdefault(span, _Sentence(None, _text(q.get("text"))
                                                                 or "", {}))
                if _number(q.get("score")):
                    entry.labels[f"{s}:{lab}"] = float(q["score"])


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
    if not doc.complete:  # sentence records replace quotes: they hold every sentence
        doc.sentences = {}
        doc.complete = True
    start = _int(r.get("start")) or 0
    span = (start, _int(r.get("end")) or start)
    scores = r.get("scores") or {}
    carried = {f"{s}:{lab}": float((scores.get(s) or {}).get(lab, 0.0))
               for s, labs in r["labels"].items() for lab in labs}
    doc.sentences[span] = _Sentence(position, _text(r.get("text")) or "", carried)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _text(value: Any) -> str | None:
    return None if value is None or value != value else str(value)


def report_data(collection: Collection, masker: PiiMasker | None = None,
                title: str = "trafficlens collection report") -> dict[str, Any]:
    """The page's data: documents, each sentence once (column-wise), the stage x
    technology matrix, and counts; sentence text masked when ``masker`` is given."""
    sets = collection.label_sets
    labels = [f"{s}:{lab}" for s, labs in sets.items() for lab in labs]
    index = {lab: i for i, lab in enumerate(labels)}
    docs: dict[str, list[Any]] = {k: [] for k in ("id", "source", "n", "error", "labels",
                                                  "scores", "complete")}
    sents: dict[str, list[Any]] = {k: [] for k in ("doc", "pos", "start", "end", "text",
                                                   "labels")}
    stages, techs = sets.get(STAGE, []), sets.get(TECHNOLOGY, [])
    matrix = [[0] * len(techs) for _ in stages]
    for d, doc in enumerate(collection.docs):
        docs["id"].append(doc.id)
        docs["source"].append(doc.source)
        docs["n"].append(doc.n_sentences if doc.n_sentences is not None
                         else (len(doc.sentences) if doc.complete else None))
        docs["error"].append(doc.error)
        docs["labels"].append(None if doc.labels is None else [index[x] for x in doc.labels
                                                                if x in index])
        docs["scores"].append([[index[x], round(v, 4)] for x, v in doc.scores.items()
                               if x in index])
        docs["complete"].append(doc.complete)
        spans = sorted(doc.sentences, key=lambda sp: (sp[0], sp[1]))
        texts = [doc.sentences[sp].text for sp in spans]
        if masker is not None and texts:
            texts = masker.mask_texts(texts)
        for sp, text in zip(spans, texts, strict=True):
            position, carried = doc.sentences[sp].position, doc.sentences[sp].labels
            sents["doc"].append(d)
            sents["pos"].append(position)
            sents["start"].append(sp[0])
            sents["end"].append(sp[1])
            sents["text"].append(text)
            sents["labels"].append([[index[x], round(v, 4)] for x, v in carried.items()
                                    if x in index])
            if doc.complete:
                for a, st in enumerate(stages):
                    if f"{STAGE}:{st}" in carried:
                        for b, te in enumerate(techs):
                            matrix[a][b] += f"{TECHNOLOGY}:{te}" in carried
        if not doc.complete and doc.same_sentence:
            for a, st in enumerate(stages):
                row = doc.same_sentence.get(st) or {}
                for b, te in enumerate(techs):
                    n = row.get(te, 0)
                    matrix[a][b] += n if isinstance(n, int) and n > 0 else 0
    readable = [i for i, e in enumerate(docs["error"]) if e is None]
    return {
        "title": title,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "inputs": collection.inputs,
        "masked": masker is not None,
        "sets": [[s, list(labs)] for s, labs in sets.items()],
        "labels": labels,
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
