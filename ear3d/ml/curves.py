"""Training curves as a PNG, drawn with Pillow (no plotting library needed).

Two panels side by side: loss (nats) and contrastive top-1 accuracy, each against the
optimizer step, training (thin, light) and validation (thick, dark) curves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from ear3d.atomic import atomic_write

PANEL_W, PANEL_H, MARGIN = 520, 340, 56
TRAIN_COLOUR, VAL_COLOUR = (120, 160, 230), (200, 60, 40)


def _nice_range(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def plot_curves(history: Sequence[Mapping[str, float]], path: str | Path, title: str = "") -> Path:
    """Write the curves of ``history`` (dicts with ``step`` and any of ``train_loss``,
    ``val_loss``, ``train_accuracy``, ``val_accuracy``) to ``path`` atomically. Returns it."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    img = Image.new("RGB", (2 * PANEL_W, PANEL_H + 30), "white")
    draw = ImageDraw.Draw(img)
    draw.text((MARGIN, 8), title, fill="black", font=font)
    steps = [float(h["step"]) for h in history] or [0.0, 1.0]
    x_lo, x_hi = 0.0, max(max(steps), 1.0)
    for p, (metric, label) in enumerate((("loss", "contrastive loss (nats)"), ("accuracy", "top-1 accuracy"))):
        ox, oy = p * PANEL_W, 30
        left, top, right, bottom = ox + MARGIN, oy + 10, ox + PANEL_W - 16, oy + PANEL_H - MARGIN
        series = {kind: [(float(h["step"]), float(h[f"{kind}_{metric}"])) for h in history
                         if h.get(f"{kind}_{metric}") is not None] for kind in ("train", "val")}
        values = [v for pts in series.values() for _, v in pts] or [0.0, 1.0]
        y_lo, y_hi = _nice_range(values)

        def xy(s: float, v: float) -> tuple[float, float]:
            return (left + (s - x_lo) / (x_hi - x_lo) * (right - left),
                    bottom - (v - y_lo) / (y_hi - y_lo) * (bottom - top))

        draw.rectangle((left, top, right, bottom), outline=(90, 90, 90))
        for i in range(5):  # grid and tick labels
            v = y_lo + (y_hi - y_lo) * i / 4
            _, y = xy(x_lo, v)
            draw.line((left, y, right, y), fill=(230, 230, 230))
            draw.text((ox + 4, y - 6), f"{v:.3g}", fill="black", font=font)
            s = x_lo + (x_hi - x_lo) * i / 4
            x, _ = xy(s, y_lo)
            draw.text((x - 10, bottom + 6), f"{s:.0f}", fill="black", font=font)
        draw.text((left, bottom + 22), f"step - {label}", fill="black", font=font)
        for kind, colour, width in (("train", TRAIN_COLOUR, 1), ("val", VAL_COLOUR, 3)):
            pts = [xy(s, v) for s, v in series[kind]]
            if len(pts) > 1:
                draw.line(pts, fill=colour, width=width)
            elif pts:
                draw.ellipse((pts[0][0] - 3, pts[0][1] - 3, pts[0][0] + 3, pts[0][1] + 3), fill=colour)
        # the legend goes where the curves are not: top right for loss (falls), bottom right for accuracy (rises)
        ly = top + 6 if metric == "loss" else bottom - 36
        draw.text((right - 150, ly), "-- train", fill=TRAIN_COLOUR, font=font)
        draw.text((right - 150, ly + 14), "-- validation", fill=VAL_COLOUR, font=font)
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG"), suffix=".png")
