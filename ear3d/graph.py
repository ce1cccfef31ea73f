"""Neurons of a network as arrays: one vertex per (layer, channel, pitch); time excluded.

The neuron table is what the layout, the renderer and the optimizer share to address a
neuron. Connections are linear maps along pitch between layers (:class:`PitchOp`), built from
a network's weights by ``ear3d.layout.network`` (which reads torch modules; this module stays
numpy-only) and expanded into edges by :func:`network_graph`: (src, dst) uint32 rows of the
table and a float32 weight per edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LayerInfo:
    """One named layer: ``channels`` × ``pitches`` neurons starting at row ``offset``."""

    name: str
    channels: int
    pitches: int
    offset: int

    @property
    def size(self) -> int:
        return self.channels * self.pitches


@dataclass(frozen=True)
class NeuronTable:
    """Every neuron, ordered layer by layer, then channel, then pitch.

    layer: (N,) int32 layer index; channel: (N,) int32; pitch: (N,) int32.
    """

    layers: tuple[LayerInfo, ...]
    layer: np.ndarray
    channel: np.ndarray
    pitch: np.ndarray

    @property
    def size(self) -> int:
        return int(self.layer.shape[0])

    def layer_index(self, name: str) -> int:
        for i, info in enumerate(self.layers):
            if info.name == name:
                return i
        raise KeyError(f"no layer named {name!r}; layers: {', '.join(info.name for info in self.layers)}")


def neuron_table(shapes: Sequence[tuple[str, int, int]]) -> NeuronTable:
    """Build the table from ``(name, channels, pitches)`` per layer, in layer order."""
    if not shapes:
        raise ValueError("a network needs at least one layer to have neurons")
    infos, offset = [], 0
    for name, c, f in shapes:
        if c < 1 or f < 1:
            raise ValueError(f"layer {name!r} has shape [{c}, {f}]; channels and pitches must be ≥ 1")
        infos.append(LayerInfo(name, int(c), int(f), offset))
        offset += c * f
    layer = np.concatenate([np.full(i.size, k, np.int32) for k, i in enumerate(infos)])
    channel = np.concatenate([np.repeat(np.arange(i.channels, dtype=np.int32), i.pitches) for i in infos])
    pitch = np.concatenate([np.tile(np.arange(i.pitches, dtype=np.int32), i.channels) for i in infos])
    return NeuronTable(tuple(infos), layer, channel, pitch)


def table_from_activations(layers: Mapping[str, np.ndarray]) -> NeuronTable:
    """The table for activations ``{name: (C, F, T)}`` (as published by the worker)."""
    return neuron_table([(name, a.shape[0], a.shape[1]) for name, a in layers.items()])


# --------------------------------------------------------------------------------------
# Connections: every kernel tap between two layers' neurons, with its learned weight.
#
# A network is described by linear maps along the pitch axis between named layers (time is
# summed out, nonlinearities and normalisation are treated as the identity). Composing and
# adding these maps turns a residual block (conv → pool → conv, plus its shortcut) into one map from
# the block's input layer to its output layer; expanding a map gives the edges, vectorized
# over channels and pitches (Python loops run over kernel taps only, never over edges).
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PitchOp:
    """A linear map along pitch between two neuron grids, time summed out.

    ``out[co, f] = Σ_{ci, u} kernel[co, ci, u] · in[ci, offset + f·stride + u]``; inputs outside
    ``[0, F_in)`` are zero padding and give no edge. ``kernel``: (C_out, C_in, U) float64
    (the learned weight of each tap, summed over time taps); ``mask``: (C_out, C_in, U) bool,
    True where a connection exists (a structural zero, e.g. off the diagonal of an identity
    shortcut, is False; a learned weight that happens to be 0 stays True).
    """

    kernel: np.ndarray
    mask: np.ndarray
    stride: int = 1
    offset: int = 0

    def __post_init__(self) -> None:
        if self.kernel.ndim != 3 or self.kernel.shape != self.mask.shape:
            raise ValueError(f"kernel and mask must both be (C_out, C_in, U); "
                             f"got {self.kernel.shape}, {self.mask.shape}")
        if self.stride < 1:
            raise ValueError(f"stride must be ≥ 1, got {self.stride}")

    @property
    def c_out(self) -> int:
        return self.kernel.shape[0]

    @property
    def c_in(self) -> int:
        return self.kernel.shape[1]

    @property
    def taps(self) -> int:
        return self.kernel.shape[2]


def conv_op(weight: np.ndarray, stride: int = 1, padding: int = 0, dilation: int = 1, groups: int = 1) -> PitchOp:
    """A convolution along pitch. weight: (C_out, C_in/groups, K_pitch[, K_time…]) — trailing
    (time) axes are summed, a missing pitch axis means K_pitch = 1 (a 1-D conv over time)."""
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim == 2:
        w = w[:, :, None]
    elif w.ndim > 3:
        w = w.sum(axis=tuple(range(3, w.ndim)))
    if w.ndim != 3:
        raise ValueError(f"a convolution weight must be (C_out, C_in, K…), got shape {np.shape(weight)}")
    c_out, c_in_g, k = w.shape
    if c_out % groups:
        raise ValueError(f"{c_out} output channels do not split into {groups} groups")
    # Dilation spreads the taps apart; the gaps are structural zeros.
    u = (k - 1) * dilation + 1
    kernel = np.zeros((c_out, c_in_g * groups, u))
    mask = np.zeros((c_out, c_in_g * groups, u), bool)
    per = c_out // groups
    for g in range(groups):  # groups: a block-diagonal channel map
        rows, cols = slice(g * per, (g + 1) * per), slice(g * c_in_g, (g + 1) * c_in_g)
        kernel[rows, cols, ::dilation] = w[rows]
        mask[rows, cols, ::dilation] = True
    return PitchOp(kernel, mask, stride, -padding)


def identity_op(channels: int, offset: int = 0) -> PitchOp:
    """Channel c to channel c, weight 1; ``offset`` crops the first ``offset`` pitches."""
    eye = np.eye(channels)[:, :, None]
    return PitchOp(eye, eye.astype(bool), 1, offset)


def pool_op(channels: int, size: int, stride: int | None = None, padding: int = 0) -> PitchOp:
    """A max- or average-pool along pitch, as the mean over its window (a max picks one input
    of the window; which one depends on the signal, so every input gets an equal share)."""
    eye = np.eye(channels)[:, :, None] * np.ones(size)
    return PitchOp(eye / size, eye.astype(bool), stride or size, -padding)


def dense_op(weight: np.ndarray) -> PitchOp:
    """A fully connected map onto a layer without pitch axis. weight: (C_out, C_in, F_in[, T…])."""
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim > 3:
        w = w.sum(axis=tuple(range(3, w.ndim)))
    return PitchOp(w, np.ones(w.shape, bool), 1, 0)


def compose(first: PitchOp, then: PitchOp) -> PitchOp:
    """The map ``then ∘ first`` (apply ``first``, then ``then``).

    The intermediate grid is not a vertex: its paths are summed (weight = Σ over paths of the
    product of weights). Exact when ``then`` does not pad (the CPC network's valid convs).
    """
    if then.c_in != first.c_out:
        raise ValueError(f"cannot compose: {first.c_out} channels feed a map expecting {then.c_in}")
    if then.offset < 0:
        raise ValueError("cannot compose through a padded intermediate layer; make that layer a named vertex layer")
    s_a, taps = first.stride, (then.taps - 1) * first.stride + first.taps
    kernel = np.zeros((then.c_out, first.c_in, taps))
    dense = bool(first.mask.all() and then.mask.all())  # the common case: skip the mask products
    hits = np.zeros((1, 1, taps) if dense else kernel.shape)
    mask_a, mask_b = first.mask.astype(np.float64), then.mask.astype(np.float64)
    for b in range(then.taps):  # loops over taps; each step is a channel matmul
        for a in range(first.taps):
            kernel[:, :, b * s_a + a] += then.kernel[:, :, b] @ first.kernel[:, :, a]
            hits[:, :, b * s_a + a] += 1 if dense else mask_b[:, :, b] @ mask_a[:, :, a]
    mask = np.broadcast_to(hits > 0, kernel.shape).copy()
    return PitchOp(kernel, mask, s_a * then.stride, first.offset + then.offset * s_a)


def add(a: PitchOp, b: PitchOp) -> PitchOp:
    """The sum of two maps between the same layers (a residual block's two paths)."""
    if (a.c_out, a.c_in) != (b.c_out, b.c_in) or a.stride != b.stride:
        raise ValueError(
            f"cannot add maps of shape {(a.c_out, a.c_in)} stride {a.stride} and {(b.c_out, b.c_in)} stride {b.stride}"
        )
    lo = min(a.offset, b.offset)
    taps = max(a.offset + a.taps, b.offset + b.taps) - lo
    kernel = np.zeros((a.c_out, a.c_in, taps))
    mask = np.zeros(kernel.shape, bool)
    for op in (a, b):
        s = slice(op.offset - lo, op.offset - lo + op.taps)
        kernel[:, :, s] += op.kernel
        mask[:, :, s] |= op.mask
    return PitchOp(kernel, mask, a.stride, lo)


@dataclass(frozen=True)
class Connection:
    """``op`` maps layer ``src`` onto layer ``dst`` (names of the neuron table)."""

    src: str
    dst: str
    op: PitchOp


@dataclass(frozen=True)
class NetworkGraph:
    """Neurons and connections of a network.

    src, dst: (E,) uint32 rows of ``table``; weight: (E,) float32, the learned weight (summed
    over time taps and over paths through unnamed intermediate grids); ``spans``: per
    connection ``(src layer, dst layer, first edge, end edge)``, edges of one connection
    being contiguous.
    """

    table: NeuronTable
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    spans: tuple[tuple[int, int, int, int], ...]

    @property
    def edge_count(self) -> int:
        return int(self.src.shape[0])


def _edge_count(op: PitchOp, f_in: int, f_out: int) -> tuple[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Per tap u: the output pitches whose input is in range, and the (co, ci) pairs present."""
    plan, total = [], 0
    f = np.arange(f_out)
    for u in range(op.taps):
        fin = op.offset + f * op.stride + u
        fs = f[(fin >= 0) & (fin < f_in)]
        co, ci = np.nonzero(op.mask[:, :, u])
        if len(fs) and len(co):
            plan.append((fs, co, ci))
            total += len(fs) * len(co)
        else:
            plan.append((fs[:0], co[:0], ci[:0]))
    return total, plan


def network_graph(table: NeuronTable, connections: Sequence[Connection]) -> NetworkGraph:
    """Expand ``connections`` into edges of ``table``'s neurons (vectorized per kernel tap).

    Checks that every map fits its layers: channel counts, and every output pitch having at
    least one input in range (a map that leaves outputs unconnected is a wiring error).
    """
    if table.size == 0:
        raise ValueError("the neuron table is empty: a graph needs vertices")
    plans, total, pairs = [], 0, set()
    for c in connections:
        if (c.src, c.dst) in pairs:  # would give duplicate edges
            raise ValueError(f"two connections {c.src} → {c.dst}: combine their maps with add() first")
        pairs.add((c.src, c.dst))
        li, lo = table.layers[table.layer_index(c.src)], table.layers[table.layer_index(c.dst)]
        if (c.op.c_in, c.op.c_out) != (li.channels, lo.channels):
            raise ValueError(
                f"connection {c.src} → {c.dst}: map has {c.op.c_in} → {c.op.c_out} channels, "
                f"layers have {li.channels} → {lo.channels}"
            )
        count, plan = _edge_count(c.op, li.pitches, lo.pitches)
        covered = np.zeros(lo.pitches, bool)
        for fs, _, _ in plan:
            covered[fs] = True
        if not covered.all():
            raise ValueError(
                f"connection {c.src} → {c.dst}: output pitches {np.flatnonzero(~covered)[:5].tolist()} "
                f"have no input among {li.pitches} pitches (wrong stride/offset for these layers?)"
            )
        plans.append((c, li, lo, plan))
        total += count
    if total >= 2**31:
        raise ValueError(f"{total} edges are too many for one graph")
    src = np.empty(total, np.uint32)
    dst = np.empty(total, np.uint32)
    weight = np.empty(total, np.float32)
    spans, at = [], 0
    for c, li, lo, plan in plans:
        start = at
        for u, (fs, co, ci) in enumerate(plan):
            n = len(fs) * len(co)
            if not n:
                continue
            fin = c.op.offset + fs * c.op.stride + u
            s = slice(at, at + n)
            # (pitch, channel pair) grid flattened: rows = output pitches, columns = channel pairs.
            src[s] = (li.offset + ci[None, :] * li.pitches + fin[:, None]).ravel()
            dst[s] = (lo.offset + co[None, :] * lo.pitches + fs[:, None]).ravel()
            weight[s] = np.broadcast_to(c.op.kernel[co, ci, u][None, :], (len(fs), len(co))).ravel()
            at += n
        spans.append((table.layer_index(c.src), table.layer_index(c.dst), start, at))
    return NetworkGraph(table, src, dst, weight, tuple(spans))
