"""Per-layer activations → one brightness per neuron per time step, for the renderer.

This is the seam between the model's output and the GPU buffer. The table is built where the
activations are: from host numpy arrays on the host (then written to the GL buffer by one
host copy), from torch tensors on their device — on CUDA it never leaves the GPU and reaches
the GL buffer through CUDA–GL interop (:mod:`ear3d.gfx.interop`). Tensors are duck-typed
(torch's methods), so this module imports neither torch nor GL.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ear3d.graph import LayerInfo, NeuronTable

#: Smallest normal float32: a scale of 0 is never divided by.
TINY = 1.1754944e-38
#: Each layer is scaled by this percentile of its |activation| (quiet and loud layers alike readable).
PERCENTILE = 99.5


def activity_table(layers: Mapping[str, Any], table: NeuronTable, steps: int) -> Any:
    """Resample every layer to ``steps`` time steps and normalise it to 0–1.

    layers: name → (C, F, T) activations (T may differ per layer): float32 numpy arrays, or
    torch tensors (any float dtype) all on one device.
    Returns (N, steps) float32 in [0, 1], rows in ``table`` order: a numpy array for numpy
    layers, a tensor on the layers' device for tensors. Each layer is scaled by its own
    99.5th percentile so that quiet and loud layers are equally readable; NaN and inf become
    0, so a bad step can dim the picture but never break it.
    """
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    first = next(iter(layers.values()), None)
    if first is not None and not isinstance(first, np.ndarray) and hasattr(first, "device"):
        return _tensor_table(layers, table, steps)
    out = np.zeros((table.size, steps), np.float32)
    for info in table.layers:
        a = np.asarray(_layer(layers, info), dtype=np.float32)
        a = np.nan_to_num(a[:, :, _time_index(a.shape[2], steps)], nan=0.0, posinf=0.0, neginf=0.0)
        a = np.abs(a.reshape(info.size, steps))
        scale = float(np.percentile(a, PERCENTILE)) if a.size else 0.0
        if scale > 0:
            np.clip(a / scale, 0.0, 1.0, out=a)
        out[info.offset : info.offset + info.size] = a
    return out


def _tensor_table(layers: Mapping[str, Any], table: NeuronTable, steps: int) -> Any:
    """:func:`activity_table` on the layers' device, without a host sync. The tensors are used
    through their own methods (torch's), so this module never imports torch."""
    out = next(iter(layers.values())).detach().float().new_zeros((table.size, steps))  # float32, same device
    for info in table.layers:
        a = _layer(layers, info).detach().float()
        a = a[:, :, _time_index(a.shape[2], steps).tolist()].nan_to_num(nan=0.0, posinf=0.0, neginf=0.0)
        a = a.reshape(info.size, steps).abs()
        scale = _percentile(a.flatten(), PERCENTILE)  # 0-d, on the device
        scaled = (a / scale.clamp_min(TINY)).clamp(0.0, 1.0)
        out[info.offset : info.offset + info.size] = scaled.where(scale > 0, a)
    return out


def _percentile(values: Any, q: float) -> Any:
    """The q-th percentile of a 1-D tensor, interpolated linearly as numpy's default does
    (0-d, on its device; torch.quantile refuses tensors over 2^24 entries)."""
    ordered = values.sort().values
    position = q / 100 * (ordered.numel() - 1)
    lo = int(position)
    hi = min(lo + 1, ordered.numel() - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (position - lo)


def _layer(layers: Mapping[str, Any], info: LayerInfo) -> Any:
    """Layer ``info.name`` of ``layers``, checked against the neuron table."""
    if info.name not in layers:
        raise KeyError(f"activations lack layer {info.name!r}")
    a = layers[info.name]
    if tuple(a.shape[:2]) != (info.channels, info.pitches):
        raise ValueError(
            f"layer {info.name!r} has activations of shape {tuple(a.shape[:2])}, the neuron table expects "
            f"{(info.channels, info.pitches)}"
        )
    return a


def _time_index(t: int, steps: int) -> np.ndarray:
    """(steps,) int64: for each output step, the nearest earlier of the layer's ``t`` steps."""
    return np.minimum((np.arange(steps) * t) // steps, t - 1)
