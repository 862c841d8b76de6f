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
    """A labelled count heatmap of a pandas DataFrame (e.g. stage x technology).

    The colour scale runs from 0 to the largest count (to 1 when every count is 0), so a
    cell's shade shows its count against zero and an all-zero table stays pale.
    """
    plt = _pyplot()
    values = table.to_numpy()
    vmin, vmax = count_range(values)
    fig, ax = plt.subplots(figsize=(1.1 * max(4, values.shape[1]) + 2,
                                    0.6 * max(3, values.shape[0]) + 2), dpi=110)
    if values.size == 0:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "nothing to count", ha="center", va="center",
                transform=ax.transAxes)
    else:
        im = ax.imshow(values, cmap="Blues", vmin=vmin, vmax=vmax)
        ax.set_xticks(range(values.shape[1]), table.columns, rotation=35, ha="right")
        ax.set_yticks(range(values.shape[0]), table.index)
        if table.columns.name:
            ax.set_xlabel(table.columns.name)
        if table.index.name:
            ax.set_ylabel(table.index.name)
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, str(v), ha="center", va="center",
                    color="white" if v > vmax / 2 else "black", fontsize=9)
        from matplotlib.ticker import MaxNLocator

        bar = fig.colorbar(im, ax=ax, shrink=0.8)
        bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def count_range(values: np.ndarray) -> tuple[int, int]:
    """The colour scale of a count heatmap: 0 to the largest count, at least 1."""
    return 0, (max(1, int(values.max())) if values.size else 1)


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    _pyplot().close(fig)
    tmp.replace(path)
    return path
