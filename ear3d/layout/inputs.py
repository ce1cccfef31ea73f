"""What the engine is fed: charges from activation statistics, spring strengths from weights.

numpy only; the engine converts to tensors.

Charges: a neuron's base charge is its spread — its standard deviation over data (the
reference's statistic, docs/reference.md; from the model's ``stats.npz``) when given, else the RMS of its
activation over the clip — divided by the mean spread of its layer (so every layer weighs
the same on average). A key frame scales it by the neuron's activity in that frame's time
window relative to the whole clip (RMS over the window / RMS over the clip), so a neuron
that is loud at that moment pushes harder. Both are mapped to ``floor + (1 − floor) · x``
and capped at ``cap``: never zero, never huge. RMS rather than a deviation within a window:
a window holds only one or two steps of the slow autoregressive layers, where a deviation
is zero. Windows are periodic Gaussians centred on key frame k's phase k / K, σ = 0.5 / K of
the loop, so every window sees part of every layer, however few steps it has.

Strengths: the magnitude of each edge's learned weight relative to the mean magnitude of
its connection (layers differ in weight scale by their fan-in), divided by
``sqrt(deg_i · deg_j)`` (deg = summed strength at a vertex) so that the thousands of edges
into a wide layer's neuron do not crush it onto its neighbours.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ear3d.config import LayoutConfig
from ear3d.graph import NetworkGraph, NeuronTable


def window_weights(steps: int, key_frames: int) -> np.ndarray:
    """(K, steps) float64 weights of each time step in each key frame's window; rows sum to 1."""
    if steps < 1 or key_frames < 1:
        raise ValueError(f"need ≥ 1 time step and ≥ 1 key frame, got {steps} and {key_frames}")
    t = (np.arange(steps) + 0.5) / steps
    c = np.arange(key_frames) / key_frames
    d = np.abs(t[None, :] - c[:, None])
    d = np.minimum(d, 1 - d)  # circular: the loop wraps
    w = np.exp(-0.5 * (d / (0.5 / key_frames)) ** 2) if key_frames > 1 else np.ones((1, steps))
    return w / w.sum(1, keepdims=True)


def activation_charges(
    activations: Mapping[str, np.ndarray],
    table: NeuronTable,
    key_frames: int = 0,
    floor: float = LayoutConfig.charge_floor,
    cap: float = 4.0,
    spread: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Charges from activations ``{layer: (C, F, T)}`` of one clip, and optionally each
    neuron's spread over data ``{layer: (C, F)}`` (see the module docstring).

    key_frames = 0: the base charges, (N,) float32. key_frames = K ≥ 1: one set per key
    frame window, (K, N) float32. Always finite and in [floor, cap], floor > 0.
    """
    if not 0 < floor <= 1:
        raise ValueError(f"charge floor must be in (0, 1], got {floor}")
    rows = max(key_frames, 1)
    out = np.empty((rows, table.size), np.float32)
    for info in table.layers:
        if info.name not in activations:
            raise KeyError(f"activations lack layer {info.name!r}")
        a = np.asarray(activations[info.name], dtype=np.float64)
        if a.ndim != 3 or a.shape[:2] != (info.channels, info.pitches):
            raise ValueError(f"layer {info.name!r}: activations of shape {a.shape}, expected ({info.channels}, "
                             f"{info.pitches}, T)")
        if not np.isfinite(a).all():
            raise ValueError(f"layer {info.name!r}: activations contain NaN or infinity; charges would be garbage")
        power = (a * a).reshape(info.size, a.shape[2])
        whole = np.sqrt(power.mean(1))  # (size,) RMS over the clip
        if spread is not None:
            sd = np.asarray(spread[info.name], dtype=np.float64)
            if sd.shape != (info.channels, info.pitches) or not np.isfinite(sd).all() or (sd < 0).any():
                raise ValueError(f"layer {info.name!r}: spread must be finite, ≥ 0 and of shape "
                                 f"({info.channels}, {info.pitches}), got {sd.shape}")
            base = sd.reshape(-1)
        else:
            base = whole
        scale = base.mean()
        x = base / scale if scale > 0 else np.zeros_like(base)  # a silent layer: every neuron at the floor
        if key_frames:
            w = window_weights(a.shape[2], key_frames)
            rms = np.sqrt(w @ power.T)  # (K, size)
            # Activity in the window relative to the clip; a neuron silent all clip keeps its base.
            x = x * np.divide(rms, whole, out=np.ones_like(rms), where=whole > 0)
        out[:, info.offset : info.offset + info.size] = np.minimum(floor + (1 - floor) * x, cap)
    return out[0] if key_frames == 0 else out


def uniform_charges(table: NeuronTable) -> np.ndarray:
    """(N,) float32 ones: when no activations are at hand."""
    return np.ones(table.size, np.float32)


def spring_strengths(graph: NetworkGraph) -> np.ndarray:
    """(E,) float32 strengths s ≥ 0 of the graph's edges (see the module docstring)."""
    a = np.abs(graph.weight.astype(np.float64))
    for _, _, start, end in graph.spans:
        m = a[start:end].mean() if end > start else 0.0
        # A connection whose weights are all zero still connects: equal strengths then.
        a[start:end] = a[start:end] / m if m > 0 else 1.0
    n = graph.table.size
    deg = np.bincount(graph.src, a, minlength=n) + np.bincount(graph.dst, a, minlength=n)
    deg = np.maximum(deg, 1e-12)
    return (a / np.sqrt(deg[graph.src] * deg[graph.dst])).astype(np.float32)
