"""Small PNG pictures of a sonification run, drawn with Pillow (no plotting library needed):
curves over steps (the target rising) and scalograms side by side (before / after).
Files are written atomically."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ear3d.atomic import atomic_write

#: Line colours of successive curves (RGB).
COLOURS = [(230, 90, 60), (60, 140, 230), (90, 190, 90), (200, 160, 40), (170, 90, 200), (60, 190, 190)]
#: Colour map of scalograms: dark blue → purple → orange → pale yellow.
MAP_STOPS = np.array([[5, 7, 30], [80, 20, 110], [190, 50, 80], [250, 150, 40], [252, 250, 190]], dtype=np.float64)
#: Diverging map of signed data (gradients): blue → white (0) → red.
DIVERGING_STOPS = np.array([[30, 60, 170], [140, 170, 230], [250, 250, 250], [235, 150, 130], [180, 30, 40]],
                           dtype=np.float64)


def _save(image: "Image.Image", path: str | Path) -> Path:  # noqa: F821
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG"), suffix=".png")


def colour_map(values: np.ndarray, lo: float, hi: float, stops: np.ndarray = MAP_STOPS) -> np.ndarray:
    """(H, W) floats → (H, W, 3) uint8 through ``stops``, ``lo`` → first stop, ``hi`` → last."""
    t = np.clip((np.nan_to_num(values) - lo) / max(hi - lo, 1e-12), 0.0, 1.0) * (len(stops) - 1)
    i = np.minimum(t.astype(int), len(stops) - 2)
    f = (t - i)[..., None]
    return ((1 - f) * stops[i] + f * stops[i + 1]).astype(np.uint8)


def curves_png(path: str | Path, series: Mapping[str, Sequence[float]], title: str, y_label: str,
               size: tuple[int, int] = (720, 400)) -> Path:
    """A line chart of named series over their index (step), with axes, ticks and a legend."""
    from PIL import Image, ImageDraw

    w, h = size
    left, right, top, bottom = 64, 16, 28, 40
    img = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(img)
    values = [np.asarray(v, dtype=np.float64) for v in series.values()]
    finite = np.concatenate([v[np.isfinite(v)] for v in values] + [np.zeros(1)])
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad = 0.05 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    n = max(max((len(v) for v in values), default=1) - 1, 1)
    px = lambda i: left + (w - left - right) * i / n  # noqa: E731
    py = lambda y: top + (h - top - bottom) * (hi - y) / (hi - lo)  # noqa: E731
    d.rectangle([left, top, w - right, h - bottom], outline=(0, 0, 0))
    for k in range(5):  # y ticks
        y = lo + (hi - lo) * k / 4
        d.line([left - 4, py(y), left, py(y)], fill=(0, 0, 0))
        d.line([left, py(y), w - right, py(y)], fill=(230, 230, 230))
        d.text((4, py(y) - 6), f"{y:.3g}", fill=(0, 0, 0))
    for k in range(6):  # x ticks
        i = n * k / 5
        d.line([px(i), h - bottom, px(i), h - bottom + 4], fill=(0, 0, 0))
        d.text((px(i) - 8, h - bottom + 6), f"{i:.0f}", fill=(0, 0, 0))
    if lo < 0 < hi:
        d.line([left, py(0), w - right, py(0)], fill=(160, 160, 160))
    for j, (name, v) in enumerate(zip(series, values)):
        colour = COLOURS[j % len(COLOURS)]
        pts = [(px(i), py(y)) for i, y in enumerate(v) if math.isfinite(y)]
        if len(pts) > 1:
            d.line(pts, fill=colour, width=2)
        d.text((left + 8, top + 6 + 14 * j), name, fill=colour)
    d.text((left, 8), title, fill=(0, 0, 0))
    d.text((w // 2 - 20, h - 16), "step", fill=(0, 0, 0))
    d.text((w - right - 8 * len(y_label), 8), y_label, fill=(90, 90, 90))
    return _save(img, path)


def scalograms_png(path: str | Path, panels: Mapping[str, np.ndarray], scale: int = 2,
                   symmetric: bool = False) -> Path:
    """(F, T) arrays side by side, low pitch at the bottom, one shared colour range.

    symmetric: for signed data (gradients): the range is ±max|value|, 0 is white, blue < 0 < red.
    """
    from PIL import Image, ImageDraw

    arrays = [np.asarray(a, dtype=np.float64) for a in panels.values()]
    if symmetric:
        m = max(float(np.nanmax(np.abs(a))) for a in arrays) or 1.0
        lo, hi = -m, m
    else:
        lo = min(float(np.nanmin(a)) for a in arrays)
        hi = max(float(np.nanmax(a)) for a in arrays)
    gap, label_h = 8, 16
    stops = DIVERGING_STOPS if symmetric else MAP_STOPS
    tiles = [Image.fromarray(colour_map(a[::-1], lo, hi, stops)).resize((a.shape[1] * scale, a.shape[0] * scale),
                                                                 Image.NEAREST) for a in arrays]
    w = sum(t.width for t in tiles) + gap * (len(tiles) + 1)
    h = max(t.height for t in tiles) + label_h + 2 * gap
    img = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(img)
    x = gap
    for name, t in zip(panels, tiles):
        img.paste(t, (x, label_h + gap))
        d.text((x, 4), f"{name}  [{lo:.2g} … {hi:.2g}]", fill=(0, 0, 0))
        x += t.width + gap
    return _save(img, path)
