"""The frame: the passes composed in order over the network's ``current`` state.

neurons (lit spheres) → edges (GL lines into the same target, or the compute rasterizer
after the resolve) → resolve → bloom and composite into the caller's framebuffer. The
renderer owns the passes that do not depend on the edge table (neurons, post) and the
frame targets; the edge pass is handed in per frame, so that any pass with the
:class:`EdgeDrawer` shape can draw the edges (the benchmark's baseline does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import moderngl
import numpy as np
from pyglm import glm

from ear3d.config import RenderConfig, parse_hex_color
from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.edges import EdgeSet, EdgeStyle
from ear3d.gfx.network import NetworkBuffers
from ear3d.gfx.neurons import NeuronPass
from ear3d.gfx.pass_timer import PassTimer, timed
from ear3d.gfx.post import FrameTargets, PostProcess, PostStyle
from ear3d.gfx.projection import Eye, camera_eye

#: Above this many edges each edge's light is scaled by DENSITY_REFERENCE / (drawn edges,
#: counted in edges of mean |weight|), so that the edges' total light stays the same however
#: many there are (a denser graph does not turn into a white sheet) and however many a budget
#: leaves out (the strongest edges it keeps carry the light of the whole graph).
DENSITY_REFERENCE = 50_000
#: Light below which an edge is skipped whatever render.edge_cull says, and above which it is
#: always drawn: 1/16 of an 8-bit step, so that even 8 skipped edges over one pixel stay under
#: half a step. (render.edge_cull is in signal units; with a high gain a signal under it can
#: still be a visible line.)
INVISIBLE_LIGHT = 1 / 16 / 255


@dataclass
class Look:
    """Live-tunable appearance (driven by keyboard/MIDI parameters)."""

    sphere_scale: float = 1.0
    exposure: float = 1.0
    edge_gain: float = 1.0
    edge_budget: int = 0
    bloom: float = 0.8
    fog: float = 0.7

    @classmethod
    def from_config(cls, render: RenderConfig) -> Look:
        return cls(edge_gain=render.edge_gain, edge_budget=render.edge_budget, bloom=render.bloom, fog=render.fog)


class EdgeDrawer(Protocol):
    """What the renderer needs of an edge pass (ear3d.gfx.edges.EdgePass has it)."""

    edges: EdgeSet

    @property
    def in_compute(self) -> bool: ...

    def draw_lines(self, fbo: moderngl.Framebuffer, style: EdgeStyle) -> None: ...

    def draw_compute(self, fbo: moderngl.Framebuffer, depth: moderngl.Texture, style: EdgeStyle) -> None: ...


class Renderer:
    """Draws ``network`` (already updated to the frame's loop position) with its passes.
    Release explicitly with ``release()``."""

    def __init__(self, ctx: moderngl.Context, network: NetworkBuffers, render: RenderConfig):
        self.ctx = ctx
        self.network = network
        self.config = render
        self.background = parse_hex_color(render.background)
        self._targets: FrameTargets | None = None
        #: GPU time per pass (ear3d.gfx.pass_timer); None = not measured, no cost.
        self.timer: PassTimer | None = None
        self.neurons = NeuronPass(ctx, network)
        try:
            self.post = PostProcess(ctx)
        except BaseException:
            self.release()
            raise

    def fog(self, eye: glm.vec3, strength: float) -> tuple[float, float, float]:
        """(start, end, strength) of the depth fade seen from ``eye`` (world position): from
        the network's centre to its far side."""
        centre, radius = self.network.bounds()
        d = float(np.linalg.norm(centre - np.array(eye, np.float32)))
        return d, d + radius, float(min(max(strength, 0.0), 1.0))

    @staticmethod
    def edge_gain(edges: EdgeSet | None, look: Look) -> float:
        """Per-edge light: the look's gain, dimmed for dense graphs (see DENSITY_REFERENCE)."""
        if edges is None:
            return 0.0
        drawn = edges.equivalent(look.edge_budget)
        return look.edge_gain * min(1.0, DENSITY_REFERENCE / max(drawn, 1.0))

    def edge_cull(self, gain: float, exposure: float) -> float:
        """The signal |weight × activity| below which edges are skipped: render.edge_cull,
        lowered where an edge's light (signal × gain × exposure, an upper bound: colours and
        depth fade are ≤ 1) could reach INVISIBLE_LIGHT below it."""
        light = gain * exposure
        cull = float(self.config.edge_cull)
        return min(cull, INVISIBLE_LIGHT / light) if light > 0 else cull

    def _frame_targets(self, size: tuple[int, int]) -> FrameTargets:
        stale = self._targets is not None and (
            self._targets.size != size or self._targets.requested_samples != self.config.samples)
        if self._targets is None or stale:  # a new size, or the samples changed (adaptive quality)
            if self._targets is not None:
                self._targets.release()
            self._targets = FrameTargets(self.ctx, size, self.config.samples)
        return self._targets

    def draw(self, fbo: moderngl.Framebuffer, camera: OrbitCamera, look: Look, highlight: np.ndarray,
             edges: EdgeDrawer | None = None, edge_timer: Any = None) -> None:
        """Draw the frame into ``fbo`` (non-zero size) from ``camera``. highlight: (3,) colour
        of selected neurons; edge_timer: a context manager around the edge pass (a GPU timer
        query while the edge mode is being chosen)."""
        w, h = fbo.size
        targets = self._frame_targets((w, h))
        self.draw_light(targets, camera_eye(camera, w / h), look, highlight, edges, edge_timer)
        self.post_process(targets, fbo, look)

    def draw_light(self, targets: FrameTargets, eye: Eye, look: Look, highlight: np.ndarray,
                   edges: EdgeDrawer | None = None, edge_timer: Any = None) -> None:
        """The scene's light (HDR, before bloom and tone mapping) seen from ``eye``, into
        ``targets`` (drawn and resolved into ``targets.color``/``depth``) — one view of a
        stereo pair or one face of a cube map (ear3d.gfx.display)."""
        w, h = targets.size
        timer = self.timer
        view, projection = eye.view, eye.projection
        fog = self.fog(eye.position, look.fog)
        exposure = float(look.exposure)
        draw_fbo = targets.draw_fbo
        draw_fbo.use()
        self.ctx.viewport = (0, 0, w, h)
        with timed(timer, "neurons"):
            draw_fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
            self.neurons.draw(view, projection, self.config.sphere_radius, highlight, look.sphere_scale, exposure,
                              fog, self.config.neuron_mode)
        with timed(timer, "resolve"):
            targets.resolve()
        if edges is not None:
            # Edges go into the resolved (single-sample) frame, depth-tested against the
            # neurons' resolved depth: one sample per pixel instead of `samples` (on a software
            # rasterizer multisampled lines cost ~7x). The chooser's query when it measures
            # (time queries do not nest), else the pass timer's.
            gain = self.edge_gain(edges.edges, look)
            style = EdgeStyle(view, projection, gain, self.edge_cull(gain, exposure), exposure, fog,
                              int(look.edge_budget), self.config.edge_resolution)
            with edge_timer if edge_timer is not None else timed(timer, "edges"):
                if edges.in_compute:
                    edges.draw_compute(targets.resolved, targets.depth, style)
                else:
                    targets.resolved.use()
                    edges.draw_lines(targets.resolved, style)

    def post_process(self, targets: FrameTargets, fbo: moderngl.Framebuffer, look: Look,
                     vignette: float | None = None) -> None:
        """Bloom and composite ``targets.color`` into ``fbo`` (the same size); ``vignette``
        overrides render.vignette (a 360° panorama has no corners to darken)."""
        post = PostStyle(self.background, float(look.bloom), self.config.bloom_threshold,
                         self.config.vignette if vignette is None else vignette)
        with timed(self.timer, "bloom"):
            self.post.bloom(targets, post)
        with timed(self.timer, "post"):
            self.post.composite(targets, fbo, post)

    def release(self) -> None:
        """Free the passes and targets (idempotent; the network belongs to the caller; the
        renderer is unusable afterwards)."""
        if self._targets is not None:
            self._targets.release()
            self._targets = None
        for part in ("post", "neurons"):  # absent after a release or a failed constructor
            obj = self.__dict__.pop(part, None)
            if obj is not None:
                obj.release()
