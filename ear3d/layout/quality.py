"""Layout quality, for the bench and tests (numpy + scipy; no torch).

All measures compare a layout (N, D) with the graph's hop distances from a sample of source
vertices (breadth-first search over the undirected graph):

- scale-normalised stress: ``mean over pairs of (α·|x_i − x_j| / d_ij − 1)²`` with the α
  that minimises it (so the layout's overall size does not matter); 0 is perfect, 1 is
  what a layout collapsed to a point scores. Lower is better.
- trustworthiness (Venna & Kaski) at k: how many of each source's k nearest vertices in the
  layout are also among its k nearest in the graph, penalised by their graph rank; ties in
  hop distance share the best rank. 1 is perfect. Higher is better.
- edge-length CV: standard deviation / mean of edge lengths. Lower is more uniform.
- overlapping vertices: vertices whose nearest neighbour is closer than ``2 · radius`` after
  scaling the layout to an RMS radius of 1 (spheres of that radius would intersect). Lower
  is better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import shortest_path
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class Quality:
    stress: float
    trustworthiness: float
    edge_cv: float
    overlaps: int


def adjacency(src: np.ndarray, dst: np.ndarray, n: int) -> csr_matrix:
    """Undirected unweighted adjacency (N, N) CSR."""
    ones = np.ones(len(src), np.int8)
    a = coo_matrix((ones, (src.astype(np.int64), dst.astype(np.int64))), shape=(n, n)).tocsr()
    return (a + a.T).tocsr()


def hop_distances(adj: csr_matrix, sources: np.ndarray) -> np.ndarray:
    """(S, N) float64 hop distances from each source (inf where unreachable)."""
    return shortest_path(adj, method="D", directed=False, unweighted=True, indices=sources)


def sample_sources(n: int, count: int, seed: int = 0) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n, size=min(n, count), replace=False))


def stress(pos: np.ndarray, hops: np.ndarray, sources: np.ndarray) -> float:
    """Scale-normalised stress over the pairs (source, other vertex) with finite hop distance."""
    x = np.linalg.norm(pos[sources][:, None, :] - pos[None, :, :], axis=2)
    ok = np.isfinite(hops) & (hops > 0)
    r = x[ok] / hops[ok]
    if not len(r):
        raise ValueError("no connected pairs to measure stress on")
    alpha = r.sum() / max((r * r).sum(), 1e-300)  # argmin_α Σ (α r − 1)²
    return float(np.mean((alpha * r - 1) ** 2))


def trustworthiness(pos: np.ndarray, hops: np.ndarray, sources: np.ndarray, k: int = 10) -> float:
    """Trustworthiness at ``k`` averaged over the sources (graph hop distance as the original space)."""
    n = len(pos)
    if not 1 <= k < n / 2:
        raise ValueError(f"trustworthiness needs 1 ≤ k < N/2, got k = {k}, N = {n}")
    penalty = 0.0
    for row, s in enumerate(sources):  # loop over the sampled sources only
        h = hops[row].copy()
        h[s] = -1  # the source itself ranks first and is excluded below
        sorted_h = np.sort(h)
        rank = np.searchsorted(sorted_h, h, side="left")  # vertices strictly closer; ties share the best rank
        d = np.linalg.norm(pos - pos[s], axis=1)
        d[s] = np.inf
        near = np.argpartition(d, k)[:k]
        penalty += np.maximum(rank[near] - k, 0).sum()
    norm = 2.0 / (len(sources) * k * (2 * n - 3 * k - 1))
    return float(1 - norm * penalty)


def edge_length_cv(pos: np.ndarray, src: np.ndarray, dst: np.ndarray, max_edges: int = 2_000_000,
                   seed: int = 0) -> float:
    if len(src) == 0:
        return 0.0
    if len(src) > max_edges:
        pick = np.random.default_rng(seed).choice(len(src), max_edges, replace=False)
        src, dst = src[pick], dst[pick]
    length = np.linalg.norm(pos[src.astype(np.int64)] - pos[dst.astype(np.int64)], axis=1)
    m = length.mean()
    return float(length.std() / m) if m > 0 else float("inf")


def overlapping(pos: np.ndarray, radius: float = 0.006) -> int:
    """Vertices with a neighbour closer than 2·radius once the layout's RMS radius is 1."""
    p = pos - pos.mean(0)
    rms = float(np.sqrt((p * p).sum(1).mean()))
    if rms == 0:
        return len(pos)
    d, _ = cKDTree(p / rms).query(p / rms, k=2)
    return int((d[:, 1] < 2 * radius).sum())


class GraphSample:
    """Hop distances from ``sources`` sampled vertices of the graph (src, dst) with n vertices,
    computed once and shared by every layout measured against it."""

    def __init__(self, src: np.ndarray, dst: np.ndarray, n: int, sources: int = 64, seed: int = 0):
        if n < 3:
            raise ValueError(f"a graph of {n} vertices is too small to measure")
        self.src, self.dst, self.n = src, dst, n
        self.sources = sample_sources(n, sources, seed)
        self.hops = hop_distances(adjacency(src, dst, n), self.sources)

    def measure(self, pos: np.ndarray, k: int = 10) -> Quality:
        """All four measures for one layout (N, D)."""
        pos = np.asarray(pos, np.float64)
        if pos.shape[0] != self.n:
            raise ValueError(f"layout has {pos.shape[0]} vertices, the graph {self.n}")
        if not np.isfinite(pos).all():
            raise ValueError("the layout contains NaN or infinity")
        k = min(k, (self.n - 1) // 2)
        return Quality(stress(pos, self.hops, self.sources), trustworthiness(pos, self.hops, self.sources, k),
                       edge_length_cv(pos, self.src, self.dst), overlapping(pos))
