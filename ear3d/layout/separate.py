"""The last touch of a layout: vertices that ended closer than a minimum distance are pushed
apart, so no sphere hides another.

Forces alone leave a few such pairs: two neurons with the same neighbours feel the same
springs, and a short-range repulsion that is strong enough to part them everywhere would
also blow the dense layers apart. The pairs are few (a handful among 15 k vertices), so they
are found with a k-d tree on the host (O(N log N), scipy) and each moved by about half the
minimum distance — far below anything the other quality measures notice.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree


def rms_radius(pos: np.ndarray) -> float:
    """RMS distance of ``pos`` (N, D) from its centroid."""
    p = pos - pos.mean(0)
    return float(np.sqrt((p * p).sum(1).mean()))


def close_pairs(pos: np.ndarray, distance: float) -> np.ndarray:
    """(P, 2) int64 index pairs i < j with |p_i − p_j| < ``distance``."""
    return cKDTree(pos).query_pairs(distance, output_type="ndarray").astype(np.int64).reshape(-1, 2)


def separate(pos: torch.Tensor, min_distance: float, rounds: int = 25, seed: int = 0) -> tuple[torch.Tensor, int]:
    """Push apart every pair of vertices closer than ``min_distance`` × the layout's RMS radius.

    pos: (N, D) float positions on any device. Returns the new positions (same shape, dtype and
    device) and how many pairs were too close before. Each round moves both vertices of every
    close pair symmetrically along their difference (a random direction where they coincide)
    to 1 % beyond the minimum distance; a vertex in several pairs takes the sum of its moves, so
    a few rounds settle clusters. min_distance = 0 changes nothing.
    """
    if min_distance < 0 or not np.isfinite(min_distance):
        raise ValueError(f"the minimum distance must be ≥ 0, got {min_distance}")
    if pos.ndim != 2 or pos.shape[0] < 2 or min_distance == 0:
        return pos, 0
    p = pos.detach().cpu().double().numpy().copy()
    if not np.isfinite(p).all():
        raise ValueError("positions contain NaN or infinity")
    radius = rms_radius(p)
    if radius == 0:
        raise ValueError("every vertex sits at the same point: nothing to separate")
    target = min_distance * radius
    rng = np.random.default_rng(seed)
    first = None
    for _ in range(rounds):
        pairs = close_pairs(p, target)
        if first is None:
            first = len(pairs)
        if not len(pairs):
            break
        i, j = pairs[:, 0], pairs[:, 1]
        d = p[j] - p[i]
        dist = np.linalg.norm(d, axis=1)
        same = dist < 1e-12 * radius
        if same.any():
            r = rng.standard_normal((int(same.sum()), p.shape[1]))
            d[same], dist[same] = r, np.linalg.norm(r, axis=1)
        push = (d / dist[:, None]) * ((1.01 * target - np.where(same, 0.0, dist)) / 2)[:, None]
        delta = np.zeros_like(p)
        np.add.at(delta, i, -push)
        np.add.at(delta, j, push)
        p += delta
    return torch.as_tensor(p, dtype=pos.dtype).to(pos.device), int(first or 0)
