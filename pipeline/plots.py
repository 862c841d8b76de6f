"""PNG plots for evaluation reports (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pr_curves(Y: np.ndarray, scores: np.ndarray, labels: list[str], thresholds: np.ndarray,
              title: str, path: Path) -> Path:
    """Precision-recall curve per label, with the tuned threshold's operating point."""
    from sklearn.metrics import precision_recall_curve

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5), dpi=110)
    for j, lab in enumerate(labels):
        if Y[:, j].sum() == 0:
            continue
        prec, rec, thr = precision_recall_curve(Y[:, j], scores[:, j])
        line, = ax.plot(rec, prec, label=lab, linewidth=1.4)
        k = min(np.searchsorted(thr, thresholds[j]), len(thr) - 1) if len(thr) else 0
        ax.plot(rec[k], prec[k], "o", color=line.get_color(), markersize=5)
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02),
           title=f"{title}: precision-recall (dot = tuned threshold)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return _save(fig, path)


def reliability(Y: np.ndarray, scores: np.ndarray, title: str, path: Path,
                bins: int = 10) -> Path:
    """Observed frequency against mean predicted score in equal-width bins (pooled labels)."""
    plt = _pyplot()
    y, s = Y.ravel(), scores.ravel()
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(s, edges[1:-1]), 0, bins - 1)
    mean_s, freq, count = [], [], []
    for b in range(bins):
        mask = which == b
        if mask.any():
            mean_s.append(s[mask].mean())
            freq.append(y[mask].mean())
            count.append(int(mask.sum()))
    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=110)
    ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfect calibration")
    ax.plot(mean_s, freq, "o-", label="model")
    for x, f, c in zip(mean_s, freq, count, strict=True):
        ax.annotate(str(c), (x, f), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set(xlabel="mean predicted score", ylabel="observed frequency", xlim=(0, 1),
           ylim=(0, 1), title=f"{title}: reliability (labels pooled; n per bin)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def heatmap(table, title: str, path: Path) -> Path:
    """A labelled count heatmap of a pandas DataFrame (e.g. stage x technology)."""
    plt = _pyplot()
    values = table.to_numpy()
    fig, ax = plt.subplots(figsize=(1.1 * max(4, values.shape[1]) + 2,
                                    0.6 * max(3, values.shape[0]) + 2), dpi=110)
    im = ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(values.shape[1]), table.columns, rotation=35, ha="right")
    ax.set_yticks(range(values.shape[0]), table.index)
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, str(v), ha="center", va="center",
                color="white" if v > values.max() / 2 else "black", fontsize=9)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    _pyplot().close(fig)
    tmp.replace(path)
    return path
