"""Barnes-Hut repulsion in torch: a quadtree (2-D) or octree (3-D), built level by level with
scatter-adds and traversed level-synchronously, with no Python loop over vertices.

The force on vertex i is ``Σ_j q_i q_j (p_i − p_j) / (|p_i − p_j|² + ε²)^(α/2)`` (α =
``exponent``; magnitude ∝ 1/d^(α−1)). A cell whose side ``s`` and distance ``d`` to its
centre of charge satisfy ``s < θ·d`` (and that does not hold vertex i) acts as one charge at
its centre; the others are opened. Cells still open at the deepest level are summed exactly
vertex by vertex.

Build: positions are scaled into the unit cube, given Morton codes (``levels`` bits per axis)
and sorted; the cells of level l are the runs of equal code prefixes, so one sort serves every
level and a cell's children (and a leaf's vertices) are contiguous.
Traversal: a list of (vertex, cell) pairs per level; accepted pairs add their force with an
``index_add_``, the rest expand into (vertex, child) pairs for the next level. Targets are
processed in chunks so memory stays bounded on large graphs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Tree:
    """A built tree. ``order``: (N,) vertex indices in Morton order; per level l (0 = the root's
    children … L−1 = leaves): ``com[l]`` (M_l, D) centres of charge, ``charge[l]`` (M_l,),
    ``count[l]`` (M_l,) vertices per cell, ``cell_of[l]`` (N,) cell of each sorted vertex,
    ``first_child[l]``/``child_count[l]`` (M_l,) children in level l+1 (for leaves: first sorted
    vertex and vertex count);
    ``side[l]`` cell side length in position units."""

    order: torch.Tensor
    pos: torch.Tensor
    q: torch.Tensor
    com: list[torch.Tensor]
    charge: list[torch.Tensor]
    count: list[torch.Tensor]
    cell_of: list[torch.Tensor]
    first_child: list[torch.Tensor]
    child_count: list[torch.Tensor]
    side: list[float]


def _morton(grid: torch.Tensor, levels: int) -> torch.Tensor:
    """grid: (N, D) int64 cell coordinates < 2**levels → (N,) interleaved codes."""
    n, d = grid.shape
    code = torch.zeros(n, dtype=torch.int64, device=grid.device)
    for b in range(levels):  # loop over bits, vectorized over vertices
        for a in range(d):
            code |= ((grid[:, a] >> b) & 1) << (b * d + a)
    return code


def _ranges(start: torch.Tensor, count: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For groups g with ``count[g]`` members from ``start[g]``: (group of each item, item index)."""
    group = torch.repeat_interleave(torch.arange(len(count), device=count.device), count)
    first = torch.cumsum(count, 0) - count
    within = torch.arange(int(count.sum()), device=count.device) - first[group]
    return group, start[group] + within


def build_tree(pos: torch.Tensor, charge: torch.Tensor, max_depth: int = 12) -> Tree:
    """pos: (N, D) float, D ∈ {2, 3}; charge: (N,) float > 0."""
    n, d = pos.shape
    depth = max_depth  # levels beyond the last one that splits a cell are dropped below
    lo = pos.min(0).values
    size = float((pos.max(0).values - lo).max()) * (1 + 1e-6) + 1e-12
    cells = 1 << depth
    grid = ((pos - lo) / size * cells).long().clamp_(0, cells - 1)
    code, order = torch.sort(_morton(grid, depth))
    p, q = pos[order], charge[order]
    com, charge_l, cell_of, side = [], [], [], []
    keys_l, count_l = [], []
    for level in range(1, depth + 1):
        keys, inverse = torch.unique_consecutive(code >> (d * (depth - level)), return_inverse=True)
        m = len(keys)
        qc = torch.zeros(m, dtype=pos.dtype, device=pos.device).index_add_(0, inverse, q)
        pc = torch.zeros(m, d, dtype=pos.dtype, device=pos.device).index_add_(0, inverse, p * q[:, None])
        com.append(pc / qc[:, None])
        charge_l.append(qc)
        cell_of.append(inverse)
        keys_l.append(keys)
        count_l.append(torch.bincount(inverse, minlength=m))
        side.append(size / (1 << level))
        if m == n:
            break  # every vertex alone in its cell: deeper levels add nothing
    depth = len(com)
    first_child, child_count = [], []
    for level in range(depth - 1):
        parent = torch.searchsorted(keys_l[level], keys_l[level + 1] >> d)
        count = torch.bincount(parent, minlength=len(keys_l[level]))
        first_child.append(torch.cumsum(count, 0) - count)
        child_count.append(count)
    count = count_l[-1]  # leaves: their sorted vertices
    first_child.append(torch.cumsum(count, 0) - count)
    child_count.append(count)
    return Tree(order, p, q, com, charge_l, count_l, cell_of, first_child, child_count, side)


#: Cap on q_i q_j / r^α: coincident vertices (dv = 0) then get 0, never 0 · inf = NaN.
_MAX_FACTOR = 1e30


def _pair_force(dv: torch.Tensor, qq: torch.Tensor, exponent: float, eps2: float) -> torch.Tensor:
    r2 = (dv * dv).sum(1) + eps2
    return dv * (qq * r2.pow(-exponent / 2)).clamp(max=_MAX_FACTOR)[:, None]


def barnes_hut_forces(
    pos: torch.Tensor,
    charge: torch.Tensor,
    theta: float = 0.5,
    exponent: float = 2.5,
    softening: float = 1e-4,
    max_depth: int = 12,
    chunk: int = 8192,
) -> torch.Tensor:
    """Repulsive forces (N, D), same dtype and device as ``pos``.

    pos: (N, D) positions; charge: (N,) positive charges; θ: opening angle (0 = exact);
    softening: ε as a fraction of the layout's extent (keeps coincident vertices finite).
    """
    n, d = pos.shape
    if n == 0:
        raise ValueError("no vertices")
    tree = build_tree(pos, charge, max_depth)
    extent = tree.side[0] * 2
    eps2 = (softening * extent) ** 2
    out = torch.zeros_like(pos)
    depth = len(tree.com)
    for start in range(0, n, chunk):  # targets in chunks bound the pair lists' memory
        tgt = torch.arange(start, min(n, start + chunk), device=pos.device)
        f = torch.zeros(len(tgt), d, dtype=pos.dtype, device=pos.device)
        # Level 0 pairs: every target with every top-level cell.
        m0 = len(tree.charge[0])
        i = tgt.repeat_interleave(m0) - start
        c = torch.arange(m0, device=pos.device).repeat(len(tgt))
        for level in range(depth):
            pi = tree.pos[i + start]
            dv = pi - tree.com[level][c]
            dist2 = (dv * dv).sum(1)
            own = tree.cell_of[level][i + start] == c
            # A far cell acts as one charge; a cell of one vertex is exact at any distance.
            accept = ~own & ((tree.side[level] ** 2 < theta * theta * dist2) | (tree.count[level][c] == 1))
            yes, no = accept.nonzero().squeeze(1), (~accept).nonzero().squeeze(1)  # one nonzero, many gathers
            if len(yes):
                ia, ca = i[yes], c[yes]
                f.index_add_(0, ia, _pair_force(dv[yes], tree.q[ia + start] * tree.charge[level][ca], exponent, eps2))
            i, c = i[no], c[no]
            g, item = _ranges(tree.first_child[level][c], tree.child_count[level][c])
            i = i[g]
            if level < depth - 1:
                c = item
            else:  # leaves still open: exact sums over their vertices (self excluded)
                j = item
                keep = j != i + start
                i, j = i[keep], j[keep]
                dv = tree.pos[i + start] - tree.pos[j]
                f.index_add_(0, i, _pair_force(dv, tree.q[i + start] * tree.q[j], exponent, eps2))
        out[tree.order[tgt]] = f
    return out


def exact_forces(pos: torch.Tensor, charge: torch.Tensor, exponent: float = 2.5, softening: float = 1e-4,
                 chunk: int = 2048) -> torch.Tensor:
    """The O(N²) sum that Barnes-Hut approximates (same ε), for checks. (N, D)."""
    extent = float((pos.max(0).values - pos.min(0).values).max()) * (1 + 1e-6) + 1e-12
    eps2 = (softening * extent) ** 2
    out = torch.empty_like(pos)
    for s in range(0, len(pos), chunk):
        dv = pos[s : s + chunk, None, :] - pos[None, :, :]  # (c, N, D)
        r2 = (dv * dv).sum(-1) + eps2
        w = (charge[s : s + chunk, None] * charge[None, :] * r2.pow(-exponent / 2)).clamp(max=_MAX_FACTOR)
        idx = torch.arange(s, min(s + chunk, len(pos)), device=pos.device)
        w[idx - s, idx] = 0  # no self force
        out[s : s + chunk] = (dv * w[..., None]).sum(1)
    return out
