"""``predict`` and ``summarize``: label a collection, then count what it holds."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.app import (
    CONFIG_HELP,
    MASK_HELP,
    _say,
    app,
    pii_settings,
    run_config,
    user_errors,
)
from pipeline.errors import PipelineError
from pipeline.io.inputs import READERS


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
    mask_pii: Annotated[bool, typer.Option(
        "--mask-pii", help=MASK_HELP)] = False,
    config: Annotated[Path | None, typer.Option(
        help="Config whose \\[pii] section --mask-pii follows. " + CONFIG_HELP)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
) -> None:
    """Label documents by stage and technology, with the sentences that justify each label.

    Every input document gives exactly one record (one per sentence with --level
    sentence); a document that cannot be read gets a record with an "error" field.
    Offsets (start, end) point into the original text, also with --mask-pii.

    Example: trafficlens predict data/examples --out predictions.csv --n-jobs 2
    """
    from pipeline.batch.predict import PredictOptions
    from pipeline.batch.run import run_predict
    from pipeline.io.inputs import ReadOptions
    from pipeline.model.persistence import load_model

    with user_errors():
        settings = dict(level=level, evidence=evidence, engine=engine, n_jobs=n_jobs,
                        scheduler=scheduler,
                        mask=pii_settings(run_config(config, optional=True)) if mask_pii
                        else None)
        PredictOptions(**settings)  # bad options fail before the model loads
        if resume and mask_pii and out is not None and out.exists():
            _say(f"warning: --resume keeps the records already in {out} as they were "
                 "written; if that run had no --mask-pii, they are not masked")
        loaded = load_model(model, estimator=False)
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
    if quiet or sys.stderr is None or not sys.stderr.isatty():
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
             "Default: configs/default.toml (see --help of train), else the labels of the "
             "predictions.")] = None,
) -> None:
    """Summarise a collection's predictions: documents per label, stage x technology table.

    The table counts, per stage and technology, the sentences labelled with both (the
    default), or with --count documents the documents carrying both. Every label of
    both sets is shown, in the config's order, zeros included.

    Example: trafficlens summarize predictions.jsonl --out reports/summary
    """
    from pipeline.evaluation.summarize import (
        COUNTS,
        documents,
        is_sentence_level,
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
        cfg = run_config(config, optional=True)
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
        for r in documents(records):  # labels of documents, not of their sentences
            labs = ("sentence-level records" if is_sentence_level(records) else
                    "; ".join(f"{s}: {', '.join(v) or '-'}" for s, v in r["labels"].items()))
            typer.echo(f"{r.get('id')}: {r.get('error') or labs}")
        if summary.empty:
            typer.echo(f"\n{summary.note}")
        else:
            typer.echo(f"\n{summary.labels.columns[-1]} per label:")
            typer.echo(text_table(summary.labels, index=False))
            typer.echo(f"\n{summary.title[0].lower()}{summary.title[1:]}:")
            typer.echo(text_table(summary.matrix))
            if summary.note:
                typer.echo(summary.note)
        if out is not None:
            paths = write_summary(records, out, count, order)
            typer.echo(f"\nwrote {', '.join(str(p) for p in paths)}")


@app.command()
def report(
    predictions: Annotated[list[Path], typer.Argument(
        help="Outputs of predict (.jsonl, .csv or .parquet): the document-level output, "
             "the --level sentence output, or both (joined by document id).")],
    out: Annotated[Path, typer.Option(help="The HTML file to write.")]
    = Path("collection.html"),
    mask_pii: Annotated[bool, typer.Option("--mask-pii", help=MASK_HELP)] = False,
    config: Annotated[Path | None, typer.Option(
        help="Config whose \\[labels.*] order the tables and whose \\[pii] section "
             "--mask-pii follows. " + CONFIG_HELP)] = None,
    title: Annotated[str, typer.Option(help="The page's title.")]
    = "trafficlens collection report",
) -> None:
    """Write one self-contained HTML page to explore a collection's predictions.

    The page shows the collection's counts and the stage x technology matrix.
    Clicking a cell or a label lists the sentences behind it (best first, with
    document, score and position); clicking a document opens it with its
    evidence highlighted. It has filters by label, score and source, a search
    box, and the documents that could not be read. It needs no network: share
    the one file. Give both outputs of predict (document level and --level
    sentence) to see every sentence in context.

    Labels follow docs/labeling-guide.md (in the project's repository).

    Example: trafficlens report predictions.jsonl sentences.jsonl --out collection.html
    """
    from pipeline.batch.predict import masker_for
    from pipeline.evaluation.collection import write_collection_report
    from pipeline.evaluation.summarize import label_order
    from pipeline.io.outputs import check_writable_file

    with user_errors():
        if out.suffix.lower() not in (".html", ".htm"):
            raise PipelineError(f"--out: {out}: the report is an HTML page; name a .html file")
        check_writable_file(out, "--out")
        for path in predictions:
            if path.exists() and path.resolve() == out.resolve():
                raise PipelineError(f"--out: {out} is one of the predictions to read; "
                                    "name another file")
        cfg = run_config(config, optional=True)
        masker = masker_for(pii_settings(cfg)) if mask_pii else None
        order = label_order([], cfg)
        summary = write_collection_report(predictions, out, order, masker, title)
        typer.echo(f"{summary['documents']} documents ({summary['errors']} could not be read), "
                   f"{summary['sentences']} sentences; every sentence known for "
                   f"{summary['complete']} documents")
        typer.echo(f"wrote {out}")


if __name__ == "__main__":  # pragma: no cover
    app()
