"""Write prediction records as JSONL (default) or CSV, atomically.

Files are written to a temporary name beside the target and renamed on success, so
an interrupted run never leaves a half-written output under the final name. CSV
rows flatten labels (``;``-joined) and scores (one column per label) so the file
opens directly in a spreadsheet; evidence goes in one JSON column. A CSV cell starting
with ``= + - @``, a tab or a carriage return gets a leading ``'``, so a spreadsheet
shows it as text instead of running it as a formula (OWASP's advice against CSV
injection); reading the output back (``--resume``, ``summarize``) removes it. Lone
surrogates from broken input are written as U+FFFD, so every output file is valid UTF-8.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from pipeline.errors import PipelineError
from pipeline.text.normalize import clean

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (what a mkdir -p would write into)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe(folder: Path, name: str, option: str) -> None:
    """Create and remove a temporary file in ``folder``: the one sure test of writing."""
    if not folder.is_dir():
        raise PipelineError(f"{option} {name}: cannot write there ({folder} is a file)")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".trafficlens-probe.", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        raise PipelineError(f"{option} {name}: cannot write in {folder} "
                            f"({err.strerror or err})") from None


def check_writable_file(path: Path, option: str = "--out") -> None:
    """Refuse, before any work is done, an output file that cannot be written: an
    existing folder, a path under a file, a read-only place."""
    path = Path(path)
    if path.is_dir():
        raise PipelineError(f"{option} {path}: a folder, not a file; name the output file")
    _probe(_nearest_existing(path.parent), str(path), option)


def check_writable_dir(path: Path, option: str = "--out") -> None:
    """Refuse, before any work is done, an output folder that cannot be written: an
    existing file, a path under a file, a read-only place."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PipelineError(f"{option} {path}: a file, not a folder; name a folder")
    _probe(_nearest_existing(path), str(path), option)


@contextmanager
def atomic_writer(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it to ``path`` only on success.

    Failing to create, or to rename onto, ``path`` is a one-line ``PipelineError``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise PipelineError(f"{path}: cannot write ({err.strerror or err})") from None
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; outputs are shared like open()'s
    try:
        kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
        try:
            os.replace(tmp, path)
        except OSError as err:
            raise PipelineError(f"{path}: cannot write ({err.strerror or err})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: Path, text: str) -> None:
    """Write a whole text file atomically."""
    with atomic_writer(path) as fh:
        fh.write(text)


#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a
    leading ``'`` (as does one already starting with ``'`` and such a character, so
    :func:`spreadsheet_plain` restores every value exactly)."""
    first, second = value[:1], value[1:2]
    if first in FORMULA_START or (first == "'" and second and second in (*FORMULA_START, "'")):
        return "'" + value
    return value


def spreadsheet_plain(value: str) -> str:
    """The value :func:`spreadsheet_safe` was given (reading a CSV output back)."""
    if value[:1] == "'" and value[1:2] and value[1:2] in (*FORMULA_START, "'"):
        return value[1:]
    return value


def flat_row(record: dict[str, Any]) -> dict[str, Any]:
    """One CSV row: scalars as they are, labels joined with ``;``, one column per score."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key == "labels":
            for set_name, labs in value.items():
                row[set_name] = ";".join(labs)
        elif key == "scores":
            for set_name, scores in value.items():
                for lab, score in scores.items():
                    row[f"score_{set_name}_{lab}"] = score
        elif key in PER_LABEL_COUNTS:
            for set_name, counts in value.items():
                for lab, count in counts.items():
                    row[f"{PER_LABEL_COUNTS[key]}{set_name}_{lab}"] = count
        elif key == "same_sentence":
            for stage, counts in value.items():
                for tech, count in counts.items():
                    row[f"same_sentence_{stage}_{tech}"] = count
        elif key == "evidence":  # already a JSON string in a row read back from a CSV
            row["evidence"] = value if isinstance(value, str) else json.dumps(
                value, ensure_ascii=False)
        else:
            row[key] = "" if value is None else value
    return row


def output_format(path: Path | None) -> str:
    if path is None:
        return "jsonl"
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise PipelineError(f"{path}: unsupported output format (use .jsonl, .csv or .parquet)")
    return fmt


def write_records(records: Iterable[dict[str, Any]], out: Path | None) -> int:
    """Write records to ``out`` (stdout when None); return how many were written."""
    fmt = output_format(out)
    if out is None:
        return _write(records, sys.stdout, fmt)
    with atomic_writer(Path(out)) as fh:
        return _write(records, fh, fmt)


def jsonl_line(record: dict[str, Any]) -> str:
    """One record as a line of JSONL output (newline included)."""
    return clean(json.dumps(record, ensure_ascii=False)) + "\n"


def _write(records: Iterable[dict[str, Any]], fh: IO[str], fmt: str) -> int:
    n = 0
    writer = None
    for record in records:
        if fmt == "jsonl":
            fh.write(jsonl_line(record))
        else:
            row = {k: spreadsheet_safe(clean(v)) if isinstance(v, str) else v
                   for k, v in flat_row(record).items()}
            if writer is None:
                writer = csv.DictWriter(fh, fieldnames=list(row), extrasaction="ignore")
                writer.writeheader()
            writer.writerow(row)
        n += 1
    return n


#: Prefixes of the flat columns that regroup into a per-set table (scores, sentence
#: counts, sentences per stage x technology pair).
GROUPED = ("score_", "sentences_", "needed_", "same_sentence_")
#: Per-label count tables of a document record and their flat column prefixes: the
#: evidence sentences a document has, and how many its length needs for the label.
PER_LABEL_COUNTS = {"evidence_sentences": "sentences_", "evidence_needed": "needed_"}
#: Columns of a flat (CSV, Parquet) record that are neither a label set nor a score.
RECORD_FIELDS = ("id", "source", "n_sentences", "evidence", "error",
                 "doc_id", "sentence", "start", "end", "text")


def nested(row: dict[str, Any]) -> dict[str, Any]:
    """A flat CSV/Parquet row back as the record :func:`flat_row` made it from.

    Label-set columns are split at ``;``; ``score_<set>_<label>``,
    ``sentences_<set>_<label>``, ``needed_<set>_<label>`` and
    ``same_sentence_<stage>_<technology>`` columns are regrouped, evidence parsed;
    empty cells (CSV) and missing values (Parquet) become None.
    """
    def value(v: Any) -> Any:
        if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
            return None
        return v

    sets = [k for k in row if k not in RECORD_FIELDS and not k.startswith(GROUPED)]
    record: dict[str, Any] = {k: value(row[k]) for k in RECORD_FIELDS if k in row}
    record["labels"] = {s: [x for x in str(value(row[s]) or "").split(";") if x] for s in sets}
    record["scores"] = {s: {} for s in sets}
    for field, prefix in PER_LABEL_COUNTS.items():
        if any(k.startswith(prefix) for k in row):
            record[field] = {s: {} for s in sets}
    by_length = sorted(sets, key=len, reverse=True)  # "score_a_b_x": set "a_b" before "a"
    for key, v in row.items():
        for prefix, field, kind in (("score_", "scores", float),
                                    *((p, f, int) for f, p in PER_LABEL_COUNTS.items())):
            if not key.startswith(prefix):
                continue
            for s in by_length:
                if key.startswith(f"{prefix}{s}_"):
                    record[field][s][key[len(prefix) + len(s) + 1:]] = (
                        float(value(v) or 0) if kind is float else count_cell(v, key))
                    break
    same = {k: v for k, v in row.items() if k.startswith("same_sentence_")}
    if same:
        record["same_sentence"] = _same_sentence(same, record["scores"])
    if "evidence" in record:
        record["evidence"] = json.loads(record["evidence"]) if record["evidence"] else {}
    for key in ("n_sentences", "sentence", "start", "end"):
        if record.get(key) is not None:
            record[key] = count_cell(record[key], key)
    return record


def count_cell(v: Any, column: str) -> int:
    """A cell holding a count: a whole number >= 0 (empty or missing: 0); else a
    ValueError naming the column."""
    if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
        return 0
    try:
        number = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{column}: {v!r} is not a count") from None
    if not math.isfinite(number) or number < 0 or number != int(number):
        raise ValueError(f"{column}: {v!r} is not a count (a whole number >= 0)")
    return int(number)


def _same_sentence(columns: dict[str, Any],
                   scores: dict[str, dict[str, float]]) -> dict[str, dict[str, int]]:
    """``same_sentence_<stage>_<technology>`` columns back as a stage -> technology table.

    Label names hold underscores (``camera_microphone``), so a column is split at a
    known stage label (from the ``score_stage_*`` columns, longest first), else before
    a known technology label, else at its first underscore.
    """
    stages = sorted(scores.get("stage", {}), key=len, reverse=True)
    techs = sorted(scores.get("technology", {}), key=len, reverse=True)
    table: dict[str, dict[str, int]] = {}
    for key, v in columns.items():
        rest = key[len("same_sentence_"):]
        stage = next((s for s in stages if rest.startswith(f"{s}_")), None)
        if stage is None:
            tech = next((t for t in techs if rest.endswith(f"_{t}")), None)
            stage = rest[:-len(tech) - 1] if tech else rest.partition("_")[0]
        tech = rest[len(stage) + 1:]
        if not stage or not tech or (stages and stage not in stages) or (
                techs and tech not in techs):
            raise ValueError(f"{key}: names no stage and technology of this output")
        table.setdefault(stage, {})[tech] = count_cell(v, key)
    return table


def read_output(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a finished ``predict`` output (JSONL, CSV or Parquet), as in JSONL."""
    fmt = output_format(path)
    for n, row in enumerate(_read_any(Path(path), fmt), 1):
        if fmt == "jsonl":
            yield row
            continue
        try:
            yield nested(row)
        except ValueError as err:
            raise ValueError(f"row {n}: {err}") from None


def starts_document(record: dict[str, Any]) -> bool:
    """Whether a record is its document's first: every document record, and a sentence
    record numbered 1 or without a number (the one record of an unreadable document)."""
    if "doc_id" not in record:
        return True
    n = record.get("sentence")
    return n is None or n == "" or n == 1 or n == "1" or (isinstance(n, float) and math.isnan(n))


def position_key(source: object) -> str:
    """What identifies an input document's place across runs: its ``source`` (the file,
    or ``file:line`` / ``file:row N`` of a table row) as written to the output (lone
    surrogates of undecodable file names become U+FFFD there)."""
    return clean(str(source))


class ResumableOutput:
    """Streams records to ``<out>.partial`` (JSONL, flushed per batch) and, on success,
    writes ``out`` in its format from any earlier complete output plus the partial.

    With ``resume``, :meth:`done` counts the documents already in ``out`` or in a
    partial left by an interrupted run, per input position (:func:`position_key`), so
    the same documents are skipped however their ids look; what an interruption cut
    off (a partial line, and at sentence level the last document's records) is dropped
    and done again.
    """

    def __init__(self, out: Path, *, resume: bool = False) -> None:
        self.out = Path(out)
        self.fmt = output_format(self.out)
        self.partial = self.out.with_name(self.out.name + ".partial")
        self.resume = resume
        self._fh: IO[str] | None = None

    def done(self) -> Counter[str]:
        """How many documents of each input position are already written (empty unless
        resuming)."""
        done: Counter[str] = Counter()
        if not self.resume:
            return done
        if self.out.exists():
            done.update(position_key(r.get("source")) for r in _read_any(self.out, self.fmt)
                        if starts_document(r))
        done.update(_repair_partial(self.partial))
        return done

    def __enter__(self) -> ResumableOutput:
        """Open ``<out>.partial`` under an exclusive lock: a second run writing the same
        output is refused at once instead of mixing its records into this one's."""
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._fh = _open_locked(self.partial)
        if not self.resume:
            self._fh.truncate(0)
        return self

    def write(self, records: Iterable[dict[str, Any]]) -> int:
        return self.write_lines(map(jsonl_line, records))

    def write_lines(self, lines: Iterable[str]) -> int:
        """Write records already encoded by :func:`jsonl_line`."""
        assert self._fh is not None
        n = 0
        for line in lines:
            self._fh.write(line)
            n += 1
        self._fh.flush()
        return n

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._fh is not None
        try:
            self._fh.flush()
            if exc_type is None:
                self._finish()  # under the lock, so no other run adopts the partial
            elif os.fstat(self._fh.fileno()).st_size == 0:
                self.partial.unlink()  # nothing to resume: leave nothing behind
        finally:
            self._fh.close()

    def _finish(self) -> None:
        def records() -> Iterator[dict[str, Any]]:
            if self.resume and self.out.exists():
                yield from _read_any(self.out, self.fmt)
            with open(self.partial, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield json.loads(line)

        if self.fmt == "parquet":
            _write_parquet(records(), self.out)
        elif self.fmt == "jsonl" and not (self.resume and self.out.exists()):
            # the partial file already holds the output's lines: copy, do not re-encode
            with atomic_writer(self.out) as fh, open(self.partial, encoding="utf-8",
                                                      newline="") as src:
                shutil.copyfileobj(src, fh, 1 << 20)
        else:
            with atomic_writer(self.out) as fh:
                _write(records(), fh, self.fmt)
        self.partial.unlink()


def _open_locked(path: Path) -> IO[str]:
    """``path`` opened for appending, locked exclusively (``flock``, where available).

    The lock is re-taken when ``path`` was replaced or removed meanwhile (a finishing
    run unlinks its partial file), so the file locked is the one ``path`` names.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Windows
        return open(path, "a", encoding="utf-8", newline="")
    while True:
        fh = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115 (returned open)
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise PipelineError(f"{path}: another trafficlens predict is writing this "
                                "output; wait for it to finish or choose another --out") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fh
        fh.close()


def _repair_partial(partial: Path) -> Counter[str]:
    """Documents per input position in a partial output; cut it after its last
    complete document.

    Records are written whole with a trailing newline, so text after the last newline
    (or from the first line that does not parse) is what an interruption left. At
    sentence level the last document's records may be incomplete too: they are cut.
    """
    done: Counter[str] = Counter()
    if not partial.exists():
        return done
    data = partial.read_bytes()
    good_end = 0
    last_start, last_key, last_is_sentence = 0, None, False
    for line in data.split(b"\n")[:-1]:
        if line.strip():
            try:
                record = json.loads(line)
            except ValueError:
                break
            if starts_document(record):
                last_start, last_key = good_end, position_key(record.get("source"))
                last_is_sentence = "doc_id" in record
                done[last_key] += 1
        good_end += len(line) + 1
    if last_is_sentence and last_key is not None:
        done[last_key] -= 1
        good_end = last_start
    if good_end < len(data):
        with open(partial, "r+b") as fh:
            fh.truncate(good_end)
    return +done


def _read_any(path: Path, fmt: str) -> Iterator[dict[str, Any]]:
    """Records of a finished output file (CSV and Parquet rows come back flat)."""
    if fmt == "jsonl":
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)
    elif fmt == "csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for n, row in enumerate(csv.DictReader(fh), 1):
                if None in row:  # DictReader's key for cells beyond the header
                    raise ValueError(f"row {n}: {len(row) - 1 + len(row[None])} cells for "
                                     f"{len(row) - 1} columns: not a CSV output of predict")
                yield {k: spreadsheet_plain(v) if isinstance(v, str) else v
                       for k, v in row.items()}
    else:
        import pandas as pd

        yield from pd.read_parquet(path).to_dict("records")


def _write_parquet(records: Iterable[dict[str, Any]], out: Path, chunk: int = 5000) -> int:
    """Write flat rows to Parquet in chunks (bounded memory), atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n, writer, rows = 0, None, []
    with atomic_writer(out, "wb") as fh:
        def flush() -> None:
            nonlocal writer
            table = pa.Table.from_pylist(rows, schema=writer.schema if writer else None)
            if writer is None:
                writer = pq.ParquetWriter(fh, table.schema)
            writer.write_table(table)
            rows.clear()

        for record in records:
            row = record if "labels" not in record else flat_row(record)
            rows.append({k: clean(v) if isinstance(v, str) else v for k, v in row.items()})
            n += 1
            if len(rows) >= chunk:
                flush()
        if rows or writer is None:
            flush()
        writer.close()
    return n
