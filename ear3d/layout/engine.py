"""The force-directed engine: vertices repel (Barnes-Hut), edges pull (springs), a weak pull
holds everything near the centre; an adaptive step and a convergence test end the run.

Forces on vertex i (positions in layout units, D = 2 or 3):

- repulsion ``Σ_j q_i q_j (p_i − p_j) / |p_i − p_j|^α`` (``ear3d.layout.tree``),
- attraction ``k_a Σ_j s_ij |p_j − p_i|^(β−1) (p_j − p_i)`` — springs of rest length 0 with
  strength s_ij (β = 1: linear), as one sparse (CSR) matrix product per step,
- gravity ``−k_g q_i p_i``.

Step (after Hu, "Efficient and high quality force-directed graph drawing", 2005): every
vertex moves by ``step · R · F_i / rms(F)`` (R = the layout's RMS radius, so the step is
scale-free), clipped per vertex at ``clip · step · R``; ``step`` grows by 1/``cooling`` after
five decreases in a row of the energy Σ|F|² and shrinks by ``cooling`` whenever it rises.
Converged: mean displacement below ``tolerance · R`` after at least ``min_steps`` steps.
Every operation is a tensor operation over all vertices or edges: CPU or CUDA alike.
"The reference" below is the earlier research system of docs/reference.md (its forces, its step).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ear3d.config import LayoutConfig
from ear3d.layout.tree import barnes_hut_forces, exact_forces


@dataclass(frozen=True)
class Physics:
    """Force constants. ``theta``: Barnes-Hut opening angle; ``exponent`` α of the repulsion;
    ``spring_exponent`` β: a spring pulls with ``s_ij · d^β`` (1: linear, the reference's;
    2: Fruchterman–Reingold's); ``attraction`` k_a; ``gravity`` k_g; ``softening`` ε as a
    fraction of the layout extent; graphs of fewer than ``exact_below`` vertices use the exact
    O(N²) sum (faster than a tree at that size).

    The defaults come from sweeps on the default model's graph. α = 4 (a short-range push):
    the reference's α = 2.5 with linear springs packs the channels of one pitch, which share
    every neighbour, into overlapping clumps (stress 0.099 and 3233 of 7504 vertices
    overlapping, against 0.068 and 12). β = 2: over three seeds on the 15,560-vertex graph it
    kept trustworthiness at 0.9845–0.9848 where β = 4 gave 0.9838–0.9841 (at stress 0.047
    against 0.043); β = 1 reaches 0.9853 but stretches the edges (stress 0.073, edge-length
    CV 0.37 against 0.32). The defaults of the fields `ear3d layout` exposes are
    :class:`~ear3d.config.LayoutConfig`'s (``layout.theta``, ``layout.repulsion_exponent``, …),
    defined there once."""

    theta: float = LayoutConfig.theta
    exponent: float = LayoutConfig.repulsion_exponent
    spring_exponent: float = LayoutConfig.spring_exponent
    attraction: float = 1.0
    gravity: float = LayoutConfig.gravity
    softening: float = 1e-4
    max_depth: int = 12
    exact_below: int = 1024


@dataclass(frozen=True)
class Schedule:
    """When a relaxation stops. ``step``: initial step as a fraction of the RMS radius;
    ``cooling``: the adaptive step's factor (reference: 0.98); ``clip``: per-vertex cap on the
    move in steps. ``max_steps``, ``min_steps`` and ``tolerance`` default to ``layout.*``'s
    (:class:`~ear3d.config.LayoutConfig`)."""

    max_steps: int = LayoutConfig.max_steps
    min_steps: int = LayoutConfig.min_steps
    tolerance: float = LayoutConfig.tolerance
    step: float = 0.05
    cooling: float = 0.95
    clip: float = 3.0


@dataclass(frozen=True)
class Springs:
    """Edges as a symmetric sparse matrix. ``matrix``: (N, N) CSR of strengths s_ij (each
    edge stored in both directions); ``degree``: (N,) row sums; ``src``, ``dst``: (E,) int64
    endpoints and ``entry_edge``: (2E,) the edge of each stored entry (to reweight entries by
    edge length for springs stiffer than linear)."""

    matrix: torch.Tensor
    degree: torch.Tensor
    src: torch.Tensor
    dst: torch.Tensor
    entry_edge: torch.Tensor

    @property
    def size(self) -> int:
        return int(self.degree.shape[0])

    def pull(self, pos: torch.Tensor, exponent: float) -> torch.Tensor:
        """``Σ_j s_ij |p_j − p_i|^(β−1) (p_j − p_i)`` for every vertex: (N, D)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "sparse CSR is in beta"
            if exponent == 1:
                return self.matrix @ pos - self.degree[:, None] * pos
            d = pos[self.dst] - pos[self.src]
            stretch = (d * d).sum(1).pow((exponent - 1) / 2)  # |d|^(β−1), once per edge
            vals = self.matrix.values() * stretch[self.entry_edge]
            m = torch.sparse_csr_tensor(self.matrix.crow_indices(), self.matrix.col_indices(), vals, self.matrix.shape)
            # One product gives both Σ_j w_ij p_j and the row sums Σ_j w_ij.
            both = m @ torch.cat([pos, torch.ones_like(pos[:, :1])], 1)
            return both[:, :-1] - both[:, -1:] * pos


def make_springs(src: torch.Tensor, dst: torch.Tensor, strength: torch.Tensor, n: int) -> Springs:
    """src, dst: (E,) integer vertex indices; strength: (E,) ≥ 0. Duplicate edges add up;
    self-loops are dropped (they pull nothing)."""
    if n < 1:
        raise ValueError("a graph needs at least one vertex")
    src, dst = src.long(), dst.long()
    if len(src) and (int(torch.minimum(src, dst).min()) < 0 or int(torch.maximum(src, dst).max()) >= n):
        raise ValueError(f"edge endpoints must lie in [0, {n})")
    if not torch.isfinite(strength).all() or (strength < 0).any():
        raise ValueError("spring strengths must be finite and ≥ 0")
    keep = src != dst
    src, dst, strength = src[keep], dst[keep], strength[keep].to(torch.float32)
    e = len(src)
    rows = torch.cat([src, dst])
    cols = torch.cat([dst, src])
    rows, order = torch.sort(rows, stable=True)  # CSR needs rows grouped; columns may stay unsorted
    cols = cols[order]
    entry_edge = order % max(e, 1)
    vals = strength[entry_edge]
    counts = torch.bincount(rows, minlength=n)
    crow = torch.zeros(n + 1, dtype=torch.int64, device=src.device)
    crow[1:] = torch.cumsum(counts, 0)
    idx_type = torch.int32 if len(rows) < 2**31 - 1 else torch.int64  # int32 indices: 2× faster products
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "sparse CSR is in beta"
        matrix = torch.sparse_csr_tensor(crow.to(idx_type), cols.to(idx_type), vals, (n, n))
    degree = torch.zeros(n, dtype=torch.float32, device=src.device).index_add_(0, rows, vals)
    return Springs(matrix, degree, src, dst, entry_edge)


def check_charges(charge: torch.Tensor, n: int) -> None:
    """Charges must be (N,), finite and > 0: a zero charge would let vertices overlap."""
    if charge.shape != (n,):
        raise ValueError(f"charges must have shape ({n},), got {tuple(charge.shape)}")
    bad = ~torch.isfinite(charge)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} charges are NaN or infinite (first at vertex {int(bad.nonzero()[0])})")
    low = charge <= 0
    if low.any():
        raise ValueError(
            f"{int(low.sum())} charges are ≤ 0 (first at vertex {int(low.nonzero()[0])}); charges must be > 0 "
            "(ear3d.layout.charges floors them)"
        )


def forces(pos: torch.Tensor, charge: torch.Tensor, springs: Springs, physics: Physics) -> torch.Tensor:
    """Total force (N, D) at ``pos`` (N, D)."""
    if pos.shape[0] < physics.exact_below:
        f = exact_forces(pos, charge, physics.exponent, physics.softening)
    else:
        f = barnes_hut_forces(pos, charge, physics.theta, physics.exponent, physics.softening, physics.max_depth)
    f += physics.attraction * springs.pull(pos, physics.spring_exponent)
    f -= physics.gravity * charge[:, None] * pos
    return f


@dataclass
class Relaxed:
    """Result of :func:`relax`: positions (N, D), steps taken, whether it converged, and the
    last mean displacement relative to the RMS radius."""

    pos: torch.Tensor
    steps: int
    converged: bool
    displacement: float


def relax(
    pos: torch.Tensor,
    charge: torch.Tensor,
    springs: Springs,
    physics: Physics,
    schedule: Schedule,
    on_step: Callable[[int, torch.Tensor, float], None] | None = None,
) -> Relaxed:
    """Run the engine from ``pos`` (N, D) until converged or ``schedule.max_steps``.

    ``on_step(step, pos, displacement)`` is called after every step (progress bars, video).
    """
    n = pos.shape[0]
    if n == 0:
        raise ValueError("the graph is empty: nothing to lay out")
    if springs.size != n:
        raise ValueError(f"springs are for {springs.size} vertices, positions for {n}")
    check_charges(charge, n)
    if not torch.isfinite(pos).all():
        raise ValueError("start positions contain NaN or infinity")
    pos = pos.clone()
    if n == 1:
        return Relaxed(pos * 0, 0, True, 0.0)
    step, progress, energy0 = schedule.step, 0, math.inf
    disp, steps, converged = math.inf, 0, False
    qsum = charge.sum()
    for steps in range(1, schedule.max_steps + 1):
        pos -= (charge[:, None] * pos).sum(0) / qsum  # the centre of charge stays at the origin
        radius = float(pos.pow(2).sum(1).mean().sqrt()) + 1e-12
        f = forces(pos, charge, springs, physics)
        norm2 = f.pow(2).sum(1)
        energy = float(norm2.sum())
        if not math.isfinite(energy):
            raise FloatingPointError(f"forces became non-finite at step {steps}; lower layout.step or check charges")
        rms = math.sqrt(energy / n) + 1e-30
        move = f * (step * radius / rms)
        cap = schedule.clip * step * radius
        length = move.pow(2).sum(1).sqrt()
        move *= (cap / length.clamp(min=cap)).unsqueeze(1)
        pos += move
        disp = float(length.clamp(max=cap).mean()) / radius
        # Adaptive step: grow after five decreases of the energy in a row, shrink on a rise.
        if energy < energy0:
            progress += 1
            if progress >= 5:
                progress, step = 0, min(step / schedule.cooling, 0.5)
        else:
            progress, step = 0, step * schedule.cooling
        energy0 = energy
        if on_step is not None:
            on_step(steps, pos, disp)
        if steps >= schedule.min_steps and disp < schedule.tolerance:
            converged = True
            break
    return Relaxed(pos, steps, converged, disp)
