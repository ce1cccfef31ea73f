"""Figures drawn with matplotlib for the plots people read (training curves, sonification
curves and scalograms, bench pictures), saved atomically as PNG.

matplotlib is imported inside the functions (it costs a second at first import) and used
through its object API with the Agg renderer: no pyplot, no global figure state, no display.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ear3d.atomic import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import ColorType

#: Pixels per inch of every figure: sizes are given in pixels and the PNG has exactly that size.
DPI = 100


def new_figure(size: tuple[int, int], facecolor: ColorType = "white",
               layout: Literal["constrained"] | None = "constrained") -> Figure:
    """An empty figure of ``size`` = (width, height) pixels on an Agg canvas. Its constrained
    layout keeps titles, tick labels, legends and colour bars inside it and apart; ``layout=None``
    for axes placed by hand (``fig.add_axes``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = size
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor=facecolor, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def rgb(colour: tuple[int, int, int]) -> tuple[float, float, float]:
    """An 8-bit (R, G, B) colour as matplotlib's 0–1 floats."""
    return colour[0] / 255, colour[1] / 255, colour[2] / 255


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` as an RGB PNG of its own size, atomically; returns the path.

    Figures are opaque, so the alpha channel matplotlib renders is dropped (Pillow writes the file).
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3]  # (H, W, 3) uint8
    image = Image.fromarray(np.ascontiguousarray(pixels))
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG", optimize=True), suffix=".png")
