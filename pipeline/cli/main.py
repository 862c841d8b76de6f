"""The ``trafficlens`` command line: thin commands over the library functions."""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from pipeline import __version__
from pipeline.errors import PipelineError
from pipeline.io.inputs import READERS

app = typer.Typer(
    name="trafficlens",
    help="Label report text by human-trafficking stage and technology.\n\n"
         "The labels are defined in docs/labeling-guide.md (in the project's repository).\n\n"
         "Example: trafficlens predict data/examples --out predictions.jsonl",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Check, split and compare annotated corpora.\n\n"
                            "Example: trafficlens data check data/corpus",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")

OVERRIDES = {"allow_extra_args": True, "ignore_unknown_options": True}
DEFAULT_CONFIG = Path("configs/default.toml")


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn bad-input errors into one line on stderr and exit code 1."""
    try:
        yield
    except PipelineError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"trafficlens {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool | None, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = None
         ) -> None:
    """Label report text by human-trafficking stage and technology."""
    warnings.formatwarning = _one_line_warning


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


@app.command(context_settings=OVERRIDES)
def train(
    ctx: typer.Context,
    config: Annotated[Path, typer.Option(help="Run configuration (TOML).")] = DEFAULT_CONFIG,
    data: Annotated[list[Path] | None, typer.Option(
        help="Annotated JSONL file or folder; repeat for several. Default: the config's "
             "paths.train.")] = None,
    out: Annotated[Path, typer.Option(help="Model directory to write.")] = Path("models/default"),
    force: Annotated[bool, typer.Option(help="Replace an existing model directory.")] = False,
) -> None:
    """Train a model: tune per-label thresholds by cross-validation, then fit on all data.

    Any config value can be overridden with --section.key VALUE.

    Example: trafficlens train --config configs/default.toml --out models/default --model.C 2
    """
    from pipeline.config import load_config, parse_overrides
    from pipeline.evaluation.metrics import fmt
    from pipeline.model.train import fit_and_save

    with user_errors():
        cfg = load_config(config, parse_overrides(ctx.args))
        start = time.perf_counter()
        model = fit_and_save(cfg, data, out, force=force, progress=_say)
        cv = model.card["cv_metrics"]
        sets = ", ".join(f"{s.name} {fmt(cv[s.name]['macro_f1'])}" for s in cfg.label_sets)
        typer.echo(f"saved {out} ({model.card['training_data']['n_passages']} passages, "
                   f"{time.perf_counter() - start:.0f} s); cross-validated macro-F1: {sets}")


@app.command(context_settings=OVERRIDES)
def evaluate(
    ctx: typer.Context,
    data: Annotated[list[Path], typer.Option(help="Annotated JSONL file or folder; repeatable.")],
    model: Annotated[Path, typer.Option(help="Model directory.")] = Path("models/default"),
    report_dir: Annotated[Path, typer.Option(
        help="Where to write metrics.json, report.md, report.html and plots.")]
    = Path("reports/eval"),
    config: Annotated[Path, typer.Option(
        help="Config: [report] settings, [gates], and what --cv trains.")] = DEFAULT_CONFIG,
    cv: Annotated[int | None, typer.Option(
        min=2, help="Instead of a saved model, K-fold cross-validate the config on --data.")]
    = None,
    compare: Annotated[Path | None, typer.Option(
        help="An earlier metrics.json: report the change per label, mark drops.")] = None,
    gate: Annotated[bool, typer.Option(
        help="Exit 1 when a figure is below the config's [gates].")] = False,
) -> None:
    """Evaluate a model on annotated passages, with baselines, plots and errors.

    Writes metrics.json, report.md, a self-contained report.html and PNG plots. With
    --cv K it cross-validates the config instead and reports mean ± std per metric.

    Sentences of whole documents (records with a doc field) are also scored as
    documents, each scored whole as predict scores it.

    Example: trafficlens evaluate --model models/default --data
    data/documents/splits/test.jsonl --gate
    """
    from pipeline.config import load_config, parse_overrides
    from pipeline.corpus.read import read_corpus
    from pipeline.evaluation.evaluate import check_gates, evaluate_files
    from pipeline.evaluation.evaluate import compare as compare_metrics
    from pipeline.evaluation.report import summary_table, write_reports
    from pipeline.io.outputs import check_writable_dir, write_text
    from pipeline.model.persistence import load_model

    with user_errors():
        check_writable_dir(report_dir, "--report-dir")
        cfg = load_config(config, parse_overrides(ctx.args))
        if cv is not None:
            from pipeline.evaluation.crossval import cross_validate, cv_table

            passages = read_corpus(data, cfg.label_sets, exclude=cfg.data.holdout_files)
            result = cross_validate(passages, cfg, cv, progress=_say)
            table = cv_table(result)
            write_text(report_dir / "cv_metrics.json", json.dumps(result, indent=2) + "\n")
            write_text(report_dir / "cv_report.md", "# trafficlens cross-validation\n\n" + table)
            typer.echo(table)
            typer.echo(f"wrote {report_dir / 'cv_metrics.json'}, {report_dir / 'cv_report.md'}")
            return
        loaded = load_model(model, expect=cfg)
        result = evaluate_files(loaded, data)
        comparison = (compare_metrics(result.metrics, compare, cfg.report.compare_tolerance)
                      if compare else None)
        failures = check_gates(result.metrics, cfg.gates) if gate else None
        paths = write_reports(result, loaded, report_dir, data, comparison, failures,
                              cfg.report)
        typer.echo(summary_table(result.metrics))
        if comparison:
            for r in comparison["rows"]:
                if r["drop"]:
                    typer.echo(f"DROP {r['set']}.{r['label']}: {r['old']:.3f} -> {r['new']:.3f}")
        typer.echo(f"wrote {', '.join(str(p) for p in paths[:3])} and {len(paths) - 3} plots")
        if failures is not None:
            if failures:
                typer.echo("quality gate FAILED:\n  " + "\n  ".join(failures), err=True)
                raise typer.Exit(1)
            typer.echo("quality gate passed")


@app.command()
def predict(
    inputs: Annotated[list[str], typer.Argument(
        help=f"Files ({' '.join(sorted(READERS))}), folders (recursive), or - for stdin.")],
    model: Annotated[Path, typer.Option(help="Model directory.")] = Path("models/default"),
    out: Annotated[Path | None, typer.Option(
        help="Output file: .jsonl, .csv or .parquet. Default: JSONL on stdout.")] = None,
    level: Annotated[str, typer.Option(help="One record per 'document' or per 'sentence'.")]
    = "document",
    evidence: Annotated[int | None, typer.Option(
        min=0, help="Evidence sentences per label (default: the model's config).")] = None,
    text_column: Annotated[str, typer.Option(
        help="Text field of .jsonl/.csv/.parquet inputs.")] = "text",
    id_column: Annotated[str, typer.Option(
        help="Id field of .jsonl/.csv/.parquet inputs.")] = "id",
    max_bytes: Annotated[int, typer.Option(
        min=1, help="Files (and the text unpacked from them) larger than this become "
                    "error records.")] = 200 * 1024 * 1024,
    n_jobs: Annotated[int, typer.Option(
        min=1, help="Worker processes (model loaded once each).")] = 1,
    engine: Annotated[str, typer.Option(help="'local' or 'dask'.")] = "local",
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address (tcp://host:8786); default: a local cluster.")] = None,
    resume: Annotated[bool, typer.Option(
        help="Continue an interrupted run: skip documents already in --out.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
) -> None:
    """Label documents by stage and technology, with the sentences that justify each label.

    Every input document gives exactly one record (one per sentence with --level
    sentence); a document that cannot be read gets a record with an "error" field.

    Example: trafficlens predict data/examples --out predictions.csv --n-jobs 2
    """
    from pipeline.batch.predict import PredictOptions
    from pipeline.batch.run import run_predict
    from pipeline.io.inputs import ReadOptions
    from pipeline.model.persistence import load_model

    with user_errors():
        settings = dict(level=level, evidence=evidence, engine=engine, n_jobs=n_jobs,
                        scheduler=scheduler)
        PredictOptions(**settings)  # bad options fail before the model loads
        loaded = load_model(model)
        stats = run_predict(
            inputs, loaded, model,
            PredictOptions(**settings, batch_docs=loaded.config.predict.batch_docs),
            out=out, read_options=ReadOptions(text_column=text_column, id_column=id_column,
                                              max_bytes=max_bytes),
            resume=resume, wrap=lambda docs: _progress(docs, quiet))
        if not quiet:
            _say(stats.line() + (f" -> {out}" if out else ""))


def _progress(items, quiet: bool):
    """Wrap an iterator with a progress display on stderr when it is a terminal."""
    if quiet or not sys.stderr.isatty():
        yield from items
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("classifying"), BarColumn(), TextColumn("{task.completed} documents"),
               TextColumn("{task.fields[rate]} docs/s"), TimeElapsedColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("predict", total=None, rate="-")
        start = time.perf_counter()
        for n, item in enumerate(items, 1):
            yield item
            rate = n / max(time.perf_counter() - start, 1e-9)
            bar.update(task, completed=n, rate=f"{rate:.0f}")


@app.command()
def info(model: Annotated[Path, typer.Option(help="Model directory.")] = Path("models/default"),
         ) -> None:
    """Show a model's card: labels, thresholds, training data and cross-validated F1.

    Example: trafficlens info --model models/default
    """
    from pipeline.model.persistence import load_model

    with user_errors():
        loaded = load_model(model)
        card = loaded.card
        typer.echo(f"model: {model}  created: {card.get('created')}")
        td = card.get("training_data", {})
        typer.echo(f"trained on {td.get('n_passages')} passages (sha256 {td.get('sha256')})")
        cv = card.get("cv_metrics", {})
        for s in loaded.config.label_sets:
            typer.echo(f"{s.name}: cross-validated macro-F1 {cv.get(s.name, {}).get('macro_f1')}")
            for lab in s.labels:
                t = card["thresholds"][s.name][lab]
                f1 = cv.get(s.name, {}).get("per_label", {}).get(lab, {}).get("f1")
                typer.echo(f"  {lab:20s} threshold {t:.2f}  cv F1 {f1}")
        typer.echo(json.dumps(card.get("versions", {})))


@data_app.command("check")
def data_check(
    paths: Annotated[list[Path], typer.Argument(help="Annotated JSONL files or folders.")],
    config: Annotated[Path, typer.Option(help="Config with label sets and [data] checks.")]
    = DEFAULT_CONFIG,
) -> None:
    """Validate annotated data and print label counts, no-label shares and duplicates.

    Passages are checked by the config's [data] table; sentences of whole documents
    (records with a doc field) by its [documents] table, which also checks them
    against their text files and against published text. Exits 1 when a record is
    invalid or a check fails.

    Example: trafficlens data check data/corpus
    """
    from pipeline.config import load_config
    from pipeline.corpus.datacheck import check_corpus, format_check
    from pipeline.corpus.doccheck import check_documents, format_document_check
    from pipeline.corpus.read import is_document_corpus, read_corpus

    with user_errors():
        cfg = load_config(config)
        passages = read_corpus(paths, cfg.label_sets)
        if is_document_corpus(passages):
            result = check_documents(passages, cfg)
            typer.echo(format_document_check(result))
        else:
            result = check_corpus(passages, cfg)
            typer.echo(format_check(result))
        if not result.ok:
            raise typer.Exit(1)


@data_app.command("split")
def data_split(
    corpus: Annotated[list[Path], typer.Argument(help="Annotated JSONL files or folders.")],
    out_dir: Annotated[Path, typer.Option(help="Where train.jsonl and test.jsonl go.")]
    = Path("data/splits"),
    config: Annotated[Path, typer.Option(help="Config: label sets, seed, data.test_size.")]
    = DEFAULT_CONFIG,
) -> None:
    """Write a fixed train/test split, stratified by label and register (seeded).

    Sentences of whole documents (records with a doc field) are split by document.
    For passages, also writes starter.jsonl, a small stratified subset of train
    (data.starter_size), to measure what the full corpus adds.

    Files named in the config's data.holdout_files are left out of both.

    Example: trafficlens data split data/corpus --out-dir data/splits
    """
    from pipeline.config import load_config
    from pipeline.corpus.read import by_document, is_document_corpus, read_corpus
    from pipeline.corpus.split import split_documents, split_passages, starter_subset, write_jsonl
    from pipeline.io.outputs import check_writable_dir

    with user_errors():
        check_writable_dir(out_dir, "--out-dir")
        cfg = load_config(config)
        passages = read_corpus(corpus, cfg.label_sets, exclude=cfg.data.holdout_files)
        if is_document_corpus(passages):
            train_set, test_set = split_documents(passages, cfg)
            write_jsonl(train_set, out_dir / "train.jsonl", cfg)
            write_jsonl(test_set, out_dir / "test.jsonl", cfg)
            typer.echo(f"train: {len(by_document(train_set))} documents "
                       f"({len(train_set)} sentences), test: {len(by_document(test_set))} "
                       f"documents ({len(test_set)} sentences) -> {out_dir}")
            return
        train_set, test_set = split_passages(passages, cfg)
        write_jsonl(train_set, out_dir / "train.jsonl", cfg)
        write_jsonl(test_set, out_dir / "test.jsonl", cfg)
        starter = starter_subset(train_set, cfg)
        write_jsonl(starter, out_dir / "starter.jsonl", cfg)
        typer.echo(f"train: {len(train_set)}, test: {len(test_set)}, starter (subset of train): "
                   f"{len(starter)} passages -> {out_dir}")


@data_app.command("agreement")
def data_agreement(
    first: Annotated[Path, typer.Argument(help="Labels of the first annotator (JSONL).")],
    second: Annotated[Path, typer.Argument(help="Labels of the second annotator (JSONL).")],
    config: Annotated[Path, typer.Option(help="Config with the label sets.")] = DEFAULT_CONFIG,
) -> None:
    """Inter-annotator agreement: Cohen's kappa per label, macro-F1 per set.

    Records need id and the label lists; text is optional here.

    Example: trafficlens data agreement data/annotation/first_annotator.jsonl \
    data/annotation/second_annotator.jsonl
    """
    from pipeline.config import load_config
    from pipeline.corpus.agreement import agreement
    from pipeline.corpus.read import read_corpus

    with user_errors():
        cfg = load_config(config)
        sets = [read_corpus([f], cfg.label_sets, require_text=False) for f in (first, second)]
        result = agreement(sets[0], sets[1], cfg)
        typer.echo(f"passages: {result['n']}, with any disagreement: "
                   f"{result['disagreeing_passages']}")
        for s in cfg.label_sets:
            typer.echo(f"{s.name}: macro-F1 {result['macro_f1'][s.name]:.3f}")
            for lab in s.labels:
                typer.echo(f"  {lab:20s} kappa {result['kappa'][lab]:.3f}")


@data_app.command("cues", context_settings=OVERRIDES)
def data_cues(
    ctx: typer.Context,
    data: Annotated[list[Path] | None, typer.Option(
        help="Annotated JSONL file or folder; repeat for several. Default: the config's "
             "paths.train.")] = None,
    config: Annotated[Path, typer.Option(help="Config naming the cue file (paths.cues).")]
    = DEFAULT_CONFIG,
    min_precision: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="Flag terms whose corpus precision is below this. "
        "Default: the cue file's [precision] rule.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the table as CSV.")] = None,
) -> None:
    """Cue terms worst first: normal form, passages matched, share carrying the label.

    The precision of a term is the share of the passages it matches that carry its
    label. A term that breaks the cue file's [precision] rule (below min_precision on
    at least min_matches passages) is flagged with "!", an exempt one with "~"; the run
    exits 1 when any term is flagged "!". A term that normalises badly (to nothing, a
    stop word or a placeholder) is an error.

    Settings can be overridden as --section.key value, e.g. --paths.cues my_cues.toml.

    Example: trafficlens data cues --data data/corpus --out reports/cues.csv
    """
    import dataclasses

    from pipeline.config import load_config, parse_overrides
    from pipeline.corpus.cuestats import cue_report
    from pipeline.corpus.read import read_corpus
    from pipeline.text.cues import read_precision_rule

    with user_errors():
        cfg = load_config(config, parse_overrides(ctx.args))
        paths = list(data) if data else list(cfg.paths.train)
        if not paths:
            raise PipelineError(f"{config}: paths.train is empty; name the data with --data")
        passages = read_corpus(paths, cfg.label_sets)
        stats = cue_report(cfg, passages)
        rule = read_precision_rule(cfg.paths.cues)
        if min_precision is not None:
            rule = dataclasses.replace(rule, min_precision=min_precision)
        strict = dataclasses.replace(rule, exempt=frozenset())
        typer.echo(f"{'':1} {'label':28} {'term':28} {'normal form':28} matched  precision")
        flagged = 0
        for s in stats:
            broken = rule.violated(s.label, s.term, s.matched, s.precision)
            flagged += broken
            flag = "!" if broken else "~" if strict.violated(
                s.label, s.term, s.matched, s.precision) else " "
            prec = "-" if s.precision is None else f"{s.precision:.2f}"
            typer.echo(f"{flag} {s.label:28} {s.term:28} {s.normal:28} {s.matched:7d}  {prec:>9}")
        typer.echo(f"{len(stats)} terms on {len(passages)} passages; {flagged} below precision "
                   f"{rule.min_precision:.2f} on >= {rule.min_matches} passages "
                   f"({len(rule.exempt)} exempt); {sum(s.matched == 0 for s in stats)} never match")
        if out is not None:
            import csv

            from pipeline.io.outputs import atomic_writer
            from pipeline.io.readers.base import os_reason

            try:
                with atomic_writer(out) as fh:
                    writer = csv.writer(fh)
                    writer.writerow(["label", "term", "normal_form", "matched", "correct",
                                     "precision"])
                    for s in stats:
                        writer.writerow([s.label, s.term, s.normal, s.matched, s.correct,
                                         "" if s.precision is None else round(s.precision, 4)])
            except OSError as err:
                raise PipelineError(f"{out}: cannot write ({os_reason(err)})") from None
            typer.echo(f"wrote {out}")
        if flagged:
            raise typer.Exit(1)


@data_app.command("import")
def data_import(
    templates: Annotated[list[Path], typer.Argument(
        help="Filled templates (DOC.labels.tsv, beside DOC.txt).")],
    out: Annotated[Path, typer.Option(help="Sentence records to write (JSONL).")],
    writer: Annotated[str, typer.Option(help="Who wrote and annotated the documents.")],
    doc_root: Annotated[Path, typer.Option(
        help="Document ids are the text files' paths relative to this folder.")] = Path("."),
    register: Annotated[str | None, typer.Option(
        help="Register of every document. Default: the folder each text is in.")] = None,
    config: Annotated[Path, typer.Option(help="Config with label sets and preprocessing.")]
    = DEFAULT_CONFIG,
) -> None:
    """Turn filled annotation templates into sentence records for training and checks.

    One record per sentence as predict splits the document now (id, doc, seq, start,
    end, text, labels, register, writer). If the splitter changed since the template
    was written, labels move to the sentence that holds most of the old one.

    Example: trafficlens data import data/documents/texts/news/*.labels.tsv \
    --writer wD --doc-root data/documents/texts --out data/documents/sentences/wD.jsonl
    """
    from pipeline.config import load_config
    from pipeline.corpus.documents import import_template, text_of

    with user_errors():
        cfg = load_config(config)
        records, moved = [], 0
        root = doc_root.resolve()
        seen: dict[str, Path] = {}
        target = out.resolve()
        for template in templates:
            source = text_of(template).resolve()
            if target in (source, template.resolve()):
                raise PipelineError(f"{out}: --out would replace the input {target}")
            try:
                doc = source.relative_to(root).with_suffix("").as_posix()
            except ValueError:
                raise PipelineError(f"{source}: not inside --doc-root {doc_root}") from None
            if doc in seen:
                raise PipelineError(f"{template}: document {doc} is already imported from "
                                    f"{seen[doc]}")
            seen[doc] = template
            result = import_template(template, cfg, doc=doc,
                                     register=register or source.parent.name, writer=writer)
            records.extend(result.records)
            moved += result.moved
        from pipeline.io.outputs import write_text
        from pipeline.io.readers.base import os_reason

        try:
            write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        except OSError as err:
            raise PipelineError(f"{out}: cannot write ({os_reason(err)})") from None
        typer.echo(f"{len(templates)} documents, {len(records)} sentences -> {out}"
                   + (f" ({moved} sentences re-segmented since the template)" if moved else ""))


@data_app.command("fingerprint")
def data_fingerprint(
    texts: Annotated[list[Path], typer.Argument(
        help="Published texts the writers read (UTF-8 files or folders of .txt).")],
    out: Annotated[Path, typer.Option(help="Fingerprint file to write.")],
    words: Annotated[int, typer.Option(min=3, help="Length of the word sequences.")] = 8,
) -> None:
    """Hash every word sequence of published texts, for the corpus's originality check.

    Only hashes are written, never text, so the file can be shipped beside the corpus;
    data check ([documents].fingerprint) then fails on any shared sequence.

    Example: trafficlens data fingerprint reading/ docs/labeling-guide.md \
    --out data/documents/provenance/published_8grams.txt
    """
    from pipeline.corpus.documents import read_document
    from pipeline.corpus.overlap import fingerprint, write_fingerprint

    with user_errors():
        files = []
        for path in texts:
            if path.is_dir():
                files.extend(sorted(p for p in path.rglob("*.txt") if p.is_file()))
            elif path.is_file():
                files.append(path)
            else:
                raise PipelineError(f"{path}: no such file or directory")
        if out.resolve() in {f.resolve() for f in files}:
            raise PipelineError(f"{out}: --out is one of the published texts; name a new file")
        contents = [read_document(f) for f in files]  # decoded as documents are
        hashes = fingerprint(contents, words)
        write_fingerprint(hashes, out, words, note=f"{len(files)} texts")
        typer.echo(f"{len(files)} texts, {len(hashes)} distinct {words}-word sequences -> {out}")


@data_app.command("segment")
def data_segment(
    documents: Annotated[list[Path], typer.Argument(help="Plain-text (.txt) documents.")],
    config: Annotated[Path, typer.Option(help="Config with the preprocessing settings.")]
    = DEFAULT_CONFIG,
    force: Annotated[bool, typer.Option(
        help="Replace a template that already holds labels.")] = False,
) -> None:
    """Write an annotation template DOC.labels.tsv beside each document.

    One row per sentence exactly as predict splits the document: seq, start, end
    (character offsets into the file's text), empty stage and technology columns
    (labels joined with ";"), and the sentence text. The file is decoded as predict
    decodes it, so the offsets are predict's.

    Example: trafficlens data segment data/documents/texts/news/arrest_report.txt
    """
    from pipeline.config import load_config
    from pipeline.corpus.documents import read_document, write_template

    with user_errors():
        cfg = load_config(config)
        for doc in documents:
            out = doc.with_suffix(".labels.tsv")
            n = write_template(read_document(doc), out, cfg, force=force)
            typer.echo(f"{doc}: {n} sentences -> {out}")


@app.command()
def summarize(
    predictions: Annotated[Path, typer.Argument(
        help="Output of predict (per document, or per sentence with --level sentence): "
             ".jsonl, .csv or .parquet.")],
    out: Annotated[Path | None, typer.Option(
        help="Also write CSV, Markdown and a PNG heatmap to this folder.")] = None,
    count: Annotated[str, typer.Option(
        help="What a cell of the stage x technology table counts: 'sentences' naming "
             "both labels, or 'documents' carrying both.")] = "sentences",
    config: Annotated[Path | None, typer.Option(
        help="Config whose [labels.*] give the table's rows, columns and their order. "
             f"Default: {DEFAULT_CONFIG} if it exists, else the labels of the "
             "predictions.")] = None,
) -> None:
    """Summarise a collection's predictions: documents per label, stage x technology table.

    The table counts, per stage and technology, the sentences labelled with both (the
    default), or with --count documents the documents carrying both. Every label of
    both sets is shown, in the config's order, zeros included.

    Example: trafficlens summarize predictions.jsonl --out reports/summary
    """
    from pipeline.config import load_config
    from pipeline.evaluation.summarize import (
        COUNTS,
        documents,
        label_order,
        read_predictions,
        text_table,
        write_summary,
    )
    from pipeline.evaluation.summarize import summarize as summarize_records
    from pipeline.io.outputs import check_writable_dir

    with user_errors():
        if count not in COUNTS:
            raise PipelineError(f"--count: {count!r} is not one of {', '.join(COUNTS)}")
        if config is None and DEFAULT_CONFIG.is_file():
            config = DEFAULT_CONFIG
        cfg = load_config(config) if config is not None else None
        if out is not None:
            check_writable_dir(out, "--out")
        records = read_predictions(predictions)
        order = label_order(records, cfg)
        try:
            summary = summarize_records(records, count, order)
        except PipelineError as err:
            raise PipelineError(f"{predictions}: {err}") from None
        typer.echo(f"documents: {summary.documents} ({summary.errors} with errors), "
                   f"{summary.sentences} sentences")
        if records:
            typer.echo()
        for r in documents(records):
            labs = "; ".join(f"{s}: {', '.join(v) or '-'}" for s, v in r["labels"].items())
            typer.echo(f"{r.get('id')}: {r.get('error') or labs}")
        if summary.empty:
            typer.echo(f"\n{summary.note}")
        else:
            typer.echo("\ndocuments per label:")
            typer.echo(text_table(summary.labels, index=False))
            typer.echo(f"\n{summary.title[0].lower()}{summary.title[1:]}:")
            typer.echo(text_table(summary.matrix))
            if summary.note:
                typer.echo(summary.note)
        if out is not None:
            paths = write_summary(records, out, count, order)
            typer.echo(f"\nwrote {', '.join(str(p) for p in paths)}")


if __name__ == "__main__":  # pragma: no cover
    app()
