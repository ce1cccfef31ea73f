"""Synthetic networks in the layout file's shapes, for tests, benchmarks and pictures when
no real layout exists yet: key frames (K, N, 3) float32, edges (E, 2) uint32 (source,
destination), weights (E,) float32, layer (N,) int32, activity (N, S) float32.

The structure resembles a layered network laid out by forces: each layer is a soft
cluster, consecutive layers sit along a gentle helix, edges run mostly from one layer to
the next (plus some skip connections), and the key frames breathe around the base layout.
numpy only; deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SyntheticNetwork:
    positions: np.ndarray  # (K, N, 3) float32 world units
    layer: np.ndarray  # (N,) int32
    edges: np.ndarray  # (E, 2) uint32
    weights: np.ndarray  # (E,) float32, signed
    activity: np.ndarray  # (N, S) float32 in 0–1

    @property
    def neurons(self) -> int:
        return int(self.layer.shape[0])


def layer_sizes(neurons: int, layers: int) -> np.ndarray:
    """Split ``neurons`` over ``layers`` layers, growing then shrinking like an encoder + AR."""
    if layers < 1 or neurons < layers:
        raise ValueError(f"need at least one neuron per layer: {neurons} neurons, {layers} layers")
    shape = 0.4 + np.sin(np.linspace(0.15, np.pi - 0.15, layers))
    sizes = np.maximum(1, np.floor(shape / shape.sum() * neurons)).astype(np.int64)
    sizes[np.argmax(sizes)] += neurons - sizes.sum()
    return sizes


def synthetic_network(
    neurons: int = 2000,
    edges: int = 20000,
    layers: int = 18,
    key_frames: int = 8,
    steps: int = 64,
    seed: int = 0,
) -> SyntheticNetwork:
    """A layered network of ``neurons`` neurons and ``edges`` edges (see the module doc)."""
    rng = np.random.default_rng(seed)
    sizes = layer_sizes(neurons, layers)
    layer = np.repeat(np.arange(layers, dtype=np.int32), sizes)
    offsets = np.concatenate([[0], np.cumsum(sizes)])

    # Base layout: layer centres on a helix, neurons in flattened gaussian clusters.
    angle = np.linspace(0.0, 1.6 * np.pi, layers)
    centres = np.stack([np.linspace(-1.6, 1.6, layers), 0.55 * np.sin(angle), 0.55 * np.cos(angle)], axis=1)
    spread = 0.09 + 0.22 * np.sqrt(sizes / sizes.max())
    base = np.empty((neurons, 3), np.float32)
    for k in range(layers):
        rows = slice(offsets[k], offsets[k + 1])
        local = rng.normal(size=(sizes[k], 3)) * spread[k] * np.array([0.35, 1.0, 1.0])
        base[rows] = centres[k] + local

    # Key frames: the layout breathes over the loop (periodic, so the loop has no seam).
    phase = rng.uniform(0, 2 * np.pi, size=(neurons, 3))
    frames = np.empty((key_frames, neurons, 3), np.float32)
    for f in range(key_frames):
        loop_angle = 2 * np.pi * f / key_frames
        frames[f] = base + 0.04 * np.sin(loop_angle + phase)

    # Edges: mostly layer k → k + 1, some skips k → k + 2; weights signed, heavy-tailed.
    src_layer = rng.integers(0, max(layers - 1, 1), size=edges)
    skip = rng.random(edges) < 0.12
    dst_layer = np.minimum(src_layer + np.where(skip, 2, 1), layers - 1)
    if layers == 1:
        dst_layer = src_layer
    src = offsets[src_layer] + (rng.random(edges) * sizes[src_layer]).astype(np.int64)
    dst = offsets[dst_layer] + (rng.random(edges) * sizes[dst_layer]).astype(np.int64)
    edge_table = np.stack([src, dst], axis=1).astype(np.uint32)
    weights = (rng.standard_t(3, size=edges) * 0.3).astype(np.float32)

    # Activity: each neuron a few soft bumps over the loop (periodic), some neurons silent.
    t = np.arange(steps) / steps
    centre = rng.random((neurons, 2))
    width = rng.uniform(0.03, 0.15, size=(neurons, 2))
    gain = rng.random((neurons, 1)) ** 2
    d = np.abs(t[None, None, :] - centre[:, :, None])
    d = np.minimum(d, 1 - d)
    activity = (gain * np.exp(-0.5 * (d / width[:, :, None]) ** 2).max(axis=1)).astype(np.float32)
    return SyntheticNetwork(frames, layer, edge_table, weights, np.clip(activity, 0, 1))
