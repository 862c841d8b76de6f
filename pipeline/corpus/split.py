"""A fixed train/test split of the corpus, stratified by label and by register.

Passages are split one by one; sentences of whole documents are split by document,
so that no document has sentences on both sides.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.config import Config
from pipeline.corpus.read import Passage, by_document, label_matrix
from pipeline.corpus.stratify import multilabel_split
from pipeline.io.outputs import atomic_writer


def split_passages(passages: Sequence[Passage], config: Config
                   ) -> tuple[list[Passage], list[Passage]]:
    """Deterministic (seeded) split; registers count as extra strata so each is in both."""
    Y = label_matrix(passages, config)
    registers = sorted({str(p.extra.get("register", "")) for p in passages})
    R = np.array([[str(p.extra.get("register", "")) == r for r in registers] for p in passages],
                 dtype=np.int8).reshape(len(passages), len(registers))
    train_idx, test_idx = multilabel_split(np.hstack([Y, R]), config.data.test_size, config.seed)
    return [passages[i] for i in train_idx], [passages[i] for i in test_idx]


def split_documents(sentences: Sequence[Passage], config: Config
                    ) -> tuple[list[Passage], list[Passage]]:
    """Deterministic split of whole documents (``doc`` field), stratified by the labels
    each document carries anywhere and by register; ``documents.test_size`` of them."""
    docs = by_document(sentences)
    names = sorted(docs)
    Y = np.array([label_matrix(docs[d], config).max(axis=0) for d in names], dtype=np.int8)
    registers = sorted({str(docs[d][0].extra.get("register", "")) for d in names})
    R = np.array([[str(docs[d][0].extra.get("register", "")) == r for r in registers]
                  for d in names], dtype=np.int8).reshape(len(names), len(registers))
    train_idx, test_idx = multilabel_split(np.hstack([Y, R]), config.documents.test_size,
                                           config.seed)
    return ([p for i in sorted(train_idx) for p in docs[names[i]]],
            [p for i in sorted(test_idx) for p in docs[names[i]]])


def starter_subset(train: Sequence[Passage], config: Config) -> list[Passage]:
    """About ``data.starter_size`` train passages, label-stratified: the starter corpus."""
    size = config.data.starter_size
    if size <= 0 or size >= len(train):
        return list(train)
    _, part = multilabel_split(label_matrix(train, config), size / len(train), config.seed)
    return [train[i] for i in part]


def write_jsonl(passages: Sequence[Passage], path: Path, config: Config) -> None:
    """Write passages back as JSONL (id, text, label sets, then the extra fields)."""
    with atomic_writer(path) as fh:
        for p in passages:
            record = {"id": p.id, "text": p.text}
            record.update({s.name: list(p.labels.get(s.name, ())) for s in config.label_sets})
            record.update(p.extra)
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
