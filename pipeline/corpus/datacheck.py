"""Quality checks of an annotated corpus: counts, shares, duplicates and templating.

Run by ``trafficlens data check`` and by the tests, so the shipped corpus keeps the
properties its dataset card promises.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from pipeline.config import Config
from pipeline.corpus.read import Passage


@dataclass
class CheckResult:
    """Counts for the tables, and the list of failed checks (empty = pass)."""

    n: int
    label_counts: dict[str, dict[str, int]]
    unlabeled_share: dict[str, float]
    registers: dict[str, int]
    exact_duplicates: list[tuple[str, str]] = field(default_factory=list)
    near_duplicates: list[tuple[str, str, float]] = field(default_factory=list)
    openings: list[tuple[str, int]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def near_duplicate_pairs(texts: Sequence[str], threshold: float, n: int = 5
                         ) -> list[tuple[int, int, float]]:
    """Pairs whose character ``n``-gram sets have Jaccard similarity above ``threshold``."""
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for i, text in enumerate(texts):
        t = _normal(text)
        grams = {t[k:k + n] for k in range(max(1, len(t) - n + 1))}
        for g in grams:
            rows.append(i)
            cols.append(vocab.setdefault(g, len(vocab)))
    if not texts:
        return []
    X = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                      shape=(len(texts), len(vocab)))
    sizes = np.asarray(X.sum(axis=1)).ravel()
    inter = (X @ X.T).tocoo()
    out = []
    for i, j, v in zip(inter.row, inter.col, inter.data, strict=True):
        if i < j:
            jac = v / (sizes[i] + sizes[j] - v)
            if jac > threshold:
                out.append((int(i), int(j), float(jac)))
    return sorted(out)


def check_corpus(passages: Sequence[Passage], config: Config) -> CheckResult:
    """Count labels and registers and run every check the config's ``[data]`` asks for."""
    d = config.data
    n = len(passages)
    counts = {s.name: {lab: 0 for lab in s.labels} for s in config.label_sets}
    unlabeled = {}
    for s in config.label_sets:
        for p in passages:
            for lab in p.labels.get(s.name, ()):
                counts[s.name][lab] += 1
        unlabeled[s.name] = sum(not p.labels.get(s.name) for p in passages) / max(n, 1)
    registers = Counter(str(p.extra.get("register", "(none)")) for p in passages)
    result = CheckResult(n, counts, unlabeled, dict(sorted(registers.items())))

    seen: dict[str, str] = {}
    for p in passages:
        key = _normal(p.text)
        if key in seen:
            result.exact_duplicates.append((seen[key], p.id))
        else:
            seen[key] = p.id
    for i, j, jac in near_duplicate_pairs([p.text for p in passages],
                                          d.near_duplicate_jaccard, d.shingle_chars):
        if _normal(passages[i].text) != _normal(passages[j].text):
            result.near_duplicates.append((passages[i].id, passages[j].id, round(jac, 3)))
    openings = Counter(" ".join(_normal(p.text).split()[:d.opening_words]) for p in passages
                       if len(p.text.split()) >= d.opening_words)
    limit = d.max_opening_share * n
    result.openings = [(o, c) for o, c in openings.most_common() if c > limit and c > 1]

    f = result.failures
    if result.exact_duplicates:
        f.append(f"{len(result.exact_duplicates)} exact duplicate text(s)")
    if result.near_duplicates:
        f.append(f"{len(result.near_duplicates)} near-duplicate pair(s) "
                 f"(character {d.shingle_chars}-gram Jaccard > {d.near_duplicate_jaccard})")
    if result.openings:
        f.append(f"{len(result.openings)} opening(s) of {d.opening_words} words used by more "
                 f"than {d.max_opening_share:.0%} of passages")
    if n < d.min_passages:
        f.append(f"{n} passages, need at least {d.min_passages}")
    for set_name, labs in counts.items():
        for lab, c in labs.items():
            if c < d.min_positives:
                f.append(f"{set_name}.{lab}: {c} positives, need at least {d.min_positives}")
    for set_name, share in d.min_unlabeled_share.items():
        if unlabeled.get(set_name, 0.0) < share:
            f.append(f"{set_name}: {unlabeled.get(set_name, 0.0):.1%} of passages without a "
                     f"label, need at least {share:.0%}")
    big = {r: c for r, c in registers.items() if c >= d.min_per_register}
    if d.min_registers and len(big) < d.min_registers:
        f.append(f"{len(big)} registers with >= {d.min_per_register} passages, "
                 f"need at least {d.min_registers}")
    return result


def label_table(label_counts: dict[str, dict[str, int]], unlabeled: dict[str, float],
                n: int, unit: str) -> list[str]:
    """Positives and share per label, and the share without a label, per set."""
    out = [f"{'label':28s} {unit:>9s} {'share':>7s}"]
    for set_name, labs in label_counts.items():
        for lab, c in labs.items():
            out.append(f"{set_name + '.' + lab:28s} {c:9d} {c / max(n, 1):7.1%}")
        out.append(f"{set_name + ' (no label)':28s} {round(unlabeled[set_name] * n):9d} "
                   f"{unlabeled[set_name]:7.1%}")
    return out


def format_check(result: CheckResult) -> str:
    """The tables and findings ``data check`` prints."""
    out = [f"passages: {result.n}", "",
           *label_table(result.label_counts, result.unlabeled_share, result.n, "positives")]
    out += ["", f"{'register':28s} {'passages':>9s}"]
    out += [f"{r:28s} {c:9d}" for r, c in result.registers.items()]
    out += ["", f"exact duplicates: {len(result.exact_duplicates)}",
            f"near-duplicate pairs: {len(result.near_duplicates)}",
            f"over-used openings: {len(result.openings)}"]
    out += [f"  duplicate: {a} = {b}" for a, b in result.exact_duplicates[:20]]
    out += [f"  near-duplicate: {a} ~ {b} ({j})" for a, b, j in result.near_duplicates[:20]]
    out += [f"  opening {o!r}: {c} passages" for o, c in result.openings[:20]]
    out.append("")
    out.append("data check: OK" if result.ok else "data check: FAILED\n  " +
               "\n  ".join(result.failures))
    return "\n".join(out)
