"""Positions between key frames: the one definition of how a layout moves over the loop
(numpy only, so the renderer may import it). The GPU runs the same formula per frame in
``shaders/frame.glsl`` (``position_at``); tests/test_gl.py holds the two together."""

from __future__ import annotations

import math

import numpy as np


def periodic_catmull_rom(frames: np.ndarray, phase: float) -> np.ndarray:
    """frames: (K, N, D) key frames at phases k / K; phase: any real (wraps at 1) → (N, D),
    in the dtype of ``frames`` (float32 in, float32 out).

    Passes through every key frame, continuous with a continuous first derivative, and
    periodic: phase 0 and phase 1 give the same positions and the same velocity.
    """
    k = frames.shape[0]
    if k == 1:
        return frames[0].copy()
    s = (phase % 1.0) * k
    i = math.floor(s) % k
    t = s - math.floor(s)
    p0, p1, p2, p3 = (frames[(i + j) % k] for j in (-1, 0, 1, 2))
    t2, t3 = t * t, t * t * t
    return 0.5 * ((2 * p1) + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (3 * p1 - p0 - 3 * p2 + p3) * t3)
