"""Read annotated JSONL passages and validate them against the configured label sets.

All problems of a corpus are reported at once (file, line, field, reason) so an
annotator can fix a file in one pass.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import Config, LabelSet
from pipeline.errors import PipelineError, collect, where


@dataclass(frozen=True)
class Passage:
    """One annotated passage: its text, labels per set, and any extra fields kept as-is."""

    id: str
    text: str
    labels: dict[str, tuple[str, ...]]
    extra: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    line: int = 0


def corpus_files(paths: Iterable[Path]) -> list[Path]:
    """Expand files and directories (recursively, sorted) into ``.jsonl`` files."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.jsonl") if p.is_file())
            if not found:
                raise PipelineError(f"{path}: no .jsonl files in this directory")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise PipelineError(f"{path}: no such file or directory")
    return files


def read_corpus(paths: Iterable[Path], label_sets: Sequence[LabelSet],
                *, exclude: Iterable[str] = (), require_text: bool = True) -> list[Passage]:
    """Read and validate every passage in ``paths``; raise one error listing all problems.

    ``exclude`` names files (by file name) to skip when a directory is expanded, e.g.
    the writer hold-out set that must never be trained on. ``require_text=False``
    accepts label-only records (annotation exports).
    """
    skip = set(exclude)
    passages: list[Passage] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in corpus_files(paths):
        if path.name in skip:
            continue
        try:
            # \n only: U+2028/U+2029/U+0085 may stand raw inside a JSON string
            lines = path.read_text(encoding="utf-8").split("\n")
        except UnicodeDecodeError as err:
            problems.append(f"{path}: not UTF-8 ({err.reason} at byte {err.start})")
            continue
        except OSError as err:
            problems.append(f"{path}: cannot read ({err.strerror or err})")
            continue
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            passage, errs = parse_line(line, path, lineno, label_sets, require_text)
            problems.extend(errs)
            if passage is None:
                continue
            if passage.id in seen:
                problems.append(f"{where(path, lineno, 'id')}: duplicate id {passage.id!r} "
                                f"(first at {seen[passage.id]})")
                continue
            seen[passage.id] = f"{path}:{lineno}"
            passages.append(passage)
    if problems:
        raise collect(problems, "invalid annotated data")
    if not passages:
        raise PipelineError(f"{', '.join(str(p) for p in paths)}: no passages found")
    return passages


def parse_line(line: str, path: Path, lineno: int, label_sets: Sequence[LabelSet],
               require_text: bool = True) -> tuple[Passage | None, list[str]]:
    """Parse one JSONL line; return the passage (or None) and the problems found."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        return None, [f"{where(path, lineno)}: bad JSON ({err.msg} at column {err.colno})"]
    if not isinstance(record, dict):
        return None, [f"{where(path, lineno)}: expected a JSON object"]
    problems = []
    pid = record.get("id")
    if not isinstance(pid, (str, int)) or isinstance(pid, bool) or str(pid).strip() == "":
        problems.append(f"{where(path, lineno, 'id')}: missing or empty id")
    text = record.get("text")
    if text is None and not require_text:
        text = ""
    elif not isinstance(text, str) or not text.strip():
        problems.append(f"{where(path, lineno, 'text')}: missing or empty text")
    labels: dict[str, tuple[str, ...]] = {}
    for label_set in label_sets:
        value = record.get(label_set.name)
        if value is None:
            if label_set.required:
                problems.append(f"{where(path, lineno, label_set.name)}: missing label list")
            labels[label_set.name] = ()
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where(path, lineno, label_set.name)}: expected a list of strings")
            continue
        for name in value:
            if name not in label_set.labels:
                problems.append(f"{where(path, lineno, label_set.name)}: unknown label {name!r} "
                                f"(known: {', '.join(label_set.labels)})")
        if len(set(value)) != len(value):
            problems.append(f"{where(path, lineno, label_set.name)}: label listed twice")
        labels[label_set.name] = tuple(v for v in label_set.labels if v in value)
    if problems:
        return None, problems
    known = {"id", "text", *(s.name for s in label_sets)}
    extra = {k: v for k, v in record.items() if k not in known}
    return Passage(str(pid), text, labels, extra, str(path), lineno), []


def is_document_corpus(passages: Sequence[Passage]) -> bool:
    """Whether the records are sentences of documents (they name their ``doc``); a mix
    of sentences and passages is an error, since a split or check would treat the
    documents' sentences as unrelated passages."""
    with_doc = sum(bool(p.extra.get("doc")) for p in passages)
    if 0 < with_doc < len(passages):
        example = next(p for p in passages if not p.extra.get("doc"))
        raise PipelineError(f"{example.path}:{example.line}: a passage without 'doc' among "
                            f"{with_doc} sentences of documents; keep passages and document "
                            "sentences in separate runs")
    return bool(passages) and with_doc == len(passages)


def by_document(passages: Sequence[Passage]) -> dict[str, list[Passage]]:
    """Sentences grouped by document, in ``seq`` order; ``seq``, ``start`` and ``end``
    must be whole numbers (a user error naming the record otherwise)."""
    problems = [f"{where(p.path, p.line, key)}: expected a whole number, got "
                f"{p.extra.get(key)!r}" for p in passages for key in ("seq", "start", "end")
                if type(p.extra.get(key)) is not int]
    if problems:
        raise collect(problems, "invalid sentence records")
    if not all(p.extra.get("doc") for p in passages):
        raise PipelineError("invalid sentence records: a record has an empty doc")
    docs: dict[str, list[Passage]] = defaultdict(list)
    for p in passages:
        docs[str(p.extra["doc"])].append(p)
    for sents in docs.values():
        sents.sort(key=lambda p: p.extra["seq"])
    return dict(docs)


def groups_of(passages: Sequence[Passage]) -> list[str]:
    """What must stay together in cross-validation: a sentence's document, else itself."""
    return [str(p.extra.get("doc", f"\0{p.id}")) for p in passages]


def label_matrix(passages: Sequence[Passage], config: Config) -> np.ndarray:
    """Binary matrix (passages x all labels in config order)."""
    columns = config.all_labels
    Y = np.zeros((len(passages), len(columns)), dtype=np.int8)
    for i, p in enumerate(passages):
        for j, (set_name, label) in enumerate(columns):
            if label in p.labels.get(set_name, ()):
                Y[i, j] = 1
    return Y


def fingerprint(passages: Sequence[Passage]) -> str:
    """sha256 over ids, texts and labels: identifies the training data in the model card."""
    h = hashlib.sha256()
    for p in passages:
        h.update(json.dumps([p.id, p.text, p.labels], sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()
