"""Per-layer activations → one brightness per neuron per time step, for the renderer.

This is the seam between the model's output and the GPU buffer. The table is built where the
activations are: from host numpy arrays on the host (then written to the GL buffer by one
host copy), from torch tensors on their device — on CUDA it never leaves the GPU and reaches
the GL buffer through CUDA–GL interop (:mod:`ear3d.gfx.interop`). Tensors are duck-typed
(torch's methods), so this module imports neither torch nor GL.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ear3d.graph import LayerInfo, NeuronTable
from ear3d.messages import Mailbox

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


def target_mask(selected: Mapping[str, np.ndarray], table: NeuronTable) -> np.ndarray:
    """(N,) bool: the neurons that are optimisation targets at any time step. selected: layer
    name → (C, F, T) bool (layers without a selection have no targets)."""
    targets = np.zeros(table.size, bool)
    for info in table.layers:
        sel = selected.get(info.name)
        if sel is not None:
            targets[info.offset : info.offset + info.size] = np.asarray(sel).any(axis=2).reshape(-1)
    return targets


@dataclass(frozen=True)
class PreparedFrame:
    """A worker frame with what the renderer needs from it: ``activity`` (N, S) float32 0–1
    (numpy; None for frames whose layers live on a CUDA device: those are tabled where they
    are, without a host copy) and ``targets`` (N,) bool."""

    frame: Any
    activity: np.ndarray | None
    targets: np.ndarray


class TableFeed:
    """Builds the activity table of every new worker frame on a thread of its own, so that the
    frame loop only uploads it. (On the host the table costs a percentile per layer over N × S
    values — tens of ms for the default model, more while the worker competes for the cores — a
    hitch in every frame that picked up a step.)

    frames: the worker's mailbox of ActivationFrame (``wait_newer``/``peek``, see
    ear3d.messages.Mailbox); after_version: the version already shown. Results appear in
    ``ready`` (a Mailbox of PreparedFrame, newest only). Stop with ``stop()``.
    """

    def __init__(self, frames: Any, table: NeuronTable, steps: int, after_version: int = 0):
        self._frames = frames
        self._table = table
        self._steps = steps
        self._version = after_version
        self.ready: Mailbox[PreparedFrame] = Mailbox()
        #: the last error building a table (the frame is skipped; the loop goes on)
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ear3d-activity", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            version, frame = self._frames.wait_newer(self._version, timeout=0.2)
            if version == self._version or frame is None:
                continue
            self._version = version
            try:
                self.ready.put(prepare_frame(frame, self._table, self._steps))
            except (KeyError, ValueError) as e:  # a frame of another network: skip it, say why
                self.error = str(e)

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread (idempotent)."""
        self._stop.set()
        self._thread.join(timeout)


def prepare_frame(frame: Any, table: NeuronTable, steps: int) -> PreparedFrame:
    """The PreparedFrame of an ActivationFrame (host tables built here, device ones left)."""
    on_device = frame.device_layers is not None
    activity = None if on_device else activity_table(frame.layers, table, steps)
    return PreparedFrame(frame, activity, target_mask(frame.selected, table))
