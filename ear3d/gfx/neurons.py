"""The neuron pass: instanced sphere impostors lit by activity (shaders/neurons.glsl).

Positions, activity, colours and the selection live in :class:`NetworkBuffers`; this pass
owns only the quad and the program, and sets uniforms per frame.
"""

from __future__ import annotations

from typing import Any

import moderngl
import numpy as np
from pyglm import glm

from ear3d.gfx.network import NetworkBuffers
from ear3d.gfx.shaders import load_program, set_uniforms

_QUAD = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], np.float32)  # triangle strip


class NeuronPass:
    """Draws the N neurons of ``network`` as lit spheres."""

    def __init__(self, ctx: moderngl.Context, network: NetworkBuffers):
        self.ctx = ctx
        self.network = network
        self.program = load_program(ctx, "neurons")
        self._quad = ctx.buffer(_QUAD.tobytes())
        self.vao = ctx.vertex_array(self.program, [(self._quad, "2f", "in_corner")])

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

    def draw(
        self,
        view: glm.mat4,
        projection: glm.mat4,
        radius: float,
        highlight: np.ndarray,
        sphere_scale: float = 1.0,
        exposure: float = 1.0,
        fog: tuple[float, float, float] = (0.0, 1.0, 0.0),
    ) -> None:
        """Draw into the bound framebuffer from the network's ``current`` state (call
        ``network.update(phase)`` first). radius: idle radius in world units; fog: depth
        fade (start, end, strength) in view-space units."""
        set_uniforms(
            self.program, u_view=view, u_projection=projection, u_radius=float(radius),
            u_sphere_scale=float(sphere_scale), u_exposure=float(exposure),
            u_highlight=tuple(float(c) for c in highlight), u_fog=tuple(float(f) for f in fog),
        )
        self.network.bind()
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.ctx.disable(moderngl.BLEND)
        self.vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=self.count)

    def release(self) -> None:
        for obj in (self.vao, self._quad, self.program):
            obj.release()
