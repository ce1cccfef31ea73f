"""Per-layer activations → one brightness per neuron per time step, for the renderer.

numpy only: this is the seam between the model's output and the GPU buffer.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ear3d.graph import NeuronTable


def activity_table(layers: Mapping[str, np.ndarray], table: NeuronTable, steps: int) -> np.ndarray:
    """Resample every layer to ``steps`` time steps and normalise it to 0–1.

    layers: name → (C, F, T) float32 activations (T may differ per layer).
    Returns (N, steps) float32 in [0, 1], rows in ``table`` order. Each layer is scaled by
    its own 99.5th percentile so that quiet and loud layers are equally readable; NaN and
    inf become 0, so a bad step can dim the picture but never break it.
    """
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    out = np.zeros((table.size, steps), np.float32)
    for info in table.layers:
        if info.name not in layers:
            raise KeyError(f"activations lack layer {info.name!r}")
        a = np.asarray(layers[info.name], dtype=np.float32)
        if a.shape[:2] != (info.channels, info.pitches):
            raise ValueError(
                f"layer {info.name!r} has activations of shape {a.shape[:2]}, the neuron table expects "
                f"{(info.channels, info.pitches)}"
            )
        t = a.shape[2]
        idx = np.minimum((np.arange(steps) * t) // steps, t - 1)  # nearest earlier step
        a = np.nan_to_num(a[:, :, idx], nan=0.0, posinf=0.0, neginf=0.0).reshape(info.size, steps)
        a = np.abs(a)
        scale = float(np.percentile(a, 99.5)) if a.size else 0.0
        if scale > 0:
            np.clip(a / scale, 0.0, 1.0, out=a)
        out[info.offset : info.offset + info.size] = a
    return out
