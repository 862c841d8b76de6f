"""Speed and memory benchmark of trafficlens (``make bench``); not a test.

Builds synthetic collections of plain-text documents from the passages of the train
split (each document: 5-40 passages drawn at random, seeded), then measures

1. preprocessing alone, in this process: ``Preprocessor(...).stream`` over the texts
   (no cache), with the model's own preprocessing settings;
2. end to end: ``trafficlens predict DIR --out X.jsonl --quiet --n-jobs N`` as a
   subprocess, N = 1 and 2 on the big collection and N = 1 on the small one, with the
   peak RSS of the whole process tree (polled every 0.05 s, RSS summed over the
   process and its children);
3. a reference: a plain scikit-learn TF-IDF + logistic regression predicting the
   collection's passages in this process (the end-to-end target is a ratio to it).

It prints a table and writes it, with the machine and the targets, to a Markdown
file (default ``docs/benchmarks.md``). A trailing section of that file that starts
with the heading ``## Notes`` is kept.

Example: .venv/bin/python benchmarks/bench.py --docs 20000 --small 2000
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "data/splits/train.jsonl"
POLL_SECONDS = 0.05
MB = 1_000_000  # MB/s and sizes in decimal megabytes; RSS in MiB
MIB = 1024 * 1024
NOTES_HEADING = "## Notes"

# targets of issues 6 and 14 (one core unless stated)
PREPROCESS_TARGET = 25_000  # sentences/s, spaCy preprocessing
PREDICT_TARGET = 10_000  # sentences/s, end-to-end predict from .txt files
SPEEDUP_TARGET = 1.7  # --n-jobs 2 over --n-jobs 1
BASELINE_TARGET = 0.5  # end-to-end predict over the TF-IDF + LR baseline (issue 14)
STARTUP_TARGET = 1.5  # seconds, a one-document predict
RSS_RATIO_TARGET = 1.10  # peak RSS, big collection over small


@dataclasses.dataclass
class Result:
    """One row of the table."""

    name: str
    docs: int
    sentences: int
    nbytes: int
    seconds: float
    peak_rss: int  # bytes
    cpu_seconds: float | None = None

    @property
    def sentences_per_s(self) -> float:
        return self.sentences / self.seconds

    @property
    def docs_per_s(self) -> float:
        return self.docs / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.nbytes / MB / self.seconds


# --------------------------------------------------------------------------- collections


def read_passages(path: Path) -> list[str]:
    """The passage texts of an annotated JSONL file, in file order."""
    texts = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                text = json.loads(line)["text"].strip()
                if text:
                    texts.append(text)
    if not texts:
        sys.exit(f"error: {path}: no passages")
    return texts


def make_documents(passages: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` documents of 5-40 distinct passages each; document i depends only on the
    seed and i (the first 2,000 of a 20,000 collection are the 2,000 collection)."""
    return [text for text, _ in _documents(passages, n, seed)]


def document_passages(passages: Sequence[str], n: int, seed: int) -> list[str]:
    """The passages the ``n`` documents of :func:`make_documents` are made of, in order."""
    return [p for _, parts in _documents(passages, n, seed) for p in parts]


def _documents(passages: Sequence[str], n: int, seed: int) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        k = rng.randint(5, 40)
        picked = rng.sample(range(len(passages)), min(k, len(passages)))
        parts = [passages[picked[0]]]
        for i in picked[1:]:
            # mostly running text, sometimes a new paragraph
            parts.append("\n\n" if rng.random() < 0.25 else " ")
            parts.append(passages[i])
        docs.append(("".join(parts) + "\n", [passages[i] for i in picked]))
    return docs


def write_collection(docs: Sequence[str], folder: Path) -> int:
    """Write one .txt file per document; return the total size in bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    width = len(str(len(docs)))
    total = 0
    for i, text in enumerate(docs):
        data = text.encode("utf-8")
        (folder / f"doc-{i:0{width}d}.txt").write_bytes(data)
        total += len(data)
    return total


# --------------------------------------------------------------------------- memory


def tree_rss(root: psutil.Process) -> int:
    """RSS of a process and all its descendants, in bytes (0 once it is gone)."""
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        # a process may exit (or be a zombie) between listing and reading
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


class RssWatcher:
    """Polls the RSS of a process tree in a background thread; ``peak`` is the max seen."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, tree_rss(self.root))
            if self._stop.wait(POLL_SECONDS):
                return

    def __enter__(self) -> RssWatcher:
        self.peak = tree_rss(self.root)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def children_cpu() -> float:
    """CPU seconds (user + system) of all waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- measurements


def preprocessor_for(model_dir: Path):
    """A Preprocessor with the model's own settings (from its card; the classifier itself
    is not loaded, so it does not count in this process's RSS)."""
    from pipeline.config import Preprocess
    from pipeline.text.preprocess import Preprocessor

    card = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))["config"]
    known = {f.name for f in dataclasses.fields(Preprocess)}
    settings = Preprocess(**{k: v for k, v in card.get("preprocess", {}).items() if k in known})
    max_chars = card.get("predict", {}).get("max_chars")
    if max_chars:
        return Preprocessor(settings, max_chars=max_chars)
    return Preprocessor(settings)


def bench_preprocess(model_dir: Path, texts: Sequence[str], nbytes: int,
                     name: str) -> Result:
    """Preprocessing alone, in this process, no cache (pipeline set up before timing)."""
    pre = preprocessor_for(model_dir)
    pre.tokens("Warm-up: build the spaCy pipeline before the clock starts.")
    with RssWatcher(os.getpid()) as rss:
        cpu0 = time.process_time()
        start = time.perf_counter()
        sentences = sum(len(sents) for sents in pre.stream(texts))
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu0
    return Result(name, len(texts), sentences, nbytes, seconds, rss.peak, cpu)


def bench_baseline(texts: Sequence[str], nbytes: int, n_docs: int, name: str,
                   chunk: int = 1000) -> Result:
    """A plain scikit-learn TF-IDF (word 1-2-grams) + one-vs-rest logistic regression,
    fitted on the train split, predicting the passages the collection is made of, in
    this process, in chunks (fitting not timed). The reference row of the ratio target:
    measured in the same run, so machine noise cancels."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline

    from pipeline.config import load_config
    from pipeline.corpus.read import read_corpus
    from pipeline.model.train import label_matrix

    config = load_config(ROOT / "configs" / "default.toml")
    train = read_corpus([TRAIN], config.label_sets)
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                          OneVsRestClassifier(LogisticRegression(solver="liblinear")))
    model.fit([p.text for p in train], label_matrix(train, config))
    model.predict_proba(texts[:chunk])  # warm-up
    with RssWatcher(os.getpid()) as rss:
        cpu0 = time.process_time()
        start = time.perf_counter()
        for i in range(0, len(texts), chunk):
            model.predict_proba(texts[i:i + chunk])
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu0
    return Result(name, n_docs, len(texts), nbytes, seconds, rss.peak, cpu)


def trafficlens_command() -> list[str]:
    script = Path(sys.executable).parent / "trafficlens"
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipeline"]


def bench_predict(folder: Path, model_dir: Path, n_jobs: int, nbytes: int, n_docs: int,
                  name: str, work: Path) -> Result:
    """End-to-end predict as a subprocess: wall time and peak RSS of its process tree."""
    out = work / "predictions.jsonl"
    out.unlink(missing_ok=True)
    cmd = [*trafficlens_command(), "predict", str(folder), "--model", str(model_dir),
           "--out", str(out), "--quiet", "--n-jobs", str(n_jobs)]
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as err:
        cpu0 = children_cpu()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            root = None
        peak = 0
        while True:
            if root is not None:
                peak = max(peak, tree_rss(root))
            try:
                proc.wait(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                continue
        seconds = time.perf_counter() - start
        cpu = children_cpu() - cpu0
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"error: {' '.join(cmd)} exited with {proc.returncode}:\n{err.read()}")
    n_records, sentences, errors = 0, 0, []
    with out.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                n_records += 1
                sentences += int(record.get("n_sentences") or 0)
                if record.get("error"):
                    errors.append(record["error"])
    out.unlink()
    if n_records != n_docs or errors:
        sys.exit(f"error: {name}: {n_records} records for {n_docs} documents, "
                 f"{len(errors)} with errors (first: {errors[0] if errors else '-'})")
    return Result(name, n_docs, sentences, nbytes, seconds, peak, cpu)


# --------------------------------------------------------------------------- report


def machine() -> dict[str, str]:
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": f"nproc {usable_cores()} ({os.cpu_count()} CPUs online)",
        "cpu": cpu_model,
        "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
    }


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def versions() -> dict[str, str]:
    import sklearn
    import spacy

    from pipeline import __version__

    out = {"python": platform.python_version(), "spacy": spacy.__version__,
           "scikit-learn": sklearn.__version__, "trafficlens": __version__}
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                             capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True, check=True).stdout
        out["git"] = rev + (" + uncommitted changes" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        pass
    return out


def shown(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def table(results: Sequence[Result]) -> str:
    head = ("| run | docs | sentences | MB | seconds | sentences/s | docs/s | MB/s "
            "| peak RSS (MiB) | CPU s (cores busy) |")
    rows = [head, "|" + "---|" * 10]
    for r in results:
        cpu = (f"{r.cpu_seconds:.1f} ({r.cpu_seconds / r.seconds:.2f})"
               if r.cpu_seconds is not None else "-")
        rows.append(f"| {r.name} | {r.docs:,} | {r.sentences:,} | {r.nbytes / MB:.1f} "
                    f"| {r.seconds:.2f} | {r.sentences_per_s:,.0f} | {r.docs_per_s:,.0f} "
                    f"| {r.mb_per_s:.2f} | {r.peak_rss / MIB:,.0f} | {cpu} |")
    return "\n".join(rows)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def targets(pre: Result, one: Result, two: Result, small: Result, start: Result,
            base: Result) -> list[str]:
    speedup = two.sentences_per_s / one.sentences_per_s
    versus = one.sentences_per_s / base.sentences_per_s
    ratio = one.peak_rss / small.peak_rss
    two_cores = usable_cores() >= 2
    return [
        f"- {verdict(pre.sentences_per_s >= PREPROCESS_TARGET)} spaCy preprocessing "
        f">= {PREPROCESS_TARGET:,} sentences/s: {pre.sentences_per_s:,.0f}",
        f"- {verdict(one.sentences_per_s >= PREDICT_TARGET)} end-to-end predict from .txt, "
        f"--n-jobs 1, >= {PREDICT_TARGET:,} sentences/s: {one.sentences_per_s:,.0f}",
        f"- {verdict(versus >= BASELINE_TARGET)} end-to-end predict --n-jobs 1 >= "
        f"{BASELINE_TARGET}x the TF-IDF + LR baseline (same run): "
        f"{one.sentences_per_s:,.0f} / {base.sentences_per_s:,.0f} = {versus:.2f}x",
        f"- {verdict(start.seconds <= STARTUP_TARGET)} one-document predict "
        f"<= {STARTUP_TARGET} s: {start.seconds:.2f} s",
        f"- {verdict(speedup >= SPEEDUP_TARGET if two_cores else None)} --n-jobs 2 "
        f">= {SPEEDUP_TARGET}x --n-jobs 1: {speedup:.2f}x"
        + ("" if two_cores else " (fewer than 2 usable cores)"),
        f"- {verdict(ratio <= RSS_RATIO_TARGET)} peak RSS, {one.docs:,} docs within "
        f"{RSS_RATIO_TARGET - 1:.0%} of {small.docs:,} docs (--n-jobs 1): "
        f"{one.peak_rss / MIB:,.0f} / {small.peak_rss / MIB:,.0f} MiB = {ratio:.2f}x",
    ]


def existing_notes(path: Path) -> str:
    """The trailing hand-written ``## Notes`` section of an earlier report, if any."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        return ""
    for i, line in enumerate(lines):
        if line.startswith(NOTES_HEADING):
            return "".join(lines[i:]).rstrip() + "\n"
    return ""


def markdown(args: argparse.Namespace, results: Sequence[Result], checks: Sequence[str],
             extra: Sequence[str], notes: str) -> str:
    m, v = machine(), versions()
    lines = [
        "# trafficlens benchmarks",
        "",
        "Written by `make bench` (`benchmarks/bench.py`); the table and targets are "
        "regenerated on each run, a final `## Notes` section is kept.",
        "",
        f"- date: {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {m['cores']}, {m['cpu']}, {m['ram']} RAM, {m['os']}",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- model: `{shown(args.model)}`; collections: {args.docs:,} and {args.small:,} documents "
        f"of 5-40 passages from `{TRAIN.relative_to(ROOT)}` (seed {args.seed})",
        "",
        "## Results",
        "",
        table(results),
        "",
        "Preprocessing is `Preprocessor.stream` in one process over texts already in memory "
        "(no cache, spaCy set up before timing); its RSS is the benchmark process's own, "
        "texts included. `predict` rows are wall time of the whole command (start-up and "
        "model loading included) and the peak RSS summed over the process and its workers "
        "(shared pages are counted once per process). Sentences are counted by the pipeline "
        "(`n_sentences` of the output records). MB = 10^6 bytes of UTF-8 text. The 1-document "
        "run shows the fixed start-up cost (imports, model loading) inside every `predict` "
        "row. CPU s is user + system time of the process tree; cores busy = CPU s / seconds "
        "(well below 1 on a one-process run means the machine was busy with something else). "
        "The baseline row is a plain scikit-learn TF-IDF (word 1-2-grams) + one-vs-rest "
        "logistic regression fitted on the same train split, predicting the passages the "
        "collection is made of (its sentences column counts passages), in this process, "
        "from memory: no start-up, file reading, sentence splitting or output, so the ratio "
        "to it is conservative.",
        "",
        *extra,
        "## Targets",
        "",
        *checks,
        "",
        "## How to run",
        "",
        "```",
        "make bench        # 20,000 and 2,000 documents -> docs/benchmarks.md",
        ".venv/bin/python benchmarks/bench.py --docs 20000 --small 2000 "
        "--out docs/benchmarks.md --model models/default --seed 0",
        "```",
        "",
        "Run it on an otherwise idle machine; the full run takes several minutes.",
        "",
    ]
    text = "\n".join(lines)
    if notes:
        text += "\n" + notes
    return text


def write_report(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Speed and memory benchmark: preprocessing and end-to-end predict.",
        epilog="Example: .venv/bin/python benchmarks/bench.py --docs 300 --small 100 "
               "--out /tmp/bench.md")
    p.add_argument("--docs", type=int, default=20_000, help="documents in the big collection")
    p.add_argument("--small", type=int, default=2_000,
                   help="documents in the small collection (peak RSS comparison)")
    p.add_argument("--out", type=Path, default=ROOT / "docs/benchmarks.md",
                   help="Markdown report to write (a trailing '## Notes' section is kept)")
    p.add_argument("--model", type=Path, default=ROOT / "models/default",
                   help="model directory")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic collections")
    args = p.parse_args(argv)
    if args.docs < 1 or args.small < 1:
        p.error("--docs and --small must be >= 1")
    if args.small > args.docs:
        p.error("--small must not exceed --docs")
    args.model, args.out = args.model.resolve(), args.out.resolve()
    if not (args.model / "model.json").is_file():
        p.error(f"{args.model}: no model here (make train)")
    return args


def step(message: str) -> Callable[[], None]:
    print(f"bench: {message} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    return lambda: print(f"bench:   done in {time.perf_counter() - start:.1f} s",
                         file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    passages = read_passages(TRAIN)
    texts = make_documents(passages, args.docs, args.seed)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="trafficlens-bench-") as tmp:
        work = Path(tmp)
        big_dir, small_dir, one_dir = work / "big", work / "small", work / "one"
        done = step(f"writing {args.docs:,} + {args.small:,} documents under {work}")
        big_bytes = write_collection(texts, big_dir)
        small_bytes = write_collection(texts[:args.small], small_dir)
        one_bytes = write_collection(texts[:1], one_dir)
        done()

        done = step("preprocessing alone (in-process, one core)")
        pre = bench_preprocess(args.model, texts, big_bytes, f"preprocess {args.docs}")
        results.append(pre)
        done()
        del texts

        done = step("TF-IDF + LR baseline (in-process, one core)")
        pieces = document_passages(passages, args.docs, args.seed)
        base = bench_baseline(pieces, big_bytes, args.docs, f"baseline TF-IDF + LR {args.docs} "
                              "(passages)")
        done()
        del pieces

        runs = [(big_dir, 1, big_bytes, args.docs, ""),
                (big_dir, 2, big_bytes, args.docs, ""),
                (small_dir, 1, small_bytes, args.small, ""),
                (one_dir, 1, one_bytes, 1, " (start-up)")]
        for folder, n_jobs, nbytes, n_docs, what in runs:
            name = f"predict {n_docs} --n-jobs {n_jobs}{what}"
            done = step(name)
            results.append(bench_predict(folder, args.model, n_jobs, nbytes, n_docs, name,
                                         work))
            done()

    results.append(base)
    pre, one, two, small, start, base = results
    extra = []
    if pre.sentences != one.sentences:
        extra += [f"Warning: preprocessing counted {pre.sentences:,} sentences, predict "
                  f"{one.sentences:,}: the two do not split the same way.", ""]
    checks = targets(pre, one, two, small, start, base)
    print(table(results))
    print()
    print("\n".join(checks))
    write_report(args.out, markdown(args, results, checks, extra, existing_notes(args.out)))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
