"""The scene: the network drawn live — its data on the GPU, the passes that draw it, and the
camera that input moves — composed behind one small API.

- data: :class:`~ear3d.gfx.network.NetworkBuffers` (key frames, colours, selection,
  activity; the per-frame compute pass) and :class:`~ear3d.gfx.edges.EdgeSet` (the edges);
- passes: :class:`~ear3d.gfx.renderer.Renderer` (neurons → edges → bloom and composite)
  with an :class:`~ear3d.gfx.edges.EdgePass` in the mode chosen (``"auto"``:
  :mod:`ear3d.gfx.edge_choice`);
- camera: :class:`~ear3d.gfx.camera.CameraRig` (the pose drawn, smoothing, flights) driven
  by :class:`~ear3d.gfx.controller.CameraController` (mouse and keyboard events);
- picking: :meth:`Scene.pick` (which neuron is under a pixel, :mod:`ear3d.gfx.picking`).

A frame: ``network.update(phase)`` (key frames interpolated, the heard time step read, on
the GPU) → ``renderer.draw``. Per frame only uniforms change; activity is uploaded per
optimization step; positions and edges once.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from typing import Any

import moderngl
import numpy as np
from pyglm import glm

from ear3d.config import RenderConfig
from ear3d.gfx.camera import CameraRig, OrbitCamera
from ear3d.gfx.context import is_software
from ear3d.gfx.controller import CameraController
from ear3d.gfx.display import Display, DisplaySettings, check_mode, home_camera, make_display
from ear3d.gfx.edge_choice import EdgeModeChooser
from ear3d.gfx.edges import EDGE_MODES, EdgePass, EdgeSet
from ear3d.gfx.network import NetworkBuffers, as_key_frames, clean_phase
from ear3d.gfx.neurons import NeuronPass
from ear3d.gfx.pass_timer import timed
from ear3d.gfx.picking import drawn_radii, pick_sphere
from ear3d.gfx.post import FrameTargets
from ear3d.gfx.projection import Eye
from ear3d.gfx.renderer import DENSITY_REFERENCE, EdgeDrawer, Look, Renderer
from ear3d.palette import Palette

log = logging.getLogger(__name__)

__all__ = ["DENSITY_REFERENCE", "Look", "Scene"]


#: Display modes whose window is one perspective view of the camera, so a click can pick.
PICKABLE_MODES = ("flat", "anaglyph", "anaglyph-dubois")
#: Seconds of the flight to a new display mode's home (ear3d.gfx.display.home_camera).
MODE_FLIGHT_S = 1.0


class Scene:
    """The network drawn live.

    positions: (N, 3) or (K, N, 3) float32 key frames over the loop (world units);
    layer: (N,) int layer index per neuron (palette colour); layer_names: the layers' names
    in index order (the palette's groups: encoder warm, autoregressive model cool), None
    cycles the palette's colours; edges: (E, 2) integer (source, destination) neuron
    indices with weights (E,) float, or None for no edges. Activity ((N, S) float32 0–1)
    and the selection ((N,) bool) are set afterwards. Release explicitly with ``release()``.
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
        layer_names: Sequence[str] | None = None,
    ):
        key_frames = as_key_frames(positions)
        layer = np.asarray(layer)
        if layer.shape != (key_frames.shape[1],):
            raise ValueError(
                f"the layout has {key_frames.shape[1]} neurons but the network has "
                f"{layer.shape[0] if layer.ndim else 0} "
                f"(layer table of shape {layer.shape}): they must match"
            )
        if (edges is None) != (weights is None):
            raise ValueError("edges and weights come together: give both or neither")
        self.ctx = ctx
        self.render_config = render
        self.palette = palette
        self.look = Look.from_config(render)
        if edges is not None and self.look.edge_budget == 0 and render.software_edge_budget and is_software(ctx):
            # Millions of lines cost seconds per frame on the CPU: keep the strongest.
            self.look.edge_budget = render.software_edge_budget
            log.info("software OpenGL (%s): drawing at most the %d strongest edges (render.edge_budget, "
                     "render.software_edge_budget)", ctx.info.get("GL_RENDERER", "?"), render.software_edge_budget)
        self.aspect = render.width / render.height
        self.edge_set: EdgeSet | None = None
        self.edges: EdgePass | None = None
        self.edge_mode = "lines"
        self._chooser: EdgeModeChooser | None = None
        #: the immersive settings (eye separation, convergence, dome); the mode is ``display_mode``
        self.display_settings = DisplaySettings.from_config(render)
        self.display_mode = "flat"
        self._display: Display | None = None
        self.network = NetworkBuffers(
            ctx, key_frames, palette.layer_colors(layer, layer_names), render.interop)
        try:
            self.renderer = Renderer(ctx, self.network, render)
            self.set_edge_mode(render.edge_mode)
            self.set_display(render.display)
            self.rig = CameraRig(self._home(), render.camera_smoothing)
            self.controller = CameraController(self.rig, (render.width, render.height))
            if edges is not None:
                self.set_edges(edges, weights)
            self.network.update(0.0)  # `current` holds a frame before the first draw (picking reads it)
        except BaseException:
            self.release()  # no GL objects left behind by a refused input
            raise

    # -- data ---------------------------------------------------------------------------------

    @property
    def render_config(self) -> RenderConfig:
        """The render settings (assigning new ones reaches the renderer too)."""
        return self._config

    @render_config.setter
    def render_config(self, render: RenderConfig) -> None:
        self._config = render
        renderer = self.__dict__.get("renderer")
        if renderer is not None:
            renderer.config = render

    @property
    def positions(self) -> np.ndarray:
        """(K, N, 3) float32 key frames."""
        return self.network.key_frames

    @property
    def neurons(self) -> NeuronPass:
        """The neuron pass (its ``set_activity``/``set_selection`` reach the network's buffers)."""
        return self.renderer.neurons

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
        """"lines", "compute" (see ear3d.gfx.edges) or "auto": time both on the first frames
        drawn (GPU timer queries) and keep the faster."""
        if mode == "auto":
            self._chooser = EdgeModeChooser(self.ctx)
            mode = self._chooser.mode
        elif mode not in EDGE_MODES:
            raise ValueError(f"edge mode {mode!r} is not one of {', '.join(EDGE_MODES)}, auto")
        else:
            self._chooser = None
        if self.edges is not None:
            self.edges.set_mode(mode)
        self.edge_mode = mode

    @property
    def edge_timings(self) -> dict[str, list[float]]:
        """Edge mode → GPU seconds of the edge pass per sampled frame, while "auto" measures
        (empty otherwise)."""
        return self._chooser.timings if self._chooser is not None else {}

    def set_display(self, mode: str) -> None:
        """The output: one of ear3d.config.DISPLAY_MODES (flat, stereo pairs, dome, equirect;
        see ear3d.gfx.display). Switching is immediate; the new mode's programs load now. The
        home pose follows the mode (a dome's and a 360° view's are nearer the network); a camera
        resting at the old home (turned by the orbit or not) flies to the new one."""
        check_mode(mode)
        if mode == self.display_mode and (mode == "flat") == (self._display is None):
            return
        display = make_display(self.ctx, mode)
        if self._display is not None:
            self._display.release()
        self._display, self.display_mode = display, mode
        rig = self.__dict__.get("rig")  # absent while the constructor sets the first mode
        if rig is not None:
            old_home, rig.home = rig.home, self._home()
            if _near(rig.goal, old_home):  # the camera rested at the old mode's home: go to the new one
                home = dataclasses.replace(rig.home, yaw=rig.goal.yaw)  # keep the orbit's angle
                rig.fly_to(home, 0.0 if rig.smoothing == 0 else MODE_FLIGHT_S)  # smoothing 0: moves at once

    def set_activity(self, table: Any) -> str:
        """(N, S) float32 0–1, numpy or a CUDA tensor; returns "host" or "cuda" (the path)."""
        with timed(self.renderer.timer, "upload"):
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
        """The home pose in the current display mode (ear3d.gfx.display.home_camera)."""
        return home_camera(self.display_mode, self.network.key_frames.reshape(-1, 3), self.aspect,
                           self.render_config.fov)

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
        second), held fly keys, and the camera's smoothing and flights."""
        self.rig.spin(orbit_speed * dt if math.isfinite(orbit_speed * dt) else 0.0)
        self.controller.update(dt)

    # -- picking --------------------------------------------------------------------------------

    @property
    def pick_refusal(self) -> str | None:
        """Why a click cannot pick a neuron in the current display mode (None when it can):
        only the flat and anaglyph outputs are one perspective view of the whole window."""
        if self.display_mode in PICKABLE_MODES:
            return None
        return (f"no picking in the {self.display_mode} display: clicks pick in "
                f"{', '.join(PICKABLE_MODES)} (F3 switches)")

    def pick(self, x: float, y: float, size: tuple[float, float], slop: float = 0.0) -> int | None:
        """The index of the neuron sphere drawn under (x, y), or None over the background —
        for the positions and activity of the last frame drawn, seen from the current pose;
        with ``slop`` (window units), over the background the sphere whose edge is nearest
        within that distance.

        (x, y): window units from the top-left corner of a window ``size`` (width, height) —
        mouse coordinates; a pixel's centre is at +0.5. Exact: the same quads, radii and
        depth order as the neuron pass (reads back ``current``, N × 16 bytes: call it on a
        click, not every frame). Flat and anaglyph outputs only (the others are not one
        perspective view of the window): None there."""
        w, h = size
        if not (w > 0 and h > 0) or self.pick_refusal is not None:
            return None
        current = np.frombuffer(self.network.current_buffer.read(), np.float32).reshape(self.network.count, 4)
        radii = drawn_radii(current[:, 3], self.network.selection, self.render_config.sphere_radius,
                            self.look.sphere_scale)
        cam = self.camera
        return pick_sphere(current[:, :3], radii, cam.view(), cam.projection(w / h), x, y, (w, h), cam.near, slop)

    # -- drawing --------------------------------------------------------------------------------

    def draw(self, fbo: moderngl.Framebuffer, phase: float) -> None:
        """Draw the scene into ``fbo`` at loop position ``phase`` (0–1; NaN → 0) in the display
        mode (``set_display``); the network's state is computed once whatever the mode draws
        (eyes, cube faces). A zero-size framebuffer (a minimised window) draws nothing."""
        w, h = fbo.size
        if w < 1 or h < 1:
            return
        self.aspect = w / h
        with timed(self.renderer.timer, "interpolate"):
            self.network.update(clean_phase(phase))
        chooser = self._chooser if self.edges is not None else None  # "auto" measures while edges are drawn
        if chooser is not None and self.edges is not None:
            mode = chooser.next_mode()
            if mode != self.edges.mode:
                self.edges.set_mode(mode)
            self.edge_mode = mode
        timer = chooser.timer() if chooser is not None else None
        if self._display is None:
            self.renderer.draw(fbo, self.camera, self.look, self.palette.highlight, self.edges, timer)
        else:
            passes = _Passes(self.renderer, self.look, self.palette.highlight, self.edges, timer)
            self._display.draw(passes, self.camera, fbo, self.display_settings)
        if chooser is not None:
            chooser.record()

    def _release_edges(self) -> None:
        if self.edges is not None:
            self.edges.release()
            self.edges = None
        if self.edge_set is not None:
            self.edge_set.release()
            self.edge_set = None

    def release(self) -> None:
        """Free every GL object of the scene (idempotent; the scene is unusable afterwards)."""
        self._release_edges()
        display = self.__dict__.get("_display")  # absent when the constructor failed before it
        if display is not None:
            display.release()
            self._display = None
        for part in ("renderer", "network"):  # absent when the constructor failed before them
            obj = self.__dict__.pop(part, None)
            if obj is not None:
                obj.release()


def _near(a: OrbitCamera, b: OrbitCamera) -> bool:
    """Whether pose ``a`` is ``b`` up to the yaw (the automatic orbit turns it) and rounding."""
    return (glm.distance(a.target, b.target) <= 1e-3 * b.distance and abs(a.distance - b.distance) <= 1e-3 * b.distance
            and abs(a.pitch - b.pitch) <= 1e-3)


class _Passes:
    """The scene's passes for a display mode (ear3d.gfx.display.ScenePasses) over one frame;
    the edge-mode timer measures the first view's edge pass only."""

    def __init__(self, renderer: Renderer, look: Look, highlight: np.ndarray, edges: EdgeDrawer | None,
                 timer: Any):
        self.renderer, self.look, self.highlight, self.edges, self.timer = renderer, look, highlight, edges, timer

    def light(self, targets: FrameTargets, eye: Eye) -> None:
        timer, self.timer = self.timer, None
        self.renderer.draw_light(targets, eye, self.look, self.highlight, self.edges, timer)

    def post(self, targets: FrameTargets, fbo: moderngl.Framebuffer, vignette: float | None = None) -> None:
        self.renderer.post_process(targets, fbo, self.look, vignette)
