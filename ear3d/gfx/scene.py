"""The scene: the network (neurons + edges) drawn from a camera at a loop position, with
depth fade, bloom and the background.

A frame: ``network.update(phase)`` (a compute pass interpolates the key frames and reads
the heard time step) → neurons (lit spheres) → edges (lines or compute rasterizer) into
an HDR target → bloom → composite into the caller's framebuffer. Per frame only uniforms
change; activity is uploaded per optimization step; positions and edges once.
"""

from __future__ import annotations

import contextlib
import logging
import math
import statistics
from dataclasses import dataclass
from typing import Any

import moderngl
import numpy as np

from ear3d.config import RenderConfig, parse_hex_color
from ear3d.gfx.camera import CameraRig, OrbitCamera
from ear3d.gfx.context import is_software
from ear3d.gfx.edges import EDGE_MODES, EdgePass, EdgeSet, EdgeStyle
from ear3d.gfx.network import NetworkBuffers, as_key_frames, clean_phase
from ear3d.gfx.neurons import NeuronPass
from ear3d.gfx.post import FrameTargets, PostProcess, PostStyle
from ear3d.palette import Palette

log = logging.getLogger(__name__)

#: "auto" edge mode: the rasterizers compared, and timed frames of each after a warm-up.
AUTO_MODES = ("lines", "compute")
AUTO_SAMPLES = 3

#: Above this many edges each edge's light is scaled by DENSITY_REFERENCE / (drawn edges,
#: counted in edges of mean |weight|), so that the edges' total light stays the same however
#: many there are (a denser graph does not turn into a white sheet) and however many a budget
#: leaves out (the strongest edges it keeps carry the light of the whole graph).
DENSITY_REFERENCE = 50_000


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
    def from_config(cls, render: RenderConfig) -> "Look":
        return cls(edge_gain=render.edge_gain, edge_budget=render.edge_budget, bloom=render.bloom, fog=render.fog)


class Scene:
    """The network drawn live.

    positions: (N, 3) or (K, N, 3) float32 key frames over the loop (world units);
    layer: (N,) int layer index per neuron (palette colour); edges: (E, 2) integer (source,
    destination) neuron indices with weights (E,) float, or None for no edges. Activity
    ((N, S) float32 0–1) and the selection ((N,) bool) are set afterwards. Release
    explicitly with ``release()``.
    """

    def __init__(
        self,
        ctx: moderngl.Context,
        positions: np.ndarray,
        layer: np.ndarray,
        palette: Palette,
        render: RenderConfig,
        edges: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ):
        key_frames = as_key_frames(positions)
        layer = np.asarray(layer)
        if layer.shape != (key_frames.shape[1],):
            raise ValueError(
                f"the layout has {key_frames.shape[1]} neurons but the network has {layer.shape[0] if layer.ndim else 0} "
                f"(layer table of shape {layer.shape}): they must match"
            )
        self.ctx = ctx
        self.render_config = render
        self.palette = palette
        self.background = parse_hex_color(render.background)
        self.look = Look.from_config(render)
        if edges is not None and self.look.edge_budget == 0 and render.software_edge_budget and is_software(ctx):
            # Millions of lines cost seconds per frame on the CPU: keep the strongest.
            self.look.edge_budget = render.software_edge_budget
            log.info("software OpenGL (%s): drawing at most the %d strongest edges (render.edge_budget, "
                     "render.software_edge_budget)", ctx.info.get("GL_RENDERER", "?"), render.software_edge_budget)
        self.aspect = render.width / render.height
        if (edges is None) != (weights is None):
            raise ValueError("edges and weights come together: give both or neither")
        self.edge_set: EdgeSet | None = None
        self.edges: EdgePass | None = None
        self.edge_mode = "lines"
        #: edge mode → GPU seconds of the edge pass per sampled frame, while "auto" measures
        self.edge_timings: dict[str, list[float]] = {}
        self._calibrating = False
        self._query: moderngl.Query | None = None
        self._targets: FrameTargets | None = None
        self.network = NetworkBuffers(ctx, key_frames, palette.layer_colors(layer), render.interop)
        self.neurons = self.post = None
        try:
            self.neurons = NeuronPass(ctx, self.network)
            self.post = PostProcess(ctx)
            self.set_edge_mode(render.edge_mode)
            self.rig = CameraRig(self._home(), render.camera_smoothing)
            if edges is not None:
                self.set_edges(edges, weights)
        except BaseException:
            self.release()  # no GL objects left behind by a refused input
            raise

    # -- data ---------------------------------------------------------------------------------

    @property
    def positions(self) -> np.ndarray:
        """(K, N, 3) float32 key frames."""
        return self.network.key_frames

    def set_layout(self, positions: np.ndarray) -> None:
        """New key frames (N, 3) or (K, N, 3) for the same neurons; the home view follows."""
        self.network.set_positions(positions)
        self.rig.home = self._home()

    def set_edges(self, edges: np.ndarray | None, weights: np.ndarray | None) -> None:
        """Replace the edges ((E, 2) integer, (E,) float; None or E = 0: no edges). Sorted by
        |weight| and uploaded once."""
        self._release_edges()
        if edges is None or weights is None or len(edges) == 0:
            if edges is not None and weights is not None and len(weights) != len(edges):
                raise ValueError(f"weights must be ({len(edges)},), one per edge, got shape {np.shape(weights)}")
            return
        self.edge_set = EdgeSet(self.ctx, edges, weights, self.network.count, self.render_config.edge_chunk)
        self.edges = EdgePass(self.ctx, self.network, self.edge_set, self.edge_mode)

    def set_edge_mode(self, mode: str) -> None:
        """"lines", "compute", "naive" (see ear3d.gfx.edges) or "auto": time the lines and
        compute rasterizers on the first frames drawn (GPU timer queries) and keep the faster."""
        if mode == "auto":
            self._calibrating = True
            self.edge_timings = {m: [] for m in AUTO_MODES}
            mode = AUTO_MODES[0]
        else:
            self._calibrating = False
        if self.edges is not None:
            self.edges.set_mode(mode)
        elif mode not in EDGE_MODES:
            raise ValueError(f"edge mode {mode!r} is not one of {', '.join(EDGE_MODES)}, auto")
        self.edge_mode = mode

    def _next_sample_mode(self) -> None:
        """While calibrating: switch to the mode with fewer samples, or settle on the faster."""
        counts = {m: len(t) for m, t in self.edge_timings.items()}
        if min(counts.values()) >= AUTO_SAMPLES + 1:  # the first sample of each is a warm-up
            best = min(AUTO_MODES, key=lambda m: statistics.median(self.edge_timings[m][1:]))
            log.info("edge rasterizer: %s (GPU ms per frame: %s)", best, {
                m: round(statistics.median(t[1:]) * 1e3, 3) for m, t in self.edge_timings.items()})
            self._calibrating = False
            self.edge_mode = best
        else:
            self.edge_mode = min(AUTO_MODES, key=lambda m: counts[m])
        if self.edges is not None:
            self.edges.set_mode(self.edge_mode)

    def _calibration_timer(self) -> Any:
        """The GPU timer for this frame's edge pass while "auto" measures, else a no-op."""
        if not self._calibrating:
            return contextlib.nullcontext()
        self._next_sample_mode()  # may settle and end the calibration
        if not self._calibrating:
            return contextlib.nullcontext()
        if self._query is None:  # one timer query, reused (moderngl 5 cannot release them)
            self._query = self.ctx.query(time=True)
        return self._query

    def set_activity(self, table: Any) -> str:
        """(N, S) float32 0–1, numpy or a CUDA tensor; returns "host" or "cuda" (the path)."""
        return self.network.set_activity(table)

    def set_selection(self, selected: np.ndarray) -> None:
        """(N,) bool: the optimization targets, highlighted."""
        self.network.set_selection(selected)

    # -- camera ---------------------------------------------------------------------------------

    @property
    def camera(self) -> OrbitCamera:
        """The pose being drawn (``rig.pose``); assigning one jumps there."""
        return self.rig.pose

    @camera.setter
    def camera(self, pose: OrbitCamera) -> None:
        self.rig.jump(pose)

    def _home(self) -> OrbitCamera:
        return OrbitCamera.framing(self.network.key_frames.reshape(-1, 3), self.aspect, self.render_config.fov)

    def reset_camera(self, duration: float = 0.0) -> None:
        """Frame every neuron again from the default viewpoint (eased over ``duration`` s)."""
        self.rig.home = self._home()
        self.rig.fly_to(self.rig.home, duration)

    def focus_selection(self, duration: float = 1.5) -> bool:
        """Fly to the selected neurons (where they are at the first key frame); False when
        nothing is selected."""
        sel = self.network.selection
        if not sel.any():
            return False
        self.rig.focus(self.network.key_frames[:, sel].reshape(-1, 3), duration, self.aspect)
        return True

    def advance(self, dt: float, orbit_speed: float = 0.0) -> None:
        """Move time-driven things by ``dt`` seconds: the automatic orbit (radians per
        second) and the camera's smoothing and flights."""
        self.rig.spin(orbit_speed * dt if math.isfinite(orbit_speed * dt) else 0.0)
        self.rig.update(dt)

    # -- drawing --------------------------------------------------------------------------------

    def fog(self) -> tuple[float, float, float]:
        """(start, end, strength) of the depth fade: from the network's centre to its far side."""
        centre, radius = self.network.bounds()
        eye = np.array(self.camera.eye, np.float32)
        d = float(np.linalg.norm(centre - eye))
        return d, d + radius, float(min(max(self.look.fog, 0.0), 1.0))

    def edge_gain(self) -> float:
        """Per-edge light: the look's gain, dimmed for dense graphs (see DENSITY_REFERENCE)."""
        if self.edge_set is None:
            return 0.0
        drawn = self.edge_set.equivalent(self.look.edge_budget)
        return self.look.edge_gain * min(1.0, DENSITY_REFERENCE / max(drawn, 1.0))

    def _frame_targets(self, size: tuple[int, int]) -> FrameTargets:
        if self._targets is None or self._targets.size != size:
            if self._targets is not None:
                self._targets.release()
            self._targets = FrameTargets(self.ctx, size, self.render_config.samples)
        return self._targets

    def draw(self, fbo: moderngl.Framebuffer, phase: float) -> None:
        """Draw the scene into ``fbo`` at loop position ``phase`` (0–1; NaN → 0). A zero-size
        framebuffer (a minimised window) draws nothing."""
        w, h = fbo.size
        if w < 1 or h < 1:
            return
        phase = clean_phase(phase)
        self.aspect = w / h
        targets = self._frame_targets((w, h))
        cam = self.camera
        view, projection = cam.view(), cam.projection(w / h)
        fog = self.fog()
        exposure = float(self.look.exposure)

        if self.edge_mode == "naive":  # the baseline: the CPU computes the frame and uploads it
            self.network.upload_current(self.network.current_on_host(phase, self.network.host_activity()))
        else:
            self.network.update(phase)

        draw_fbo = targets.draw_fbo
        draw_fbo.use()
        self.ctx.viewport = (0, 0, w, h)
        draw_fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        self.neurons.draw(view, projection, self.render_config.sphere_radius, self.palette.highlight,
                          self.look.sphere_scale, exposure, fog)
        if self.edges is not None:
            timer = self._calibration_timer()
            style = EdgeStyle(view, projection, self.edge_gain(), self.render_config.edge_cull, exposure, fog,
                              int(self.look.edge_budget), self.render_config.edge_resolution)
            if not self.edges.in_compute:
                with timer:
                    self.edges.draw_lines(draw_fbo, style)
            targets.resolve()
            if self.edges.in_compute:
                with timer:
                    self.edges.draw_compute(targets.resolved, targets.depth, style)
            if timer is self._query:
                self.edge_timings[self.edge_mode].append(timer.elapsed * 1e-9)
        else:
            targets.resolve()
        post = PostStyle(self.background, float(self.look.bloom), self.render_config.bloom_threshold,
                         self.render_config.vignette)
        self.post.run(targets, fbo, post)

    def _release_edges(self) -> None:
        if self.edges is not None:
            self.edges.release()
            self.edges = None
        if self.edge_set is not None:
            self.edge_set.release()
            self.edge_set = None

    def release(self) -> None:
        """Free every GL object of the scene (idempotent)."""
        self._release_edges()
        if self._targets is not None:
            self._targets.release()
            self._targets = None
        for part in ("post", "neurons", "network"):
            obj = getattr(self, part, None)
            if obj is not None:
                obj.release()
                setattr(self, part, None)
