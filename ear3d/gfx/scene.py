"""The scene: background plus the neuron pass, drawn from a camera at a loop position."""

from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np

from ear3d.config import RenderConfig, parse_hex_color
from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.neurons import NeuronPass
from ear3d.palette import Palette


@dataclass
class Look:
    """Live-tunable appearance (driven by keyboard/MIDI parameters)."""

    sphere_scale: float = 1.0
    exposure: float = 1.0


class Scene:
    """positions: (N, 3) float32; layer: (N,) int per neuron; palette gives layer colours."""

    def __init__(self, ctx: moderngl.Context, positions: np.ndarray, layer: np.ndarray, palette: Palette, render: RenderConfig):
        self.ctx = ctx
        self.render_config = render
        self.palette = palette
        self.background = parse_hex_color(render.background)
        self.neurons = NeuronPass(ctx, positions, palette.layer_colors(layer))
        self.positions = positions
        self.aspect = render.width / render.height
        self.camera = OrbitCamera.framing(positions, self.aspect)
        self.look = Look()

    def reset_camera(self) -> None:
        """Frame every neuron again from the default viewpoint."""
        self.camera = OrbitCamera.framing(self.positions, self.aspect)

    def draw(self, fbo: moderngl.Framebuffer, phase: float) -> None:
        """Clear ``fbo`` and draw the scene at loop position ``phase`` (0–1)."""
        fbo.use()
        w, h = fbo.size
        if w < 1 or h < 1:
            return  # a minimised window: nothing to draw, nothing to break
        self.ctx.viewport = (0, 0, w, h)
        self.aspect = w / h
        fbo.clear(*self.background, 1.0, depth=1.0)
        self.neurons.draw(
            self.camera.view(),
            self.camera.projection(w / h),
            phase,
            self.render_config.sphere_radius,
            self.palette.highlight,
            self.look.sphere_scale,
            self.look.exposure,
        )

    def release(self) -> None:
        self.neurons.release()
