"""Evaluation reports: one list of blocks rendered as Markdown, as self-contained HTML,
and as a compact console table.

Blocks are ``("h", level, text)``, ``("p", text)``, ``("table", header, rows)`` and
``("img", path, caption)``; the HTML embeds images as base64 so it opens on its own.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pipeline.config import Report
from pipeline.evaluation.evaluate import Evaluation, confident_errors, top_features
from pipeline.evaluation.metrics import fmt
from pipeline.evaluation.plots import pr_curves, reliability
from pipeline.io.markdown import md_escape
from pipeline.io.outputs import write_text
from pipeline.model.persistence import TraffickingModel
from pipeline.text.pii import PiiMasker

Block = tuple


def summary_table(metrics: dict[str, Any]) -> str:
    """A compact fixed-width table: one row per label set, then per label."""
    lines = [f"{'label':26s} {'P':>6s} {'R':>6s} {'F1':>6s} {'n':>5s}"]
    intervals = metrics.get("intervals", {})
    for set_name, m in metrics.items():
        if not isinstance(m, dict) or "per_label" not in m:
            continue
        lines.append(f"{set_name + ' (macro / micro / samples F1)':26s} "
                     f"{fmt(m['macro_f1'])} / {fmt(m['micro_f1'])} / {fmt(m['samples_f1'])}"
                     f"{interval(intervals.get(set_name))}")
        for lab, s in m["per_label"].items():
            lines.append(f"  {lab:24s} {fmt(s['precision']):>6s} {fmt(s['recall']):>6s} "
                         f"{fmt(s['f1']):>6s} {s['support']:5d}")
    for name, sets in metrics.get("baselines", {}).items():
        lines.append(f"{name} baseline macro-F1: " +
                     ", ".join(f"{s} {fmt(v['macro_f1'])}" for s, v in sets.items()))
    lines.append(f"records: {metrics['n_records']}")
    docs = metrics.get("documents")
    if docs:
        lines.append(f"documents ({docs['n_documents']}, each scored whole as predict does):")
        for s in _sets(docs):
            lines.append(f"  {s + ' (macro / micro F1)':24s} {fmt(docs[s]['macro_f1'])} / "
                         f"{fmt(docs[s]['micro_f1'])}"
                         f"{interval(docs.get('intervals', {}).get(s))}")
        for name, sets in docs.get("baselines", {}).items():
            lines.append(f"  {name} baseline macro-F1: " +
                         ", ".join(f"{s} {fmt(v['macro_f1'])}" for s, v in sets.items()))
        for ex in docs.get("excerpts", []):
            if ex["excerpts"]:
                lines.append(f"  excerpts of {ex['sentences']} sentences ({ex['excerpts']}): "
                             + ", ".join(f"{s} {fmt(ex[f'rule_{s}_macro_f1'])} (best sentence "
                                         f"{fmt(ex[f'best_sentence_{s}_macro_f1'])})"
                                         for s in _sets(docs)))
        for band in docs.get("length_bands", []):
            lines.append(f"  {band['band'] + ' sentences':14s} {band['documents']:4d} documents"
                         + "".join(f", {s} {fmt(band.get(f'{s}_macro_f1'))}"
                                   for s in _sets(docs)))
    free = metrics.get("label_free")
    if free:
        lines.append(f"label-free documents (k passages, {free['documents']} each) given any "
                     "label: " + ", ".join(f"k={k} {fmt(v)}" for k, v in
                                           free["any_label"].items()))
    return "\n".join(lines)


def interval(bounds: list[float] | None) -> str:
    """`` [lo, hi]`` for a bootstrap 95% interval, or nothing."""
    return f" [{bounds[0]:.3f}, {bounds[1]:.3f}]" if bounds else ""


def _sets(metrics: dict[str, Any]) -> list[str]:
    return [k for k, v in metrics.items() if isinstance(v, dict) and "per_label" in v]


def _metric_rules(m: dict[str, Any]) -> str:
    """What the figures count, and which labels have no support here (n/a)."""
    missing = [f"{s}: {', '.join(m[s]['labels_without_support'])}" for s in _sets(m)
               if m[s].get("labels_without_support")]
    return ("A passage with no true and no predicted label counts as agreement (samples-F1 "
            "1). A label no passage has (no support) has no recall or F1: it is shown as n/a "
            "and left out of macro-F1. Labels without support here: "
            + ("; ".join(missing) if missing else "none") + ".")


def build_blocks(evaluation: Evaluation, model: TraffickingModel, data: Sequence[Path],
                 plots: dict[str, dict[str, Path]], comparison: dict[str, Any] | None,
                 gate_failures: list[str] | None, rep: Report,
                 masker: PiiMasker | None = None) -> list[Block]:
    """Everything the report says, in order; with ``masker``, quoted passages and feature
    terms have their personal data masked."""
    m = evaluation.metrics
    td = model.card.get("training_data", {})
    blocks: list[Block] = [
        ("h", 1, "trafficlens evaluation"),
        ("p", f"Data: {', '.join(str(d) for d in data)} ({m['n_records']} passages). "
              f"Model trained {model.card.get('created', '?')} on {td.get('n_passages', '?')} "
              f"passages (sha256 {str(td.get('sha256', '?'))[:12]}). Each passage is scored "
              "as the guide's unit: its best sentence against the label's sentence "
              "threshold; documents follow the document rule."),
    ]
    if gate_failures is not None:
        verdict = ("PASSED" if not gate_failures else
                   "FAILED: " + "; ".join(gate_failures))
        blocks.append(("p", f"Quality gate: {verdict}"))
    blocks += [("h", 2, "Model and baselines"),
               ("p", "Keyword baseline: a passage gets every label whose cue terms occur in "
                     "it. Prior baseline: every passage gets the labels most training "
                     "passages have (none). Same passages, same run."),
               ("p", _metric_rules(m))]
    rows = []
    for s in _sets(m):
        for name, mm in [("model", m), *evaluation.baselines.items()]:
            sm = mm[s]
            ci = interval(m.get("intervals", {}).get(s)).strip() if name == "model" else ""
            rows.append([s, name, fmt(sm["macro_f1"]), ci,
                         *(fmt(sm[k]) for k in ("micro_f1", "samples_f1", "subset_accuracy",
                                                "hamming_loss"))])
    blocks.append(("table", ["set", "system", "macro F1", "95% interval", "micro F1",
                             "samples F1", "subset accuracy", "Hamming loss"], rows))
    free = m.get("label_free")
    if free:
        blocks += [("h", 2, "Label-free documents"),
                   ("p", f"Documents made of k random passages that carry no label "
                         f"({free['label_free_passages']} such passages here; "
                         f"{free['documents']} documents per k), labelled by the document "
                         "rule. The share given any label should not grow with k.")]
        blocks.append(("table", ["k passages", "share with any label"],
                       [[k, fmt(v)] for k, v in free["any_label"].items()]))
    docs = m.get("documents")
    if docs:
        blocks += [("h", 2, "Documents"),
                   ("p", f"The {docs['n_documents']} documents these sentences come from, each "
                         "scored as predict scores a document; a document's gold labels are "
                         "the union of its sentences' labels.")]
        doc_rows = []
        for s in _sets(docs):
            for name in ("model", *docs.get("baselines", {})):
                sm = docs[s] if name == "model" else docs["baselines"][name][s]
                ci = (interval(docs.get("intervals", {}).get(s)).strip() if name == "model"
                      else "")
                doc_rows.append([s, name, fmt(sm["macro_f1"]), ci, fmt(sm["micro_f1"])])
        blocks.append(("p", "all_labels gives every document every label; best_sentence "
                            "labels a document when its best sentence reaches the sentence "
                            "threshold (the rule before the document rule)."))
        blocks.append(("table", ["set", "system", "macro F1", "95% interval", "micro F1"],
                       doc_rows))
        bands = docs.get("length_bands", [])
        if bands:
            blocks.append(("table", ["sentences", "documents", "true labels / doc",
                                     "predicted labels / doc",
                                     *(f"{s} macro F1" for s in _sets(docs))],
                           [[b["band"], b["documents"], fmt(b["true_labels"], ".2f"),
                             fmt(b["predicted_labels"], ".2f"),
                             *(fmt(b.get(f"{s}_macro_f1")) for s in _sets(docs))]
                            for b in bands]))
        shown = [ex for ex in docs.get("excerpts", []) if ex["excerpts"]]
        if shown:
            blocks.append(("p", "Excerpts: runs of k consecutive sentences of these "
                                "documents, as short texts (ads, messages, quotes) would be; "
                                "labelled by the document rule and, for comparison, by "
                                "their best sentence."))
            blocks.append(("table", ["sentences", "excerpts",
                                     *(f"{s} macro F1 (rule / best sentence)"
                                       for s in _sets(docs))],
                           [[ex["sentences"], ex["excerpts"],
                             *(f"{fmt(ex[f'rule_{s}_macro_f1'])} / "
                               f"{fmt(ex[f'best_sentence_{s}_macro_f1'])}"
                               for s in _sets(docs))] for ex in shown]))
        blocks.append(("table", ["set", "label", "precision", "recall", "F1", "support"],
                       [[s, lab, fmt(v["precision"]), fmt(v["recall"]), fmt(v["f1"]),
                         v["support"]]
                        for s in _sets(docs) for lab, v in docs[s]["per_label"].items()]))
    verdicts = []
    for s in _sets(m):
        for name, mm in evaluation.baselines.items():
            if None in (m[s]["macro_f1"], mm[s]["macro_f1"]):
                continue
            if m[s]["macro_f1"] <= mm[s]["macro_f1"]:
                verdicts.append(f"{s}: the model does NOT beat the {name} baseline on macro-F1 "
                                f"({m[s]['macro_f1']:.3f} vs {mm[s]['macro_f1']:.3f})")
    blocks.append(("p", "; ".join(verdicts) if verdicts else
                   "The model beats both baselines on macro-F1 in every label set."))
    if comparison:
        blocks += [("h", 2, f"Change against {comparison['against']}"),
                   ("p", f"F1 drops larger than {comparison['tolerance']:.3f} are marked DROP "
                         f"({comparison['drops']} found).")]
        blocks.append(("table", ["set", "label", "old F1", "new F1", "change", ""],
                       [[r["set"], r["label"], "-" if r["old"] is None else fmt(r["old"]),
                         fmt(r["new"]), "-" if r["delta"] is None else f"{r['delta']:+.3f}",
                         "DROP" if r["drop"] else ""] for r in comparison["rows"]]))
    errors = confident_errors(evaluation, model, rep.max_errors)
    features = top_features(model, rep.top_features)
    quote = _quoter(evaluation, masker)

    def shown(feature: str) -> str:
        """A feature's name, its n-gram masked ("words__anna kovac"); cue features
        ("cues__stage:recruitment") name labels, not text."""
        step, sep, term = feature.partition("__")
        if masker is None or not sep or step == "cues":
            return feature
        return f"{step}{sep}{masker.mask(term)}"

    for s in _sets(m):
        blocks += [("h", 2, f"{s}: per label")]
        keyword = evaluation.baselines.get("keyword", {}).get(s, {}).get("per_label", {})
        blocks.append(("table", ["label", "precision", "recall", "F1", "support", "threshold",
                                 "TP", "FP", "FN", "TN", "Brier", "keyword F1"],
                       [[lab, fmt(v["precision"]), fmt(v["recall"]), fmt(v["f1"]),
                         v["support"], f"{v.get('threshold', 0):.2f}", v["tp"], v["fp"],
                         v["fn"], v["tn"], f"{v.get('brier', 0):.3f}",
                         fmt(keyword.get(lab, {}).get("f1"))]
                        for lab, v in m[s]["per_label"].items()]))
        for kind, caption in (("pr", "precision-recall curves"), ("reliability", "reliability")):
            if s in plots.get(kind, {}):
                blocks.append(("img", plots[kind][s], f"{s}: {caption}"))
        blocks.append(("h", 3, f"{s}: strongest features"))
        blocks.append(("table", ["label", f"top {rep.top_features} positive features (weight)"],
                       [[lab, ", ".join(f"{shown(n)} ({w:.2f})" for n, w in features[(s, lab)])]
                        for lab in m[s]["per_label"]]))
        blocks.append(("h", 3, f"{s}: most confident errors (at most {rep.max_errors} each)"))
        rows = []
        for lab in m[s]["per_label"]:
            for kind, items in errors[(s, lab)].items():
                for e in items:
                    rows.append([lab, "FP" if kind == "false_positives" else "FN", e["id"],
                                 f"{e['score']:.3f}", quote(e)])
        blocks.append(("table", ["label", "error", "id", "score", "text"], rows) if rows else
                      ("p", "No errors."))
    return blocks


def _quoter(evaluation: Evaluation, masker: PiiMasker | None) -> Any:
    """A function from an error row to its passage's text, masked with the other passages
    of the same document (a name seen anywhere in it is masked in each)."""
    if masker is None:
        return lambda e: e["text"]
    by_doc: dict[Any, list[int]] = {}
    for i, p in enumerate(evaluation.passages):
        by_doc.setdefault(p.extra.get("doc", ("passage", i)), []).append(i)
    index = {p.id: i for i, p in enumerate(evaluation.passages)}
    masked: dict[int, str] = {}

    def quote(e: dict[str, Any]) -> str:
        i = index[e["id"]]
        if i not in masked:
            members = by_doc[evaluation.passages[i].extra.get("doc", ("passage", i))]
            texts = masker.mask_texts([evaluation.passages[k].text for k in members])
            masked.update(zip(members, texts, strict=True))
        return masked[i]

    return quote


def to_markdown(blocks: list[Block], base: Path) -> str:
    """The blocks as Markdown; every text from data is escaped (:func:`md_escape`)."""
    out = []
    for block in blocks:
        kind = block[0]
        if kind == "h":
            out += ["#" * block[1] + " " + md_escape(block[2]), ""]
        elif kind == "p":
            out += [md_escape(block[1]), ""]
        elif kind == "table":
            out.append("| " + " | ".join(md_escape(h) for h in block[1]) + " |")
            out.append("|" + "---|" * len(block[1]))
            out += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in block[2]]
            out.append("")
        elif kind == "img":
            target = quote(Path(block[1]).relative_to(base).as_posix())
            out += [f"![{md_escape(block[2])}]({target})", ""]
    return "\n".join(out)


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1b1b1b}table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f2f5}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
figure{display:inline-block;margin:0 1em 1em 0}figcaption{font-size:.85em;color:#555}"""


def to_html(blocks: list[Block]) -> str:
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           "<title>trafficlens evaluation</title>", f"<style>{CSS}</style></head><body>"]
    for block in blocks:
        kind = block[0]
        if kind == "h":
            out.append(f"<h{block[1]}>{html.escape(block[2])}</h{block[1]}>")
        elif kind == "p":
            out.append(f"<p>{html.escape(block[1])}</p>")
        elif kind == "table":
            out.append("<table><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in block[1])
                       + "</tr>")
            for row in block[2]:
                out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
                           + "</tr>")
            out.append("</table>")
        elif kind == "img":
            data = base64.b64encode(Path(block[1]).read_bytes()).decode("ascii")
            out.append(f"<figure><img alt='{html.escape(block[2])}' "
                       f"src='data:image/png;base64,{data}'><figcaption>"
                       f"{html.escape(block[2])}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)


def write_reports(evaluation: Evaluation, model: TraffickingModel, report_dir: Path,
                  data: Sequence[Path], comparison: dict[str, Any] | None = None,
                  gate_failures: list[str] | None = None,
                  settings: Report | None = None,
                  masker: PiiMasker | None = None) -> list[Path]:
    """Write metrics.json, report.md, report.html and PNG plots; return the paths.

    ``settings`` (the ``[report]`` table of the run's config) default to the model's own;
    ``masker`` masks personal data in every quoted text.
    """
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    m = evaluation.metrics
    plots: dict[str, dict[str, Path]] = {"pr": {}, "reliability": {}}
    for s in _sets(m):
        idx = [j for j, (name, _) in enumerate(model.columns) if name == s]
        labels = [model.columns[j][1] for j in idx]
        Y, scores = evaluation.Y[:, idx], evaluation.scores[:, idx]
        plots["pr"][s] = pr_curves(Y, scores, labels, model.thresholds[idx], s,
                                   report_dir / f"pr_{s}.png")
        plots["reliability"][s] = reliability(Y, scores, s, report_dir / f"reliability_{s}.png")
    metrics = dict(m)
    if comparison:
        metrics["comparison"] = comparison
    if gate_failures is not None:
        metrics["gate"] = {"passed": not gate_failures, "failures": gate_failures}
    blocks = build_blocks(evaluation, model, data, plots, comparison, gate_failures,
                          settings or model.config.report, masker)
    paths = [report_dir / "metrics.json", report_dir / "report.md", report_dir / "report.html"]
    write_text(paths[0], json.dumps(metrics, indent=2) + "\n")
    write_text(paths[1], to_markdown(blocks, report_dir))
    write_text(paths[2], to_html(blocks))
    return paths + [p for kind in plots.values() for p in kind.values()]
