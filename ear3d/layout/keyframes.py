"""Key frames over the loop: the base layout relaxed under each time window's charges, then
rigidly aligned back onto the base (a relaxation may drift or turn the whole picture; only
the change of shape should move on screen), then separated like the base
(``ear3d.layout.separate``)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ear3d.layout.engine import Physics, Schedule, Springs, relax
from ear3d.layout.separate import separate


def align(pos: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``pos`` (N, D) rotated and translated (no scaling, no mirroring) to best fit ``target``
    (N, D) in the least-squares sense (Kabsch)."""
    mp, mt = pos.mean(0), target.mean(0)
    a, b = (pos - mp).double(), (target - mt).double()
    u, _, vt = torch.linalg.svd(a.T @ b)
    d = torch.ones(pos.shape[1], dtype=torch.float64, device=pos.device)
    d[-1] = torch.sign(torch.linalg.det(u @ vt))  # a proper rotation, never a reflection
    rot = (u * d) @ vt
    return ((a @ rot) + mt.double()).to(pos.dtype)


def key_frames(
    base: torch.Tensor,
    springs: Springs,
    charges: torch.Tensor,
    physics: Physics,
    schedule: Schedule,
    on_frame: Callable[[int, torch.Tensor], None] | None = None,
    separation: float = 0.0,
) -> torch.Tensor:
    """base: (N, D) the converged layout; charges: (K, N) one set per key frame window.
    Returns (K, N, D): frame k relaxed from ``base`` under ``charges[k]``, aligned onto ``base``,
    no two vertices closer than ``separation`` RMS radii (0 = as relaxed).
    """
    if charges.ndim != 2 or charges.shape[1] != base.shape[0]:
        raise ValueError(f"charges must be (K, {base.shape[0]}), got {tuple(charges.shape)}")
    frames = []
    for k in range(charges.shape[0]):  # a handful of frames: each one is a full relaxation
        moved = relax(base, charges[k], springs, physics, schedule).pos if schedule.max_steps > 0 else base.clone()
        frame, _ = separate(align(moved, base), separation, seed=k)
        frames.append(frame)
        if on_frame is not None:
            on_frame(k, frame)
    return torch.stack(frames)
