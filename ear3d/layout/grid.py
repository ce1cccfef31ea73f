"""The simplest honest placement: each layer a slab, layers side by side along x.

Within a layer, pitch runs up the y axis (low notes at the bottom) and channels along z.
"""

from __future__ import annotations

import numpy as np

from ear3d.config import LayoutConfig
from ear3d.graph import NeuronTable


def grid_positions(table: NeuronTable, layout: LayoutConfig) -> np.ndarray:
    """positions: (N, 3) float32 in world units, centred on the origin."""
    pos = np.zeros((table.size, 3), np.float32)
    n_layers = len(table.layers)
    for k, info in enumerate(table.layers):
        rows = slice(info.offset, info.offset + info.size)
        x = (k - (n_layers - 1) / 2) * layout.layer_gap
        f = table.pitch[rows].astype(np.float32)
        c = table.channel[rows].astype(np.float32)
        y = (f / max(info.pitches - 1, 1) - 0.5) * layout.layer_height if info.pitches > 1 else 0.0 * f
        depth = min(layout.layer_height, (info.channels - 1) * layout.channel_spacing)
        if info.pitches == 1:
            # A layer without pitch axis: fold its channels into a square so it is not a thin line.
            side = int(np.ceil(np.sqrt(info.channels)))
            span = min(layout.layer_height, side * layout.channel_spacing * 2)
            y = ((c // side) / max(side - 1, 1) - 0.5) * span
            z = ((c % side) / max(side - 1, 1) - 0.5) * span
        else:
            z = (c / max(info.channels - 1, 1) - 0.5) * depth
        pos[rows, 0] = x
        pos[rows, 1] = y
        pos[rows, 2] = z
    return pos
