"""The network on the GPU: key-frame positions, colours, selection and the activity table in
storage buffers, and the per-frame compute pass (shaders/frame.glsl) that turns them into
``current`` — each neuron's position and activity at the loop position being drawn — for
the neuron and edge passes to read.

What is uploaded when: key frames and colours once (``set_positions``, ``set_colors``); the
selection when it changes; the activity table once per optimization step (``set_activity``,
from the host or — through ``interop`` — straight from a CUDA tensor); per frame only the
loop phase (``update``).

Storage buffer bindings used by every pass (see shaders/include/network.glsl):
0 activity, 1 current, 2 style, 3 key frames, 4 edges, 5 edge light accumulator.
"""

from __future__ import annotations

import math
from typing import Any

import moderngl
import numpy as np

from ear3d.gfx.interop import ActivityUploader
from ear3d.gfx.shaders import load_compute_shader, set_uniforms

BIND_ACTIVITY, BIND_CURRENT, BIND_STYLE, BIND_KEYFRAMES, BIND_EDGES, BIND_ACCUM = range(6)
_GROUP = 64  # local_size_x of shaders/frame.glsl


def as_key_frames(positions: np.ndarray) -> np.ndarray:
    """(N, 3) or (K, N, 3) positions → (K, N, 3) float32 key frames; a clear error when a
    coordinate is NaN or infinite or the shape is wrong."""
    p = np.asarray(positions, dtype=np.float32)
    if p.ndim == 2:
        p = p[None]
    if p.ndim != 3 or p.shape[2] != 3 or p.shape[0] < 1:
        raise ValueError(f"positions must be (N, 3) or (K, N, 3) with K ≥ 1, got {np.shape(positions)}")
    if p.shape[1] == 0:
        raise ValueError("nothing to draw: the neuron table is empty")
    bad = ~np.isfinite(p).all(axis=(0, 2))
    if bad.any():
        raise ValueError(f"{int(bad.sum())} of {p.shape[1]} neuron positions are NaN or infinite")
    return np.ascontiguousarray(p)


class NetworkBuffers:
    """N neurons on the GPU. key frames: (K, N, 3) float32 world units; colors: (N, 3)
    float32 0–1; activity: (N, S) float32 0–1. Release with ``release()``."""

    def __init__(self, ctx: moderngl.Context, positions: np.ndarray, colors: np.ndarray, interop: str = "auto"):
        key_frames = as_key_frames(positions)
        self.ctx = ctx
        self.count = key_frames.shape[1]
        self.frames = key_frames.shape[0]
        self.steps = 1
        self.key_frames = key_frames  # host copy: camera framing and focus
        self._bounds: tuple[np.ndarray, float] | None = None
        self._style = np.zeros((self.count, 4), np.float32)
        self.program = load_compute_shader(ctx, "frame")
        self.keyframe_buffer = ctx.buffer(key_frames.tobytes())
        self.style_buffer = ctx.buffer(reserve=16 * self.count)
        self.current_buffer = ctx.buffer(reserve=16 * self.count)
        self.activity_buffer = ctx.buffer(np.zeros(self.count, np.float32).tobytes())
        self.uploader = ActivityUploader(ctx, interop)
        self.set_colors(colors)

    # -- uploads ---------------------------------------------------------------------------

    def set_positions(self, positions: np.ndarray) -> None:
        """New key frames (N, 3) or (K, N, 3) for the same N neurons (e.g. a finished layout)."""
        key_frames = as_key_frames(positions)
        if key_frames.shape[1] != self.count:
            raise ValueError(
                f"the layout has {key_frames.shape[1]} neurons but the network being drawn has {self.count}"
            )
        if self.keyframe_buffer.size != key_frames.nbytes:
            self.keyframe_buffer.orphan(key_frames.nbytes)
        self.keyframe_buffer.write(key_frames.tobytes())
        self.key_frames = key_frames
        self._bounds = None
        self.frames = key_frames.shape[0]

    def set_colors(self, colors: np.ndarray) -> None:
        """colors: (N, 3) float32 0–1, one per neuron (its layer's colour)."""
        c = np.asarray(colors, np.float32)
        if c.shape != (self.count, 3):
            raise ValueError(f"colors must be ({self.count}, 3), got {c.shape}")
        self._style[:, :3] = np.nan_to_num(np.clip(c, 0.0, 1.0))
        self.style_buffer.write(self._style.tobytes())

    def set_selection(self, selected: np.ndarray) -> None:
        """selected: (N,) bool — the optimization targets, drawn in the highlight colour."""
        sel = np.asarray(selected, bool)
        if sel.shape != (self.count,):
            raise ValueError(f"selection must have shape ({self.count},), got {sel.shape}")
        self._style[:, 3] = sel
        self.style_buffer.write(self._style.tobytes())

    @property
    def selection(self) -> np.ndarray:
        """(N,) bool, the current selection."""
        return self._style[:, 3] > 0.5

    def set_activity(self, table: Any) -> str:
        """table: (N, S) float32 in 0–1, S ≥ 1 time steps over the loop — a numpy array, or a
        CUDA tensor (anything with ``__cuda_array_interface__``), which goes to the GPU
        buffer without a host round trip where CUDA–GL interop works. NaN and inf draw as
        silence. Returns the path taken: ``"host"`` or ``"cuda"``."""
        shape = tuple(getattr(table, "shape", np.shape(table)))
        if len(shape) != 2 or shape[0] != self.count or shape[1] < 1:
            raise ValueError(f"activity table must be ({self.count}, S ≥ 1), got {shape}")
        nbytes = 4 * shape[0] * shape[1]
        if self.activity_buffer.size != nbytes:
            self.uploader.forget(self.activity_buffer)
            self.activity_buffer.orphan(nbytes)
        path = self.uploader.upload(table, self.activity_buffer)
        self.steps = int(shape[1])
        return path

    # -- per frame -------------------------------------------------------------------------

    def update(self, phase: float) -> None:
        """Compute ``current`` at loop position ``phase`` (0–1; NaN/inf → 0) on the GPU."""
        p = self.program
        set_uniforms(p, u_count=self.count, u_frames=self.frames, u_steps=self.steps, u_phase=clean_phase(phase))
        self.activity_buffer.bind_to_storage_buffer(BIND_ACTIVITY)
        self.current_buffer.bind_to_storage_buffer(BIND_CURRENT)
        self.keyframe_buffer.bind_to_storage_buffer(BIND_KEYFRAMES)
        p.run(group_x=math.ceil(self.count / _GROUP))
        self.ctx.memory_barrier()

    def bind(self) -> None:
        """Bind the buffers the draw passes read (current, style)."""
        self.current_buffer.bind_to_storage_buffer(BIND_CURRENT)
        self.style_buffer.bind_to_storage_buffer(BIND_STYLE)

    def bounds(self) -> tuple[np.ndarray, float]:
        """Centre (3,) and radius of a sphere holding every key frame's neurons (cached)."""
        if self._bounds is None:
            flat = self.key_frames.reshape(-1, 3)
            centre = (flat.min(axis=0) + flat.max(axis=0)) / 2
            radius = float(np.linalg.norm(flat - centre, axis=1).max())
            self._bounds = centre, max(radius, 1e-3)
        return self._bounds

    def release(self) -> None:
        self.uploader.release()
        for obj in (self.keyframe_buffer, self.style_buffer, self.current_buffer, self.activity_buffer, self.program):
            obj.release()


def clean_phase(phase: float) -> float:
    """A loop position in [0, 1): wrapped; NaN or inf → 0."""
    phase = float(phase)
    if not math.isfinite(phase):
        return 0.0
    phase %= 1.0
    return phase if phase < 1.0 else 0.0
