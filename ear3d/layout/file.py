"""The layout file ``models/<name>/layout.npz`` and its reader (numpy only: the renderer
imports this without torch).

Format ``ear3d-layout/1`` — an ``np.savez_compressed`` archive, no pickled objects:

=================  ===============  =========================================================
key                shape, dtype     meaning
=================  ===============  =========================================================
format             () str           ``"ear3d-layout/1"``
meta               () str           JSON: model name, preset, dim, key frames, engine
                                    settings, level reports, ``weights_sha1`` of the edges
layer_name         (L,) str         layer names in order
layer_channels     (L,) int32       channels per layer
layer_pitches      (L,) int32       pitches per layer
layer_offset       (L,) int32       first neuron row of each layer
neuron_layer       (N,) int32       neuron table: layer index of each neuron …
neuron_channel     (N,) int32       … its channel …
neuron_pitch       (N,) int32       … and pitch (rows ordered layer, channel, pitch)
positions          (K, N, D) f16    key frame k at loop phase k / K; D = 2 or 3; world units
                                    (RMS radius ``meta.radius``), centred on the origin
edge_src_delta     (E,) int32       edge sources, delta-encoded (cumsum restores them; the
edge_dst_delta     (E,) int32       edges come in runs that compress ~50× this way)
edge_weight        (E,) f16         learned weight of each edge (summed over time taps)
edge_spans         (S, 4) int64     per connection: src layer, dst layer, first, end edge
=================  ===============  =========================================================

:func:`load_layout` returns a :class:`Layout` with positions (K, N, 3) float32 (z = 0 for a
2-D layout), edges (E, 2) uint32, weights (E,) float32, and ``at(phase)``: positions at a
loop phase, interpolated smoothly through the key frames (``ear3d.layout.interpolate``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ear3d.atomic import atomic_write
from ear3d.graph import NeuronTable, neuron_table
from ear3d.layout.interpolate import periodic_catmull_rom

FORMAT = "ear3d-layout/1"


class LayoutMismatch(ValueError):
    """A layout file does not belong to the network it is used with (or is damaged)."""


def weights_digest(weight: np.ndarray) -> str:
    """SHA-1 of the float16 edge weights: tells whether a layout was made for these weights."""
    return hashlib.sha1(np.ascontiguousarray(weight, dtype=np.float16).tobytes()).hexdigest()


@dataclass(frozen=True)
class Layout:
    """A loaded layout. positions: (K, N, 3) float32; edges: (E, 2) uint32 (src, dst rows of
    ``table``); weights: (E,) float32; dim: 2 or 3 (z = 0 when 2); meta: the file's JSON."""

    table: NeuronTable
    positions: np.ndarray
    edges: np.ndarray
    weights: np.ndarray
    dim: int
    spans: np.ndarray = field(repr=False)
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def key_frames(self) -> int:
        return int(self.positions.shape[0])

    def at(self, phase: float) -> np.ndarray:
        """(N, 3) float32 positions at loop phase ``phase`` (0 … 1, wraps)."""
        return periodic_catmull_rom(self.positions, float(phase)).astype(np.float32, copy=False)


def save_layout(
    path: str | Path,
    table: NeuronTable,
    positions: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    weight: np.ndarray,
    spans: np.ndarray | list | tuple = (),
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write the layout atomically (temp file in the same folder, then rename).

    positions: (K, N, D) finite floats, D ∈ {2, 3}; src, dst: (E,) rows of ``table``;
    weight: (E,) floats. Returns the path written.
    """
    path = Path(path)
    pos = np.asarray(positions)
    if pos.ndim != 3 or pos.shape[1] != table.size or pos.shape[2] not in (2, 3) or pos.shape[0] < 1:
        raise ValueError(f"positions must be (K ≥ 1, {table.size}, 2 or 3), got {pos.shape}")
    if not np.isfinite(pos).all():
        raise ValueError("positions contain NaN or infinity; refusing to write a broken layout")
    if np.abs(pos).max() >= 65504:
        raise ValueError("positions exceed the float16 range; scale the layout first")
    src64, dst64 = np.asarray(src, np.int64), np.asarray(dst, np.int64)
    if src64.shape != dst64.shape or np.shape(weight) != src64.shape:
        raise ValueError(f"src, dst and weight must have one shape, "
                         f"got {src64.shape}, {dst64.shape}, {np.shape(weight)}")
    if len(src64) and (min(src64.min(), dst64.min()) < 0 or max(src64.max(), dst64.max()) >= table.size):
        raise ValueError(f"edge endpoints must be rows of the neuron table [0, {table.size})")
    meta = dict(meta or {})
    meta.setdefault("dim", int(pos.shape[2]))
    meta["weights_sha1"] = weights_digest(weight)
    arrays = dict(
        format=np.array(FORMAT),
        meta=np.array(json.dumps(meta)),
        layer_name=np.array([i.name for i in table.layers]),
        layer_channels=np.array([i.channels for i in table.layers], np.int32),
        layer_pitches=np.array([i.pitches for i in table.layers], np.int32),
        layer_offset=np.array([i.offset for i in table.layers], np.int32),
        neuron_layer=table.layer.astype(np.int32),
        neuron_channel=table.channel.astype(np.int32),
        neuron_pitch=table.pitch.astype(np.int32),
        positions=pos.astype(np.float16),
        edge_src_delta=np.diff(src64, prepend=0).astype(np.int32),
        edge_dst_delta=np.diff(dst64, prepend=0).astype(np.int32),
        edge_weight=np.asarray(weight, np.float16),
        edge_spans=np.asarray(spans, np.int64).reshape(-1, 4),
    )

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, allow_pickle=False, **arrays)  # numbers and text only

    return atomic_write(path, write)


def weights_mismatch(layout: Layout, weights: np.ndarray) -> str | None:
    """Why ``layout`` was not made for these edge weights ((E,) floats of the network it is
    shown with, in the file's edge order), naming both fingerprints; None when it was (or
    when the file records no fingerprint). Same table, other weights: another training state
    of the same network, whose placement no longer shows how these weights connect."""
    made_for = layout.meta.get("weights_sha1")
    current = weights_digest(weights)
    if made_for is None or made_for == current:
        return None
    return (f"the layout was made from other weights of this network (weights_sha1 {made_for} in the file, "
            f"{current} for the weights running now)")


def _describe(table: NeuronTable) -> str:
    return ", ".join(f"{i.name}[{i.channels}×{i.pitches}]" for i in table.layers)


def check_table(found: NeuronTable, expected: NeuronTable, where: str) -> None:
    """Raise :class:`LayoutMismatch` naming the first difference between two neuron tables."""
    a, b = found.layers, expected.layers
    for i in range(max(len(a), len(b))):
        la = a[i] if i < len(a) else None
        lb = b[i] if i < len(b) else None
        if la is None or lb is None or (la.name, la.channels, la.pitches) != (lb.name, lb.channels, lb.pitches):
            fa = f"{la.name} [{la.channels} × {la.pitches}]" if la else "no layer"
            fb = f"{lb.name} [{lb.channels} × {lb.pitches}]" if lb else "no layer"
            raise LayoutMismatch(
                f"{where} was made for another network: layer {i} is {fa} in the file but {fb} in the model "
                f"(file: {len(a)} layers, {found.size} neurons; model: {len(b)} layers, {expected.size} neurons). "
                "Run `ear3d layout` for this model to make a matching layout."
            )


def load_layout(path: str | Path, table: NeuronTable | None = None) -> Layout:
    """Read and check a layout file; with ``table``, require that it matches that network.

    Raises FileNotFoundError when absent, :class:`LayoutMismatch` when it belongs to another
    network or is damaged (wrong format, shapes that disagree, NaN positions, bad edges).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no layout file {path}; make one with `ear3d layout`")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as e:
        raise LayoutMismatch(f"{path} is not a readable layout file: {e}") from None
    fmt = str(data.get("format", ""))
    if fmt != FORMAT:
        raise LayoutMismatch(f"{path} has format {fmt!r}; this ear3d reads {FORMAT!r}")
    try:
        names = [str(n) for n in data["layer_name"]]
        channels, pitches = data["layer_channels"].tolist(), data["layer_pitches"].tolist()
        if not len(names) == len(channels) == len(pitches):
            raise LayoutMismatch(f"{path}: the layer table's columns differ in length (damaged file)")
        file_table = neuron_table(list(zip(names, channels, pitches, strict=True)))
        stored = (data["neuron_layer"], data["neuron_channel"], data["neuron_pitch"])
        if any(s.shape != (file_table.size,) for s in stored) or not (
            np.array_equal(stored[0], file_table.layer) and np.array_equal(stored[1], file_table.channel)
            and np.array_equal(stored[2], file_table.pitch)
        ):
            raise LayoutMismatch(f"{path}: the neuron table disagrees with the layer table (damaged file)")
        pos = data["positions"].astype(np.float32)
        src = np.cumsum(data["edge_src_delta"].astype(np.int64))
        dst = np.cumsum(data["edge_dst_delta"].astype(np.int64))
        weight = data["edge_weight"].astype(np.float32)
        meta = json.loads(str(data["meta"]))
        spans = data["edge_spans"]
    except KeyError as e:
        raise LayoutMismatch(f"{path} lacks {e.args[0]!r}: not a complete {FORMAT} file") from None
    if table is not None:
        check_table(file_table, table, str(path))
    n = file_table.size
    if pos.ndim != 3 or pos.shape[1] != n or pos.shape[2] not in (2, 3) or pos.shape[0] < 1:
        raise LayoutMismatch(f"{path}: positions of shape {pos.shape} do not fit {n} neurons")
    if not np.isfinite(pos).all():
        raise LayoutMismatch(f"{path}: positions contain NaN or infinity (damaged file)")
    if src.shape != dst.shape or weight.shape != src.shape:
        raise LayoutMismatch(f"{path}: edge arrays disagree in length")
    if len(src) and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        raise LayoutMismatch(f"{path}: edges point outside the {n} neurons (damaged file)")
    dim = int(pos.shape[2])
    if dim == 2:
        pos = np.concatenate([pos, np.zeros(pos.shape[:2] + (1,), np.float32)], axis=2)
    edges = np.stack([src, dst], 1).astype(np.uint32) if len(src) else np.zeros((0, 2), np.uint32)
    return Layout(table if table is not None else file_table, np.ascontiguousarray(pos), edges, weight, dim, spans,
                  meta)
