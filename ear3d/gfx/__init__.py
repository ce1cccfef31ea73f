"""The renderer (moderngl + pyglm). Never imports torch (CUDA tensors reach it duck-typed,
through ``__cuda_array_interface__``, in interop.py).

- ``scene.Scene``: the whole picture behind one small API — build it from key-frame
  positions, layer indices (and names), a palette and the render config (plus edges and
  weights), feed it activity tables and the selection, ``draw(fbo, phase)`` per frame,
  ``pick(x, y, size)`` for the neuron under the mouse, ``controller`` for mouse/keyboard.
- data on the GPU: ``network`` (key frames, colours, selection, activity; the per-frame
  compute pass that interpolates key frames and reads the heard time step) and the edge
  table (``edges.EdgeSet``: sorted, split over buffers, budget);
- passes: ``renderer`` (composes a frame: neurons → edges → bloom/composite), ``neurons``
  (lit sphere impostors), ``edges`` (``EdgePass``: GL lines or a compute rasterizer;
  ``edge_choice``: "auto" times both), ``post`` (HDR targets, bloom, background, tone
  mapping);
- camera: ``camera`` (orbit/free-fly pose, smoothing, eased flights; pure math),
  ``controller`` (input events → camera moves), ``picking`` (ray against the drawn spheres);
- ``interop``: CUDA–GL activations with the host-copy fallback; ``synthetic``: stand-in
  networks; ``shaders``: program files with includes; ``context``/``offscreen``: headless
  contexts and targets.
"""
