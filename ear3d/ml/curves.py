"""Training curves as a PNG, drawn with matplotlib (:mod:`ear3d.figures`).

Two panels side by side: contrastive loss (nats) and contrastive top-1 accuracy (%), each
against the optimizer step, training (thin, light) and validation (thick, dark, with a dot
per validation) curves. A run with the segment contrast adds its accuracy, dashed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ear3d.figures import new_figure, rgb, save_png

#: Figure size in pixels (width, height).
SIZE = (1100, 440)
#: Curve colours, 8-bit RGB: training light blue, validation dark red.
TRAIN_COLOUR, VAL_COLOUR = (120, 160, 230), (200, 60, 40)
PANELS = (("loss", "contrastive loss (nats)"), ("accuracy", "contrastive top-1 accuracy"))


def plot_curves(history: Sequence[Mapping[str, float]], path: str | Path, title: str = "") -> Path:
    """Write the curves of ``history`` (dicts with ``step`` and any of ``train_loss``,
    ``val_loss``, ``train_accuracy`` (0–1), ``val_accuracy``, ``train_segment_accuracy``,
    ``val_segment_accuracy``) to ``path`` atomically. Returns it."""
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    fig = new_figure(SIZE)
    axes = fig.subplots(1, 2)
    for ax, (metric, label) in zip(axes, PANELS, strict=True):
        series = [("", "", "-")] + ([("segment_", "segment, ", "--")] if metric == "accuracy" else [])
        for prefix, what, style in series:
            for kind, name, colour, width in (("train", "training", TRAIN_COLOUR, 1.0),
                                              ("val", "validation", VAL_COLOUR, 2.5)):
                key = f"{kind}_{prefix}{metric}"
                points = [(float(h["step"]), float(h[key])) for h in history if h.get(key) is not None]
                if points:
                    steps, values = zip(*points, strict=True)
                    ax.plot(steps, values, color=rgb(colour), linewidth=width, linestyle=style, label=what + name,
                            marker="o" if kind == "val" else None, markersize=3.5)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
        if metric == "accuracy":
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.set_xlim(left=0)
        ax.grid(True, color="0.9")
        if ax.lines:
            ax.legend(loc="best")  # wherever the curves leave room: a fine-tune starts high or low
    if title:
        fig.suptitle(title)
    return save_png(fig, path)
