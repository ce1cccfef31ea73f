"""The neuron pass: sphere impostors lit by activity, drawn as point sprites
(shaders/neuron_sprites.glsl) or as instanced camera-facing quads (shaders/neurons.glsl);
both shade the same sphere (shaders/include/sphere.glsl).

A sprite is one vertex where a quad is an instance of four, and a software rasterizer
(Mesa llvmpipe) pays per vertex and per instance in its single-threaded vertex stage: the
breakdown of `ear3d bench render` times the neuron pass both ways (1.7x at full quality with
MSAA, about 3x at the live window's lowest adaptive rung). Sprites have two limits, so
``render.neuron_mode = "auto"`` draws quads when either could show: the driver's largest
point size (a sphere close to the camera would be clipped to it), and points are clipped
whole once their centre leaves the frame (a sphere half out of the frame would vanish),
which a cube-map face's seams would make visible.

Positions, activity, colours and the selection live in :class:`NetworkBuffers`; this pass
owns only the quad and the programs, and sets uniforms per frame.
"""

from __future__ import annotations

from typing import Any

import moderngl
import numpy as np
from pyglm import glm

from ear3d.config import NEURON_MODES
from ear3d.gfx.network import NetworkBuffers
from ear3d.gfx.shaders import load_draw_program, set_uniforms

_QUAD = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], np.float32)  # triangle strip
#: Largest radius of a neuron as a multiple of the idle radius: fully active (0.5 + 1.5)
#: and selected (× 1.25), as sphere_radius() in shaders/include/sphere.glsl.
MAX_RADIUS_FACTOR = 2.0 * 1.25
#: Largest sprite "auto" draws as a fraction of the driver's largest point (margin for the
#: bound's rounding and the key frames' motion within a frame).
_SPRITE_MARGIN = 0.9


class NeuronPass:
    """Draws the N neurons of ``network`` as lit spheres."""

    def __init__(self, ctx: moderngl.Context, network: NetworkBuffers):
        self.ctx = ctx
        self.network = network
        self.program = load_draw_program(ctx, "neurons")
        self.sprite_program = load_draw_program(ctx, "neuron_sprites")
        self._quad = ctx.buffer(_QUAD.tobytes())
        self.vao = ctx.vertex_array(self.program, [(self._quad, "2f", "in_corner")])
        self.sprite_vao = ctx.vertex_array(self.sprite_program, [])
        #: the driver's largest point size in pixels
        self.max_point_size = float(ctx.info["GL_POINT_SIZE_RANGE"][1])
        #: how the last draw drew them: "sprites" or "quads"
        self.drawn_as = "quads"

    @property
    def count(self) -> int:
        return self.network.count

    @property
    def steps(self) -> int:
        return self.network.steps

    def set_selection(self, selected: np.ndarray) -> None:
        """selected: (N,) bool — the optimization targets, drawn in the highlight colour."""
        self.network.set_selection(selected)

    def set_activity(self, table: Any) -> str:
        """table: (N, S) float32 in 0–1 (numpy or a CUDA tensor); see NetworkBuffers."""
        return self.network.set_activity(table)

    def largest_sprite(self, view: glm.mat4, projection: glm.mat4, radius: float, height: int) -> float:
        """An upper bound of the largest neuron's diameter in pixels seen through ``view`` and
        ``projection`` at a viewport ``height`` pixels high (radius: idle radius in world
        units, sphere scale included); inf when the camera is among the neurons (the network's
        bounding sphere reaches the camera's plane)."""
        centre, extent = self.network.bounds()
        x, y, z = (float(c) for c in centre)
        depth = -glm.vec4(view * glm.vec4(x, y, z, 1.0)).z  # (pyglm's stub types mat4 * vec4 wrongly)
        r = radius * MAX_RADIUS_FACTOR
        nearest = depth - extent - r  # the smallest clip w of a sprite's centre
        if nearest <= 0:
            return float("inf")
        return projection[1][1] * r * height / nearest

    def use_sprites(self, mode: str, view: glm.mat4, projection: glm.mat4, radius: float, height: int) -> bool:
        """Whether ``mode`` (a NEURON_MODES) draws sprites for this view: "auto" while every
        sphere fits the driver's points and the camera is outside the network."""
        if mode == "sprites":
            return True
        if mode == "quads":
            return False
        if mode != "auto":
            raise ValueError(f"render.neuron_mode must be one of {', '.join(NEURON_MODES)}, got {mode!r}")
        return self.largest_sprite(view, projection, radius, height) <= self.max_point_size * _SPRITE_MARGIN

    def draw(
        self,
        view: glm.mat4,
        projection: glm.mat4,
        radius: float,
        highlight: np.ndarray,
        sphere_scale: float = 1.0,
        exposure: float = 1.0,
        fog: tuple[float, float, float] = (0.0, 1.0, 0.0),
        mode: str = "auto",
    ) -> None:
        """Draw into the bound framebuffer (and ``ctx.viewport``) from the network's
        ``current`` state (call ``network.update(phase)`` first). radius: idle radius in world
        units; fog: depth fade (start, end, strength) in view-space units; mode: a
        NEURON_MODES."""
        idle = float(radius) * float(sphere_scale)
        height = int(self.ctx.viewport[3])
        sprites = self.use_sprites(mode, view, projection, idle, height)
        program = self.sprite_program if sprites else self.program
        set_uniforms(
            program, u_view=view, u_projection=projection, u_radius=idle, u_exposure=float(exposure),
            u_highlight=tuple(float(c) for c in highlight), u_fog=tuple(float(f) for f in fog),
        )
        self.network.bind()
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.ctx.disable(moderngl.BLEND)
        if sprites:
            set_uniforms(program, u_viewport_height=float(height))
            self.ctx.enable(moderngl.PROGRAM_POINT_SIZE)
            self.sprite_vao.render(moderngl.POINTS, vertices=self.count)
            self.ctx.disable(moderngl.PROGRAM_POINT_SIZE)
        else:
            self.vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=self.count)
        self.drawn_as = "sprites" if sprites else "quads"

    def release(self) -> None:
        for obj in (self.vao, self.sprite_vao, self._quad, self.program, self.sprite_program):
            obj.release()
