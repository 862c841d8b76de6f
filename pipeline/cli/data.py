"""``trafficlens data ...``: check, split, import and compare annotated corpora."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.app import CONFIG_HELP, OVERRIDES, data_app, run_config, user_errors
from pipeline.errors import PipelineError


@data_app.command("check")
def data_check(
    paths: Annotated[list[Path], typer.Argument(help="Annotated JSONL files or folders.")],
    config: Annotated[Path | None, typer.Option(
        help="Config with label sets and [data] checks. " + CONFIG_HELP)] = None,
) -> None:
    """Validate annotated data and print label counts, no-label shares and duplicates.

    Passages are checked by the config's [data] table; sentences of whole documents
    (records with a doc field) by its [documents] table, which also checks them
    against their text files and against published text. Exits 1 when a record is
    invalid or a check fails.

    Example: trafficlens data check data/corpus
    """
    from pipeline.corpus.datacheck import check_corpus, format_check
    from pipeline.corpus.doccheck import check_documents, format_document_check
    from pipeline.corpus.read import is_document_corpus, read_corpus

    with user_errors():
        cfg = run_config(config)
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
    config: Annotated[Path | None, typer.Option(
        help="Config: label sets, seed, data.test_size. " + CONFIG_HELP)] = None,
) -> None:
    """Write a fixed train/test split, stratified by label and register (seeded).

    Sentences of whole documents (records with a doc field) are split by document.
    For passages, also writes starter.jsonl, a small stratified subset of train
    (data.starter_size), to measure what the full corpus adds.

    Files named in the config's data.holdout_files are left out of both.

    Example: trafficlens data split data/corpus --out-dir data/splits
    """
    from pipeline.corpus.read import by_document, is_document_corpus, read_corpus
    from pipeline.corpus.split import split_documents, split_passages, starter_subset, write_jsonl
    from pipeline.io.outputs import check_writable_dir

    with user_errors():
        check_writable_dir(out_dir, "--out-dir")
        cfg = run_config(config)
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
    config: Annotated[Path | None, typer.Option(
        help="Config with the label sets. " + CONFIG_HELP)] = None,
) -> None:
    """Inter-annotator agreement: Cohen's kappa per label, macro-F1 per set.

    Records need id and the label lists; text is optional here.

    Example: trafficlens data agreement data/annotation/first_annotator.jsonl \
    data/annotation/second_annotator.jsonl
    """
    from pipeline.corpus.agreement import agreement
    from pipeline.corpus.read import read_corpus

    with user_errors():
        cfg = run_config(config)
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
    config: Annotated[Path | None, typer.Option(
        help="Config naming the cue file (paths.cues). " + CONFIG_HELP)] = None,
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

    from pipeline.config import parse_overrides
    from pipeline.corpus.cuestats import cue_report
    from pipeline.corpus.read import read_corpus
    from pipeline.text.cues import read_precision_rule

    with user_errors():
        cfg = run_config(config, parse_overrides(ctx.args))
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
    config: Annotated[Path | None, typer.Option(
        help="Config with label sets and preprocessing. " + CONFIG_HELP)] = None,
) -> None:
    """Turn filled annotation templates into sentence records for training and checks.

    One record per sentence as predict splits the document now (id, doc, seq, start,
    end, text, labels, register, writer). If the splitter changed since the template
    was written, labels move to the sentence that holds most of the old one.

    Example: trafficlens data import data/documents/texts/news/*.labels.tsv \
    --writer wD --doc-root data/documents/texts --out data/documents/sentences/wD.jsonl
    """
    from pipeline.corpus.documents import import_template, text_of

    with user_errors():
        cfg = run_config(config)
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
    config: Annotated[Path | None, typer.Option(
        help="Config with the preprocessing settings. " + CONFIG_HELP)] = None,
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
    from pipeline.corpus.documents import read_document, write_template

    with user_errors():
        cfg = run_config(config)
        for doc in documents:
            out = doc.with_suffix(".labels.tsv")
            n = write_template(read_document(doc), out, cfg, force=force)
            typer.echo(f"{doc}: {n} sentences -> {out}")
