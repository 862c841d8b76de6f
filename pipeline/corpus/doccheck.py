"""Quality checks of a corpus of whole documents annotated sentence by sentence.

Records carry ``doc`` (the text file's id), ``seq``, ``start`` and ``end``. Beyond
counts and shares, the checks tie the annotations to the documents: every sentence of
every text, as ``predict`` splits it today, is annotated exactly once, at the right
offsets. They also look for duplicated writing and for word sequences shared with
published text (:mod:`pipeline.corpus.overlap`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import Config
from pipeline.corpus.datacheck import label_table, near_duplicate_pairs
from pipeline.corpus.read import Passage, by_document


@dataclass
class DocumentCheck:
    """Counts for the tables, findings, and the failed checks (empty = pass)."""

    n_documents: int
    n_sentences: int
    label_counts: dict[str, dict[str, int]]
    unlabeled_share: float  # no label in any set
    set_unlabeled_share: dict[str, float]
    registers: dict[str, int]  # documents per register
    writers: dict[str, int]  # documents per writer
    problems: list[str] = field(default_factory=list)  # annotation does not fit the texts
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    near_duplicates: list[tuple[str, str, float]] = field(default_factory=list)
    published: list[tuple[str, str]] = field(default_factory=list)  # (id, shared words)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def check_documents(passages: Sequence[Passage], config: Config) -> DocumentCheck:
    """Run every check of the config's ``[documents]`` table."""
    d = config.documents
    docs = by_document(passages)
    n = len(passages)
    counts = {s.name: {lab: 0 for lab in s.labels} for s in config.label_sets}
    for p in passages:
        for s in config.label_sets:
            for lab in p.labels.get(s.name, ()):
                counts[s.name][lab] += 1
    none = sum(not any(p.labels.values()) for p in passages) / max(n, 1)
    per_set = {s.name: sum(not p.labels.get(s.name) for p in passages) / max(n, 1)
               for s in config.label_sets}
    first = {doc: sents[0] for doc, sents in docs.items()}
    registers = Counter(str(p.extra.get("register", "(none)")) for p in first.values())
    writers = Counter(str(p.extra.get("writer", "(none)")) for p in first.values())
    result = DocumentCheck(len(docs), n, counts, none, per_set, dict(sorted(registers.items())),
                           dict(sorted(writers.items())))

    texts = {doc: _check_against_text(doc, sents, config, result.problems)
             for doc, sents in docs.items()}
    seen: dict[str, Passage] = {}
    for p in passages:
        key = " ".join(p.text.lower().split())
        if len(key.split()) < d.duplicate_sentence_words:
            continue  # headings and short formulae recur in real documents
        first_seen = seen.setdefault(key, p)
        if first_seen.extra["doc"] != p.extra["doc"]:  # a document may repeat itself
            result.duplicates.append((first_seen.id, p.id))
    names = [doc for doc in docs if texts[doc]]
    for i, j, jac in near_duplicate_pairs([texts[doc] for doc in names],
                                          d.near_duplicate_jaccard, d.shingle_chars):
        result.near_duplicates.append((names[i], names[j], round(jac, 3)))
    if d.fingerprint is not None:
        from pipeline.corpus.overlap import read_fingerprint, shared

        size, hashes = read_fingerprint(d.fingerprint)
        for doc in names:
            for seq in shared(texts[doc], hashes, size):
                result.published.append((doc, seq))
    _failures(result, config)
    return result


def _check_against_text(doc: str, sents: list[Passage], config: Config,
                        problems: list[str]) -> str:
    """The document's text ("" if missing); offsets and segmentation checked on it."""
    from pipeline.corpus.documents import read_document, segment
    from pipeline.errors import PipelineError

    path = Path(config.documents.texts) / f"{doc}.txt"
    try:
        text = read_document(path)
    except PipelineError as err:
        problems.append(f"{doc}: {err}")
        return ""
    seqs = [int(p.extra.get("seq", -1)) for p in sents]
    if seqs != list(range(len(sents))):
        problems.append(f"{doc}: seq is not 0..{len(sents) - 1} without gaps")
    for p in sents:
        start, end = p.extra.get("start"), p.extra.get("end")
        if not (isinstance(start, int) and isinstance(end, int)
                and text[start:end] == p.text):
            problems.append(f"{p.path}:{p.line}: text does not match {path} at {start}-{end}")
    spans = [(s, e) for s, e, _ in segment(text, config)]
    if spans != [(p.extra.get("start"), p.extra.get("end")) for p in sents]:
        problems.append(f"{doc}: the annotated sentences are not the sentences predict "
                        f"finds today ({len(spans)} vs {len(sents)}): re-import the template")
    return text


def _failures(r: DocumentCheck, config: Config) -> None:
    d, f = config.documents, r.failures
    if r.problems:
        f.append(f"{len(r.problems)} annotation(s) that do not fit their text")
    if r.duplicates:
        f.append(f"{len(r.duplicates)} sentence(s) of >= {d.duplicate_sentence_words} words "
                 "also in another document")
    if r.near_duplicates:
        f.append(f"{len(r.near_duplicates)} near-duplicate document pair(s)")
    if r.published:
        f.append(f"{len(r.published)} word sequence(s) shared with published text")
    if r.n_documents < d.min_documents:
        f.append(f"{r.n_documents} documents, need at least {d.min_documents}")
    if r.n_sentences < d.min_sentences:
        f.append(f"{r.n_sentences} sentences, need at least {d.min_sentences}")
    big = [reg for reg, c in r.registers.items() if c >= d.min_docs_per_register]
    if len(big) < d.min_registers:
        f.append(f"{len(big)} registers with >= {d.min_docs_per_register} documents, need "
                 f"at least {d.min_registers}")
    if r.unlabeled_share < d.min_unlabeled_share:
        f.append(f"{r.unlabeled_share:.1%} of sentences without any label, need at least "
                 f"{d.min_unlabeled_share:.0%}")
    for set_name, labs in r.label_counts.items():
        for lab, c in labs.items():
            if c < d.min_positives:
                f.append(f"{set_name}.{lab}: {c} positive sentences, need at least "
                         f"{d.min_positives}")


def format_document_check(r: DocumentCheck) -> str:
    """The tables and findings ``data check`` prints for a document corpus."""
    out = [f"documents: {r.n_documents}, sentences: {r.n_sentences}", "",
           *label_table(r.label_counts, r.set_unlabeled_share, r.n_sentences, "sentences")]
    out.append(f"{'(no label at all)':28s} {round(r.unlabeled_share * r.n_sentences):9d} "
               f"{r.unlabeled_share:7.1%}")
    out += ["", f"{'register':28s} {'documents':>9s}"]
    out += [f"{reg:28s} {c:9d}" for reg, c in r.registers.items()]
    out += ["", f"{'writer':28s} {'documents':>9s}"]
    out += [f"{w:28s} {c:9d}" for w, c in r.writers.items()]
    out += ["", f"annotation problems: {len(r.problems)}",
            f"duplicate sentences: {len(r.duplicates)}",
            f"near-duplicate documents: {len(r.near_duplicates)}",
            f"sequences shared with published text: {len(r.published)}"]
    out += [f"  {p}" for p in r.problems[:20]]
    out += [f"  duplicate: {a} = {b}" for a, b in r.duplicates[:20]]
    out += [f"  near-duplicate: {a} ~ {b} ({j})" for a, b, j in r.near_duplicates[:20]]
    out += [f"  published: {doc}: {seq!r}" for doc, seq in r.published[:20]]
    out.append("")
    out.append("data check: OK" if r.ok else "data check: FAILED\n  " + "\n  ".join(r.failures))
    return "\n".join(out)
