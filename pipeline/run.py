"""A whole ``predict`` run: read -> (skip done) -> batch -> engine -> write, streaming.

Memory does not grow with the collection: documents are read lazily, classified in
batches with a bounded number in flight, and written as they come.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.engines import run_batches
from pipeline.errors import PipelineError
from pipeline.inputs import Document, ReadOptions, read_inputs
from pipeline.model import TraffickingModel
from pipeline.outputs import ResumableOutput, write_records
from pipeline.predict import batches


@dataclass
class RunStats:
    """What the one-line summary reports."""

    documents: int = 0
    sentences: int = 0
    errors: int = 0
    skipped: int = 0  # already in the output (--resume)
    seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    def add(self, records: list[dict], level: str) -> None:
        for r in records:
            if level == "document" or r.get("sentence") in (None, 1):
                self.documents += 1
                self.errors += r.get("error") is not None
            self.sentences += r.get("n_sentences", 1 if r.get("sentence") else 0)

    def line(self) -> str:
        text = (f"documents: {self.documents}, sentences: {self.sentences}, "
                f"errors: {self.errors}, seconds: {self.seconds:.1f}")
        return text + (f", already done (skipped): {self.skipped}" if self.skipped else "")


def run_predict(inputs: list[str], model: TraffickingModel, model_dir: Path, *,
                out: Path | None = None, level: str = "document", evidence: int | None = None,
                read_options: ReadOptions | None = None, n_jobs: int = 1,
                engine: str = "local", scheduler: str | None = None, resume: bool = False,
                batch_docs: int = 64,
                wrap: Callable[[Iterator[Document]], Iterator[Document]] | None = None
                ) -> RunStats:
    """Classify every input document and write one record each (per sentence with
    ``level="sentence"``); return the run's counts."""
    stats = RunStats()
    if resume and out is None:
        raise PipelineError("--resume needs --out (the output file to continue)")
    docs: Iterator[Document] = read_inputs(inputs, read_options)
    sink = ResumableOutput(out, resume=resume) if out is not None else None
    if sink is not None:
        done = sink.done()
        if done:
            def pending(items: Iterable[Document]) -> Iterator[Document]:
                for d in items:
                    if d.id in done:
                        stats.skipped += 1
                    else:
                        yield d

            docs = pending(docs)
    if wrap is not None:
        docs = wrap(docs)
    results = run_batches(batches(docs, batch_docs), model=model, model_dir=model_dir,
                          level=level, evidence=evidence, n_jobs=n_jobs, engine=engine,
                          scheduler=scheduler)
    if sink is None:
        def counted() -> Iterator[dict]:
            for records in results:
                stats.add(records, level)
                yield from records

        write_records(counted(), None)
        sys.stdout.flush()
    else:
        with sink:
            for records in results:
                stats.add(records, level)
                sink.write(records)
    stats.seconds = time.perf_counter() - stats.started
    return stats
