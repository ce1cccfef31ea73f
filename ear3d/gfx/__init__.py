"""The renderer (moderngl + pyglm). Never imports torch (CUDA tensors reach it duck-typed,
through ``__cuda_array_interface__``, in interop.py).

- ``scene.Scene``: the whole picture — build it from key-frame positions, layer indices, a
  palette and the render config (plus edges and weights), feed it activity tables and the
  selection, ``draw(fbo, phase)`` per frame.
- ``network``: the network's GPU buffers and the per-frame compute pass (key-frame
  interpolation, the heard time step); ``neurons``: lit sphere impostors; ``edges``: the
  edge table (sorted, split over buffers, budget) and its three rasterizers; ``post``: HDR
  targets, bloom, background, tone mapping; ``camera``: orbit/free-fly/flights, pure math;
  ``interop``: CUDA–GL activations with the host-copy fallback; ``synthetic``: stand-in
  networks; ``shaders``: program files with includes; ``context``/``offscreen``: headless
  contexts and targets.
"""
