"""Placement of neurons in space.

- ``grid``: the simple slab-per-layer placement (numpy).
- ``file``: the layout file models/<name>/layout.npz, ``load_layout`` and ``Layout.at(phase)``
  (numpy only: what the renderer imports).
- ``network``: a torch network's weights → connections → ``ear3d.graph.NetworkGraph``.
- ``tree`` (Barnes-Hut), ``engine`` (forces, adaptive steps), ``coarsen`` and ``multilevel``
  (the multi-level scheme), ``keyframes``, ``inputs`` (charges, spring strengths), ``build``
  (the whole pipeline): torch, CPU or CUDA.
- ``quality`` (layout measures for the bench) and ``picture`` (CPU drawings, video frames).
"""

from ear3d.layout.file import Layout, LayoutMismatch, load_layout

__all__ = ["Layout", "LayoutMismatch", "load_layout"]
