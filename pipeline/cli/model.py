"""``train``, ``evaluate`` and ``info``: fit a model, score it, describe it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.app import (
    CONFIG_HELP,
    MASK_HELP,
    OVERRIDES,
    _say,
    app,
    pii_settings,
    run_config,
    user_errors,
)


@app.command(context_settings=OVERRIDES)
def train(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(
        help="Run configuration (TOML). " + CONFIG_HELP)] = None,
    data: Annotated[list[Path] | None, typer.Option(
        help="Annotated JSONL file or folder; repeat for several. Default: the config's "
             "paths.train.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Model directory to write. Default: the config's paths.model.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing model directory.")] = False,
) -> None:
    """Train a model: tune per-label thresholds by cross-validation, then fit on all data.

    Any config value can be overridden with --section.key VALUE.

    Example: trafficlens train --config configs/default.toml --out models/default --model.C 2
    """
    from pipeline.config import parse_overrides
    from pipeline.evaluation.metrics import fmt
    from pipeline.model.train import fit_and_save

    with user_errors():
        cfg = run_config(config, parse_overrides(ctx.args))
        out = out or cfg.paths.model
        start = time.perf_counter()
        model = fit_and_save(cfg, data, out, force=force, progress=_say)
        cv = model.card["cv_metrics"]
        sets = ", ".join(f"{s.name} {fmt(cv[s.name]['macro_f1'])}" for s in cfg.label_sets)
        typer.echo(f"saved {out} ({model.card['training_data']['n_passages']} passages, "
                   f"{time.perf_counter() - start:.0f} s); cross-validated macro-F1: {sets}")


@app.command(context_settings=OVERRIDES)
def evaluate(
    ctx: typer.Context,
    data: Annotated[list[Path] | None, typer.Option(
        help="Annotated JSONL file or folder; repeatable. Default: the config's "
             "paths.test.")] = None,
    model: Annotated[Path | None, typer.Option(
        help="Model directory. Default: the config's paths.model.")] = None,
    report_dir: Annotated[Path, typer.Option(
        help="Where to write metrics.json, report.md, report.html and plots.")]
    = Path("reports/eval"),
    config: Annotated[Path | None, typer.Option(
        help="Config: \\[report] settings, \\[gates], and what --cv trains. "
             + CONFIG_HELP)] = None,
    cv: Annotated[int | None, typer.Option(
        min=2, help="Instead of a saved model, K-fold cross-validate the config on --data.")]
    = None,
    compare: Annotated[Path | None, typer.Option(
        help="An earlier metrics.json: report the change per label, mark drops.")] = None,
    gate: Annotated[bool, typer.Option(
        help="Exit 1 when a figure is below the config's \\[gates].")] = False,
    mask_pii: Annotated[bool, typer.Option("--mask-pii", help=MASK_HELP + " The config's "
                                           "\\[pii] section says what is masked.")] = False,
) -> None:
    """Evaluate a model on annotated passages, with baselines, plots and errors.

    Writes metrics.json, report.md, a self-contained report.html and PNG plots. With
    --cv K it cross-validates the config instead and reports mean ± std per metric.

    Sentences of whole documents (records with a doc field) are also scored as
    documents, each scored whole as predict scores it.

    Example: trafficlens evaluate --model models/default --data
    data/documents/splits/test.jsonl --gate
    """
    from pipeline.batch.predict import masker_for
    from pipeline.config import parse_overrides
    from pipeline.corpus.read import read_corpus
    from pipeline.evaluation.evaluate import check_gates, evaluate_files
    from pipeline.evaluation.evaluate import compare as compare_metrics
    from pipeline.evaluation.report import summary_table, write_reports
    from pipeline.io.outputs import check_writable_dir, write_text
    from pipeline.model.persistence import load_model

    with user_errors():
        check_writable_dir(report_dir, "--report-dir")
        cfg = run_config(config, parse_overrides(ctx.args))
        data = data or [cfg.paths.test]
        model = model or cfg.paths.model
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
        masker = masker_for(pii_settings(cfg)) if mask_pii else None
        loaded = load_model(model, expect=cfg)
        result = evaluate_files(loaded, data, cfg.report)
        comparison = (compare_metrics(result.metrics, compare, cfg.report.compare_tolerance)
                      if compare else None)
        failures = check_gates(result.metrics, cfg.gates) if gate else None
        paths = write_reports(result, loaded, report_dir, data, comparison, failures,
                              cfg.report, masker)
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
def info(model: Annotated[Path, typer.Option(help="Model directory.")] = Path("models/default"),
         ) -> None:
    """Show a model's card: labels, thresholds, document rule, training data, cross-validated F1.

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
        decision = card.get("decision", {})
        bands = list(decision.get("evidence", {}))
        typer.echo(f"document rule: false alarm {decision.get('false_alarm')} per label; "
                   f"evidence thresholds for documents of {', '.join(bands)} sentences")
        for s in loaded.config.label_sets:
            typer.echo(f"{s.name}: cross-validated macro-F1 {cv.get(s.name, {}).get('macro_f1')}")
            for lab in s.labels:
                t = card["thresholds"][s.name][lab]
                f1 = cv.get(s.name, {}).get("per_label", {}).get(lab, {}).get("f1")
                evidence = " / ".join(f"{decision['evidence'][b][s.name][lab]:.2f}"
                                      for b in bands)
                typer.echo(f"  {lab:20s} threshold {t:.2f}  evidence {evidence}  cv F1 {f1}")
        typer.echo(json.dumps(card.get("versions", {})))
