"""A whole ``predict`` run: read -> (skip done) -> batch -> engine -> write, streaming.

Documents are read lazily, classified in batches with a bounded number in flight,
and written as they come; only the set of ids seen (to keep them unique) grows with
the collection. ``--resume`` skips documents by input position, not by id.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.batch.engines import run_batches
from pipeline.batch.predict import Encoded, PredictOptions, batches
from pipeline.errors import PipelineError
from pipeline.io.inputs import Document, ReadOptions, read_inputs
from pipeline.io.outputs import (
    ResumableOutput,
    check_writable_file,
    position_key,
)
from pipeline.model.persistence import TraffickingModel


@dataclass
class RunStats:
    """What the one-line summary reports."""

    documents: int = 0
    sentences: int = 0
    errors: int = 0
    skipped: int = 0  # already in the output (--resume)
    seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    def add(self, batch: Encoded) -> None:
        self.documents += batch.documents
        self.sentences += batch.sentences
        self.errors += batch.errors

    def line(self) -> str:
        text = (f"documents: {self.documents}, sentences: {self.sentences}, "
                f"errors: {self.errors}, seconds: {self.seconds:.1f}")
        return text + (f", already done (skipped): {self.skipped}" if self.skipped else "")


def unique_ids(docs: Iterable[Document]) -> Iterator[Document]:
    """The documents with unique ids: a repeated id gets ``#2``, ``#3``... (warned once
    per id), so every record can be told apart. Deterministic, so a resumed run gives
    the same ids."""
    seen: set[str] = set()
    warned: set[str] = set()
    for doc in docs:
        new, n = doc.id, 1
        while position_key(new) in seen:
            n += 1
            new = f"{doc.id}#{n}"
        seen.add(position_key(new))
        if new != doc.id:
            if doc.id not in warned:
                warned.add(doc.id)
                warnings.warn(f"{doc.source}: duplicate id {doc.id!r}, written as {new!r} "
                              "(later copies get #3, #4, ...)", stacklevel=2)
            doc = replace(doc, id=new)
        yield doc


def _pending(docs: Iterable[Document], done: Counter[str], stats: RunStats
             ) -> Iterator[Document]:
    """The documents not yet written: each input position is skipped as many times as
    it was written before."""
    for doc in docs:
        key = position_key(doc.source)
        if done[key] > 0:
            done[key] -= 1
            stats.skipped += 1
        else:
            yield doc


def check_not_an_input(outputs: Iterable[Path], inputs: Iterable[str]) -> None:
    """Refuse an output file that is also named as an input: writing it would destroy
    the input. (Outputs inside an input folder are skipped when reading instead.)"""
    named = {os.path.realpath(i) for i in inputs if i != "-"}
    for path in outputs:
        if os.path.realpath(path) in named:
            raise PipelineError(f"--out {path}: is also an input of this run; writing it "
                                "would destroy the input, choose another --out")


def run_predict(inputs: list[str], model: TraffickingModel, model_dir: Path,
                options: PredictOptions | None = None, *, out: Path | None = None,
                read_options: ReadOptions | None = None, resume: bool = False,
                wrap: Callable[[Iterator[Document]], Iterator[Document]] | None = None
                ) -> RunStats:
    """Classify every input document and write one record each (per sentence with
    ``level="sentence"``); return the run's counts."""
    options = options or PredictOptions()
    stats = RunStats()
    if resume and out is None:
        raise PipelineError("--resume needs --out (the output file to continue)")
    own: list[Path] = []
    if out is not None:
        own = [Path(out), Path(out).with_name(Path(out).name + ".partial")]
        check_not_an_input(own, inputs)
        check_writable_file(Path(out), "--out")  # before the run, not after it
    docs: Iterator[Document] = unique_ids(read_inputs(inputs, read_options, skip=own))

    def classify(docs: Iterator[Document]) -> Iterator[Encoded]:
        if wrap is not None:
            docs = wrap(docs)
        for encoded in run_batches(batches(docs, options.batch_docs), model=model,
                                   model_dir=model_dir, options=options):
            stats.add(encoded)
            yield encoded

    if out is None:
        if sys.stdout is None:
            raise PipelineError("stdout is closed: give --out FILE")
        try:
            for encoded in classify(docs):
                sys.stdout.writelines(encoded.lines)
            sys.stdout.flush()
        except BrokenPipeError:
            raise  # a reader that stopped early (| head): handled by the CLI
        except OSError as err:
            raise PipelineError(f"stdout: cannot write ({err.strerror or err}); give "
                                "--out FILE") from None
    else:
        with ResumableOutput(out, resume=resume) as sink:  # locked: one run per output
            done = sink.done()
            if done:
                docs = _pending(docs, done, stats)
            for encoded in classify(docs):
                sink.write_lines(encoded.lines)
    stats.seconds = time.perf_counter() - stats.started
    return stats
