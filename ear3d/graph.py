"""Neurons of a network as arrays: one vertex per (layer, channel, pitch); time excluded.

Connections (edges) arrive with the layout issue; the neuron table is what the layout, the
renderer and the optimizer share to address a neuron.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

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
        raise KeyError(f"no layer named {name!r}; layers: {', '.join(l.name for l in self.layers)}")


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
