"""Human-readable evaluation output: a Markdown report and a compact console table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.evaluate import Evaluation
from pipeline.model import TraffickingModel


def summary_table(metrics: dict) -> str:
    """A compact fixed-width table: one row per label set, then per label."""
    lines = [f"{'label':26s} {'P':>6s} {'R':>6s} {'F1':>6s} {'n':>5s}"]
    for set_name, m in metrics.items():
        if not isinstance(m, dict):
            continue
        lines.append(f"{set_name + ' (macro / micro / samples F1)':26s} "
                     f"{m['macro_f1']:.3f} / {m['micro_f1']:.3f} / {m['samples_f1']:.3f}")
        for lab, s in m["per_label"].items():
            lines.append(f"  {lab:24s} {s['precision']:6.3f} {s['recall']:6.3f} "
                         f"{s['f1']:6.3f} {s['support']:5d}")
    lines.append(f"records: {metrics['n_records']}")
    return "\n".join(lines)


def markdown_report(evaluation: Evaluation, model: TraffickingModel,
                    data: Sequence[Path]) -> str:
    """The evaluation as Markdown: averages per set, then per-label figures."""
    m = evaluation.metrics
    thresholds = {col: float(t) for col, t in zip(model.columns, model.thresholds, strict=True)}
    out = ["# trafficlens evaluation", "",
           f"- data: {', '.join(str(d) for d in data)} ({m['n_records']} passages)",
           f"- model: trained {model.card.get('created', '?')} on "
           f"{model.card.get('training_data', {}).get('n_passages', '?')} passages "
           f"(sha256 {str(model.card.get('training_data', {}).get('sha256', '?'))[:12]})",
           "- each passage is scored as `predict` scores a document: the maximum over its "
           "sentences, then the label's tuned threshold", ""]
    out += ["## Averages", "", "| set | macro F1 | micro F1 | samples F1 |", "|---|---|---|---|"]
    for set_name, sm in m.items():
        if isinstance(sm, dict):
            out.append(f"| {set_name} | {sm['macro_f1']:.3f} | {sm['micro_f1']:.3f} | "
                       f"{sm['samples_f1']:.3f} |")
    for set_name, sm in m.items():
        if not isinstance(sm, dict):
            continue
        out += ["", f"## {set_name}", "",
                "| label | precision | recall | F1 | support | threshold |",
                "|---|---|---|---|---|---|"]
        for lab, s in sm["per_label"].items():
            out.append(f"| {lab} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | "
                       f"{s['support']} | {thresholds[(set_name, lab)]:.2f} |")
    return "\n".join(out) + "\n"
