"""PNG pictures of a sonification run, drawn with matplotlib (:mod:`ear3d.figures`): curves over
steps (the target rising) and scalograms side by side (before / after, or a gradient).
Files are written atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ear3d.figures import new_figure, save_png

#: Colour map of scalograms (dark = quiet) and of signed data such as gradients (white = 0).
SCALOGRAM_CMAP, SIGNED_CMAP = "magma", "RdBu_r"


def curves_png(path: str | Path, series: Mapping[str, Sequence[float]], title: str, y_label: str,
               size: tuple[int, int] = (720, 400)) -> Path:
    """A line chart of named series (each a sequence of values, one per step from 0) of ``size``
    pixels, with integer step ticks, a legend, ``title`` and ``y_label``. Non-finite values are gaps."""
    from matplotlib.ticker import MaxNLocator

    fig = new_figure(size)
    ax = fig.subplots()
    for name, values in series.items():
        v = np.asarray(values, dtype=np.float64)
        ax.plot(np.arange(len(v)), np.where(np.isfinite(v), v, np.nan), linewidth=1.8, label=name,
                marker="o" if len(v) <= 30 else None, markersize=3)
    lo, hi = ax.get_ylim()
    if lo < 0 < hi:
        ax.axhline(0.0, color="0.6", linewidth=0.8, zorder=0)
    ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(y_label)
    ax.set_title(title)
    ax.grid(True, color="0.92")
    if series:
        ax.legend(loc="best")
    return save_png(fig, path)


def scalograms_png(path: str | Path, panels: Mapping[str, np.ndarray], scale: int = 2,
                   symmetric: bool = False, *, value_label: str | None = None) -> Path:
    """(F, T) arrays side by side, low pitch at the bottom, one shared colour range and a colour bar.

    Each panel is about ``scale`` pixels per bin and per frame. symmetric: for signed data
    (gradients): the range is ±max|value|, 0 is white, blue < 0 < red. ``value_label`` names the
    colour bar (default: the scaled log power of ear3d.ml.cqt, or "signed value").
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in panels.values()]
    finite = [a[np.isfinite(a)] for a in arrays]
    if symmetric:
        m = max((float(np.abs(f).max()) for f in finite if f.size), default=0.0) or 1.0
        lo, hi = -m, m
    else:
        lo = min((float(f.min()) for f in finite if f.size), default=0.0)
        hi = max((float(f.max()) for f in finite if f.size), default=1.0)
        hi = hi if hi > lo else lo + 1.0
    bins = max(a.shape[0] for a in arrays)
    frames = sum(a.shape[1] for a in arrays)
    # room for the data at ``scale`` px per cell, plus axes, labels and the colour bar
    width = max(frames * scale + 110 * len(arrays) + 110, 420)
    height = max(bins * scale + 110, 260)
    fig = new_figure((width, height))
    axes = np.atleast_1d(fig.subplots(1, len(arrays), sharey=True, squeeze=False)[0])
    for ax, name, a in zip(axes, panels, arrays, strict=True):
        image = ax.imshow(a, origin="lower", aspect="auto", interpolation="nearest",
                          cmap=SIGNED_CMAP if symmetric else SCALOGRAM_CMAP, vmin=lo, vmax=hi)
        ax.set_title(name)
        ax.set_xlabel("time frame")
    axes[0].set_ylabel("CQT bin (low → high pitch)")
    bar = fig.colorbar(image, ax=list(axes), fraction=0.05, pad=0.02)
    bar.set_label(value_label or ("signed value" if symmetric else "log power (scaled to about 0–1)"))
    return save_png(fig, path)

