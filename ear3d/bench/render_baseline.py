"""The render benchmark's straightforward baseline (``ear3d bench render``'s ``naive`` path):
what a first renderer would do, kept here to measure the product's renderer against. The
product never draws with it.

Per frame the CPU computes every neuron's position (the key frames interpolated with
ear3d.layout.interpolate.periodic_catmull_rom, the function the layout's own pictures use) and
activity at the loop position and uploads them; the edges are plain GL_LINES from a vertex
buffer of two vertices per edge, every edge drawn, no culling (shaders/bench/edges_naive.glsl),
into the same single-sample target after the resolve as the product's edges.
The picture is the same as the product's ``lines`` mode.
"""

from __future__ import annotations

import math

import moderngl
import numpy as np

from ear3d.gfx.edges import EdgeSet, EdgeStyle
from ear3d.gfx.network import NetworkBuffers, clean_phase
from ear3d.gfx.shaders import load_program, set_uniforms
from ear3d.layout.interpolate import periodic_catmull_rom

SHADER = "bench/edges_naive"


def current_on_host(key_frames: np.ndarray, activity: np.ndarray, phase: float) -> np.ndarray:
    """(N, 4) float32 position and activity of every neuron at loop position ``phase``, on
    the CPU. key_frames: (K, N, 3) float32; activity: (N, S) float32 0–1 (linear between
    time steps, wrapping; NaN and inf → 0) — as shaders/frame.glsl computes on the GPU."""
    phase = clean_phase(phase)
    out = np.empty((key_frames.shape[1], 4), np.float32)
    out[:, :3] = periodic_catmull_rom(key_frames, phase)
    steps = activity.shape[1]
    s = phase * steps
    t0 = math.floor(s) % steps
    f = s - math.floor(s)
    a = activity[:, t0] * (1 - f) + activity[:, (t0 + 1) % steps] * f
    out[:, 3] = np.clip(np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0), 0.0, 1.0)
    return out


def upload_current_from_host(network: NetworkBuffers, activity: np.ndarray, phase: float) -> None:
    """The baseline's frame update: compute ``current`` on the CPU and upload it (instead of
    ``network.update(phase)``)."""
    current = current_on_host(network.key_frames, activity, phase)
    network.current_buffer.write(np.ascontiguousarray(current).tobytes())


class NaiveEdgePass:
    """GL_LINES from a vertex buffer (per line vertex: neuron, source, other end, weight), chunked like
    the edge set. Has the renderer's EdgeDrawer shape. Release with ``release()``."""

    in_compute = False

    def __init__(self, ctx: moderngl.Context, network: NetworkBuffers, edges: EdgeSet):
        self.ctx = ctx
        self.network = network
        self.edges = edges
        self.program = load_program(ctx, SHADER)
        self._chunks: list[tuple[moderngl.Buffer, moderngl.VertexArray, int]] = []
        if edges.count == 0:
            return
        src_dst, weights = edges.sorted_host()
        step = edges.chunk_edges
        try:
            for start in range(0, edges.count, step):
                e = src_dst[start : start + step]
                verts: np.ndarray = np.empty((len(e), 2, 4), np.uint32)
                verts[:, :, 0] = e  # this end's neuron
                verts[:, :, 1] = e[:, :1]  # the source drives both ends
                verts[:, :, 2] = e[:, ::-1]  # the other end
                verts[:, :, 3] = weights[start : start + step, None].view(np.uint32)
                vbo = ctx.buffer(verts)
                vao = ctx.vertex_array(self.program, [(vbo, "u u u f", "in_neuron", "in_source", "in_other",
                                                       "in_weight")])
                self._chunks.append((vbo, vao, 2 * len(e)))
        except BaseException:
            self.release()
            raise

    def draw_lines(self, fbo: moderngl.Framebuffer, style: EdgeStyle) -> None:
        """Draw the ``style.budget`` strongest edges (0: all) into the bound ``fbo``, additively."""
        ctx = self.ctx
        self.network.bind()
        ctx.enable(moderngl.DEPTH_TEST | moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE, moderngl.ZERO, moderngl.ONE  # type: ignore[assignment]  # separate alpha
        fbo.depth_mask = False
        try:
            w, h = fbo.size
            set_uniforms(self.program, u_view=style.view, u_projection=style.projection, u_gain=style.gain,
                         u_fog=style.fog, u_exposure=style.exposure, u_viewport=(w / 2, h / 2))
            left = 2 * self.edges.drawn(style.budget)
            for _, vao, vertices in self._chunks:
                if left <= 0:
                    break
                vao.render(moderngl.LINES, vertices=min(vertices, left))
                left -= vertices
        finally:
            fbo.depth_mask = True
            ctx.disable(moderngl.BLEND)

    def draw_compute(self, fbo: moderngl.Framebuffer, depth: moderngl.Texture, style: EdgeStyle) -> None:
        """Not a compute pass: nothing to do after the resolve."""

    def release(self) -> None:
        for vbo, vao, _ in self._chunks:
            vao.release()
            vbo.release()
        self._chunks = []
        self.program.release()  # moderngl ignores a second release


def draw_baseline(scene, fbo: moderngl.Framebuffer, phase: float, activity: np.ndarray,
                  edges: NaiveEdgePass | None) -> None:
    """One baseline frame of ``scene`` (an ear3d.gfx.scene.Scene) into ``fbo``: ``current``
    from the CPU, then the scene's renderer with the naive edge pass. activity: (N, S)
    float32, the table last given to the scene."""
    upload_current_from_host(scene.network, activity, phase)
    scene.renderer.draw(fbo, scene.camera, scene.look, scene.palette.highlight, edges)
