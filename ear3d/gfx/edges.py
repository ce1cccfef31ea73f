"""Edges: millions of connections drawn live from GPU buffers, lit by the signal flowing
through them (|weight × source activity| at the heard time step), additive, faded with depth.

``EdgeSet`` holds the edge table on the GPU: sorted once, strongest |weight| first, so an
edge budget of B draws the B strongest edges; split over several buffers when one buffer
would exceed the driver's storage-block limit (so ≥ 30 M edges work everywhere).

``EdgePass`` draws it in one of two modes:

- ``"lines"``: GL_LINES with vertex pulling (shaders/edges.glsl) — no vertex attributes,
  dark edges culled in the vertex stage;
- ``"compute"``: a compute-shader rasterizer (shaders/edges_raster.glsl) writing fixed-point
  light with atomics, then added into the frame (shaders/edges_resolve.glsl) — for GPUs
  whose fixed-function line rasterization is weak (data-centre GPUs).

The straightforward baseline they are measured against lives with the benchmark
(ear3d/bench/render_baseline.py).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import moderngl
import numpy as np
from pyglm import glm

from ear3d.gfx.network import BIND_ACCUM, BIND_EDGES, NetworkBuffers
from ear3d.gfx.shaders import load_compute_shader, load_draw_program, set_uniforms

log = logging.getLogger(__name__)

EDGE_MODES = ("lines", "compute")
_EDGE_BYTES = 12  # src uint32, dst uint32, weight float32
#: Normalised |weight| cap (the 99th percentile is 1).
MAX_WEIGHT = 4.0
_RASTER_GROUP = 128  # local_size_x of shaders/edges_raster.glsl
_ENDS_GROUP = 64  # local_size_x of shaders/edge_ends.glsl
#: Storage binding of the per-frame edge ends (shaders/edge_ends.glsl → shaders/edges.glsl),
#: after the network's bindings (ear3d.gfx.network).
BIND_ENDS = 6
_END_BYTES = 32  # clip vec4 + light vec4
#: Fixed-point units per unit of light in the compute rasterizer's accumulator.
ACCUM_SCALE = 4096.0


@dataclass(frozen=True)
class EdgeChunk:
    """One GPU buffer of ``count`` edges (3 × uint32 each), and the edges' index range."""

    buffer: moderngl.Buffer
    start: int
    count: int


def check_edges(edges: np.ndarray, weights: np.ndarray, neuron_count: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate (E, 2) integer edges and (E,) weights against ``neuron_count`` neurons.

    Returns them as uint32 (E, 2) and float32 (E,). NaN or infinite weights become 0 (the
    edge stays dark), with a warning; out-of-range indices and shape mismatches are errors.
    """
    e = np.asarray(edges)
    w = np.asarray(weights)
    if e.ndim != 2 or e.shape[1] != 2:
        raise ValueError(f"edges must be (E, 2) (source, destination) neuron indices, got shape {e.shape}")
    if w.shape != (e.shape[0],):
        raise ValueError(f"weights must be ({e.shape[0]},), one per edge, got shape {w.shape}")
    if e.size and not np.issubdtype(e.dtype, np.integer):
        raise ValueError(f"edges must be integer neuron indices, got {e.dtype}")
    if e.size:
        lo, hi = int(e.min()), int(e.max())
        if lo < 0 or hi >= neuron_count:
            bad = int(((e < 0) | (e >= neuron_count)).any(axis=1).sum())
            raise ValueError(
                f"{bad} edges name neurons outside 0…{neuron_count - 1} (indices {lo}…{hi}): "
                f"the edge table does not belong to this network of {neuron_count} neurons"
            )
    w = w.astype(np.float32, copy=False)
    finite = np.isfinite(w)
    if not finite.all():
        log.warning("%d of %d edge weights are NaN or infinite; those edges stay dark", int((~finite).sum()), w.size)
        w = np.where(finite, w, np.float32(0.0))
    return e.astype(np.uint32, copy=False), w


def weight_scale(weights: np.ndarray) -> float:
    """1 / the 99th percentile of the non-zero |weights| (from a 1 M sample when there are
    more): after scaling, typical edges lie in 0–1 and only the strongest percent exceed 1
    (up to MAX_WEIGHT), so one outlier cannot darken every other edge. 0 when all are 0."""
    a = np.abs(weights)
    if a.size > 1_000_000:
        a = a[np.random.default_rng(0).integers(0, a.size, 1_000_000)]
    a = a[a > 0]
    return 1.0 / float(np.percentile(a, 99)) if a.size else 0.0


def buffer_limit_edges(ctx: moderngl.Context) -> int:
    """Edges per buffer: what one shader storage block may hold (Mesa: 128 MiB → 11.1 M)."""
    limit = int(ctx.info.get("GL_MAX_SHADER_STORAGE_BLOCK_SIZE", 1 << 27) or (1 << 27))
    limit = min(max(limit, 1 << 20), (1 << 31) - 1)
    return limit // _EDGE_BYTES


#: Most entries of EdgeSet's running |weight| sum (exact below this many edges).
_LIGHT_SAMPLES = 32_768


class EdgeSet:
    """E edges on the GPU, strongest |weight| first.

    edges: (E, 2) integer (source, destination) neuron indices; weights: (E,) float (any
    scale; normalised by ``weight_scale``, the sign kept). ``chunk_edges``
    caps edges per buffer (0 = the driver's storage-block limit). Release with ``release()``.
    """

    def __init__(self, ctx: moderngl.Context, edges: np.ndarray, weights: np.ndarray, neuron_count: int,
                 chunk_edges: int = 0):
        e, w = check_edges(edges, weights, neuron_count)
        self.ctx = ctx
        self.count = int(e.shape[0])
        self.neuron_count = neuron_count
        order = np.argsort(-np.abs(w), kind="stable")
        self.weight_scale = weight_scale(w)
        # Running sum of |weight| (strongest first) every _light_stride edges: how much of the
        # graph's light a budget keeps, without a float per edge on the host.
        self._light_stride = max(1, -(-self.count // _LIGHT_SAMPLES))
        strength = np.abs(w[order])
        strength = np.pad(strength, (0, -len(strength) % self._light_stride)).reshape(-1, self._light_stride)
        self._light = np.concatenate([[0.0], np.cumsum(strength.sum(1, dtype=np.float64))])
        self._mean_strength = float(self._light[-1]) / self.count if self.count else 0.0
        scale = np.float32(self.weight_scale)
        limit = buffer_limit_edges(ctx)
        self.chunk_edges = min(chunk_edges, limit) if chunk_edges > 0 else limit
        self.chunks: list[EdgeChunk] = []
        for start in range(0, self.count, self.chunk_edges):
            idx = order[start : start + self.chunk_edges]
            packed = np.empty((len(idx), 3), np.uint32)
            packed[:, :2] = e[idx]
            packed[:, 2] = np.clip(w[idx] * scale, -MAX_WEIGHT, MAX_WEIGHT).view(np.uint32)
            self.chunks.append(EdgeChunk(ctx.buffer(packed), start, len(idx)))

    def drawn(self, budget: int) -> int:
        """How many edges a budget draws (budget ≤ 0: all)."""
        return self.count if budget <= 0 else min(budget, self.count)

    def equivalent(self, budget: int) -> float:
        """The edges a budget draws, counted in edges of the graph's mean |weight|: the
        drawn edges' total |weight| ÷ the mean |weight| of all edges. Equal to the count
        when every edge is drawn; larger under a budget, which keeps the strongest."""
        n = self.drawn(budget)
        if n == self.count or self._mean_strength == 0.0:
            return float(n)
        i, rest = divmod(n, self._light_stride)  # n < count, so stride i + 1 exists; interpolate in it
        lo, hi = self._light[i], self._light[i + 1]
        return float(lo + (hi - lo) * rest / self._light_stride) / self._mean_strength

    def ranges(self, budget: int) -> list[tuple[EdgeChunk, int]]:
        """(chunk, edges of it to draw) for the ``budget`` strongest edges."""
        left = self.drawn(budget)
        out = []
        for chunk in self.chunks:
            if left <= 0:
                break
            n = min(left, chunk.count)
            out.append((chunk, n))
            left -= n
        return out

    def sorted_host(self) -> tuple[np.ndarray, np.ndarray]:
        """(E, 2) uint32 edges and (E,) float32 normalised weights, strongest first, read
        back from the GPU (no host copy is kept: at 26 M edges it would cost 300 MB)."""
        packed = np.concatenate(
            [np.frombuffer(c.buffer.read(), np.uint32).reshape(c.count, 3) for c in self.chunks]
        ) if self.chunks else np.zeros((0, 3), np.uint32)
        return packed[:, :2], packed[:, 2].view(np.float32)

    def release(self) -> None:
        for chunk in self.chunks:
            chunk.buffer.release()
        self.chunks = []


@dataclass(frozen=True)
class EdgeStyle:
    """Per-frame uniforms of the edge pass. gain: light of a |weight| = 1 edge whose source is
    fully active; cull: edges darker than this are skipped; fog: (start, end, strength) of
    the depth fade in view-space units; budget: strongest edges drawn (0 = all)."""

    view: glm.mat4
    projection: glm.mat4
    gain: float
    cull: float
    exposure: float
    fog: tuple[float, float, float]
    budget: int
    divisor: int = 1  # compute mode: rasterize at 1/divisor of the frame's resolution


class EdgePass:
    """Draws an :class:`EdgeSet` from the network's ``current`` state; see the module doc."""

    def __init__(self, ctx: moderngl.Context, network: NetworkBuffers, edges: EdgeSet, mode: str = "lines"):
        self.ctx = ctx
        self.network = network
        self.edges = edges
        self._draw_programs: dict[str, moderngl.Program] = {}
        self._compute_shaders: dict[str, moderngl.ComputeShader] = {}
        self._vaos: dict[str, moderngl.VertexArray] = {}
        self._accum: moderngl.Buffer | None = None
        self._accum_size = (0, 0)
        self._ends: moderngl.Buffer | None = None
        self.mode = "lines"
        self.set_mode(mode)

    # -- set-up ----------------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        """Switch between "lines" and "compute" (programs load on first use)."""
        if mode not in EDGE_MODES:
            raise ValueError(f"edge mode {mode!r} is not one of {', '.join(EDGE_MODES)}")
        if mode == "lines":
            self._compute_shader("edge_ends")
            self._draw_program("edges")
            self._empty_vao("edges")
        else:
            self._compute_shader("edges_raster")
            self._draw_program("edges_resolve")
            self._empty_vao("edges_resolve")
        self.mode = mode

    @property
    def in_compute(self) -> bool:
        """True when the edges are drawn after the scene is resolved (compute mode)."""
        return self.mode == "compute"

    def _draw_program(self, name: str) -> moderngl.Program:
        if name not in self._draw_programs:
            self._draw_programs[name] = load_draw_program(self.ctx, name)
        return self._draw_programs[name]

    def _compute_shader(self, name: str) -> moderngl.ComputeShader:
        if name not in self._compute_shaders:
            self._compute_shaders[name] = load_compute_shader(self.ctx, name)
        return self._compute_shaders[name]

    def _empty_vao(self, name: str) -> moderngl.VertexArray:
        """A vertex array without buffers for the drawing program ``name`` (its vertices come from SSBOs)."""
        if name not in self._vaos:
            self._vaos[name] = self.ctx.vertex_array(self._draw_programs[name], [])
        return self._vaos[name]

    # -- drawing ---------------------------------------------------------------------------

    def _set_common(self, program: moderngl.Program | moderngl.ComputeShader, style: EdgeStyle) -> None:
        set_uniforms(program, u_view=style.view, u_projection=style.projection, u_gain=style.gain,
                     u_fog=style.fog, u_exposure=style.exposure, u_cull=style.cull)

    def draw_lines(self, fbo: moderngl.Framebuffer, style: EdgeStyle) -> None:
        """Lines mode: draw into the bound ``fbo`` (depth-tested against the neurons already
        in it, depth writes off, additive light, alpha kept)."""
        if self.edges.count == 0 or self.mode != "lines":
            return
        ctx = self.ctx
        self.network.bind()
        self._compute_ends(style)
        ctx.enable(moderngl.DEPTH_TEST | moderngl.BLEND)
        # moderngl annotates blend_func as a pair; four values (a separate alpha function) are accepted too
        ctx.blend_func = moderngl.ONE, moderngl.ONE, moderngl.ZERO, moderngl.ONE  # type: ignore[assignment]
        fbo.depth_mask = False
        try:
            program = self._draw_programs["edges"]
            w, h = fbo.size
            set_uniforms(program, u_cull=style.cull, u_viewport=(w / 2, h / 2))
            vao = self._vaos["edges"]
            for chunk, n in self.edges.ranges(style.budget):
                chunk.buffer.bind_to_storage_buffer(BIND_EDGES)
                vao.render(moderngl.LINES, vertices=2 * n)
        finally:
            fbo.depth_mask = True
            ctx.disable(moderngl.BLEND)

    def _compute_ends(self, style: EdgeStyle) -> None:
        """Each neuron's clip position and edge light for this frame → the ends buffer, bound."""
        count = self.network.count
        if self._ends is None or self._ends.size != count * _END_BYTES:
            if self._ends is not None:
                self._ends.release()
            self._ends = self.ctx.buffer(reserve=count * _END_BYTES)
        program = self._compute_shaders["edge_ends"]
        set_uniforms(program, u_view=style.view, u_projection=style.projection, u_gain=style.gain,
                     u_exposure=style.exposure, u_fog=style.fog, u_count=count)
        self._ends.bind_to_storage_buffer(BIND_ENDS)
        program.run(group_x=math.ceil(count / _ENDS_GROUP))
        self.ctx.memory_barrier()

    def draw_compute(self, fbo: moderngl.Framebuffer, depth: moderngl.Texture, style: EdgeStyle) -> None:
        """Compute mode: rasterize into the accumulator, depth-tested against ``depth`` (the
        resolved neuron depth), then add the light into ``fbo`` (the resolved frame)."""
        if self.edges.count == 0 or self.mode != "compute":
            return
        ctx = self.ctx
        w, h = fbo.size
        d = max(1, int(style.divisor))
        aw, ah = max(1, w // d), max(1, h // d)
        accum = self._accumulator(aw, ah)
        accum.clear()
        raster = self._compute_shaders["edges_raster"]
        self._set_common(raster, style)
        set_uniforms(raster, u_size=(aw, ah), u_divisor=d, u_scale=ACCUM_SCALE, u_max_steps=2 * (aw + ah), u_depth=0)
        depth.use(location=0)
        self.network.bind()
        accum.bind_to_storage_buffer(BIND_ACCUM)
        for chunk, n in self.edges.ranges(style.budget):
            chunk.buffer.bind_to_storage_buffer(BIND_EDGES)
            set_uniforms(raster, u_count=n)
            groups = math.ceil(n / _RASTER_GROUP)
            gx = min(groups, 65535)
            raster.run(group_x=gx, group_y=math.ceil(groups / gx))
        ctx.memory_barrier()
        resolve = self._draw_programs["edges_resolve"]
        set_uniforms(resolve, u_size=(aw, ah), u_divisor=d, u_scale=ACCUM_SCALE, u_exposure=style.exposure)
        fbo.use()
        ctx.viewport = (0, 0, w, h)
        ctx.disable(moderngl.DEPTH_TEST)
        ctx.enable(moderngl.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE, moderngl.ZERO, moderngl.ONE  # type: ignore[assignment]  # as above
        try:
            self._vaos["edges_resolve"].render(moderngl.TRIANGLES, vertices=3)
        finally:
            ctx.disable(moderngl.BLEND)

    def _accumulator(self, w: int, h: int) -> moderngl.Buffer:
        if self._accum is None or self._accum_size != (w, h):
            if self._accum is not None:
                self._accum.release()
            self._accum = self.ctx.buffer(reserve=w * h * 3 * 4)
            self._accum_size = (w, h)
        return self._accum

    def release(self) -> None:
        for vao in self._vaos.values():
            vao.release()
        for program in self._draw_programs.values():
            program.release()
        for shader in self._compute_shaders.values():
            shader.release()
        self._vaos, self._draw_programs, self._compute_shaders = {}, {}, {}
        for buffer in (self._accum, self._ends):
            if buffer is not None:
                buffer.release()
        self._accum = self._ends = None
