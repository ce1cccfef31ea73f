"""Multi-level coarsening: merge vertices that are neighbours along channel or along pitch.

A level is a set of layers, each a (channels × pitches) grid of vertices ordered layer,
channel, pitch (as ``ear3d.graph.NeuronTable``). One coarsening step halves, in every layer,
its longer axis (channels on a tie): vertex (c, f) merges into (c // 2, f) or (c, f // 2).
Charges and spring strengths add up; edges that land on the same pair merge, edges inside a
merged group vanish. Steps repeat until at most ``min_vertices`` remain or every layer is
one vertex (a few dozen vertices for the CPC networks).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ear3d.config import LayoutConfig


@dataclass(frozen=True)
class Level:
    """One resolution. shapes: per layer (channels, pitches); charge: (N,) float32;
    src, dst: (E,) int64 with src < dst (undirected, merged); strength: (E,) float32;
    parent: (N_finer,) int64 vertex of this level that each vertex of the next finer level
    merged into (None for the finest level)."""

    shapes: tuple[tuple[int, int], ...]
    charge: torch.Tensor
    src: torch.Tensor
    dst: torch.Tensor
    strength: torch.Tensor
    parent: torch.Tensor | None = None

    @property
    def size(self) -> int:
        return int(self.charge.shape[0])


def merge_edges(src: torch.Tensor, dst: torch.Tensor, strength: torch.Tensor, n: int) -> tuple[torch.Tensor, ...]:
    """Undirected edges with duplicates summed and self-loops dropped: (src, dst, strength), src < dst."""
    lo, hi = torch.minimum(src, dst).long(), torch.maximum(src, dst).long()
    keep = lo != hi
    key = lo[keep] * n + hi[keep]
    uniq, inverse = torch.unique(key, return_inverse=True)
    total = torch.zeros(len(uniq), dtype=strength.dtype, device=strength.device).index_add_(0, inverse, strength[keep])
    return uniq // n, uniq % n, total


def finest_level(shapes: list[tuple[int, int]], charge: torch.Tensor, src: torch.Tensor, dst: torch.Tensor,
                 strength: torch.Tensor) -> Level:
    """The graph itself as level 0 (edges merged)."""
    n = sum(c * f for c, f in shapes)
    if charge.shape != (n,):
        raise ValueError(f"{n} vertices in the layer shapes but {tuple(charge.shape)} charges")
    s, d, w = merge_edges(src, dst, strength, n)
    return Level(tuple(shapes), charge, s, d, w)


def _parents(shapes: tuple[tuple[int, int], ...], device: torch.device) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """For one coarsening step: the coarse vertex of every fine vertex, and the coarse shapes."""
    parts, coarse, offset = [], [], 0
    for c, f in shapes:
        ch = torch.arange(c, device=device).repeat_interleave(f)
        pi = torch.arange(f, device=device).repeat(c)
        if c * f == 1:
            cc, ff = 1, 1
        elif c >= f:
            cc, ff, ch = (c + 1) // 2, f, ch // 2
        else:
            cc, ff, pi = c, (f + 1) // 2, pi // 2
        parts.append(offset + ch * ff + pi)
        coarse.append((cc, ff))
        offset += cc * ff
    return torch.cat(parts), coarse


def coarsen(level: Level) -> Level:
    """One step coarser (see the module docstring)."""
    parent, shapes = _parents(level.shapes, level.charge.device)
    n = sum(c * f for c, f in shapes)
    charge = torch.zeros(n, dtype=level.charge.dtype, device=level.charge.device).index_add_(0, parent, level.charge)
    s, d, w = merge_edges(parent[level.src], parent[level.dst], level.strength, n)
    return Level(tuple(shapes), charge, s, d, w, parent)


def hierarchy(finest: Level, min_vertices: int = LayoutConfig.coarsest) -> list[Level]:
    """[finest, …, coarsest]; each level's ``parent`` maps the previous (finer) one onto it."""
    levels = [finest]
    while levels[-1].size > min_vertices and any(c * f > 1 for c, f in levels[-1].shapes):
        levels.append(coarsen(levels[-1]))
    return levels
