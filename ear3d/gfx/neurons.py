"""The neuron pass: instanced sphere impostors lit by activity (shaders/neurons.glsl).

Positions, colours and the selection are uploaded once (or when they change); the activity
table once per new activation frame; per frame only uniforms change.
"""

from __future__ import annotations

from pyglm import glm
import moderngl
import numpy as np

from ear3d.gfx.shaders import load_program

_QUAD = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], np.float32)  # triangle strip


class NeuronPass:
    """Draws N neurons. positions: (N, 3) float32 world units; colors: (N, 3) float32 0–1."""

    def __init__(self, ctx: moderngl.Context, positions: np.ndarray, colors: np.ndarray):
        positions = np.ascontiguousarray(positions, np.float32)
        colors = np.ascontiguousarray(colors, np.float32)
        n = len(positions)
        if n == 0:
            raise ValueError("nothing to draw: the neuron table is empty")
        if positions.shape != (n, 3) or colors.shape != (n, 3):
            raise ValueError(f"positions and colors must both be (N, 3); got {positions.shape} and {colors.shape}")
        bad = int((~np.isfinite(positions)).any(axis=1).sum())
        if bad:
            raise ValueError(f"{bad} of {n} neuron positions are NaN or infinite")
        self.ctx = ctx
        self.count = n
        self.steps = 1
        self.program = load_program(ctx, "neurons")
        self._quad = ctx.buffer(_QUAD.tobytes())
        self._instances = ctx.buffer(np.hstack([positions, colors, np.zeros((n, 1), np.float32)]).tobytes())
        self._activity = ctx.buffer(reserve=4 * n)
        self._activity.write(np.zeros(n, np.float32).tobytes())
        self.vao = ctx.vertex_array(
            self.program,
            [(self._quad, "2f", "in_corner"), (self._instances, "3f 3f 1f/i", "in_position", "in_color", "in_selected")],
        )

    def set_selection(self, selected: np.ndarray) -> None:
        """selected: (N,) bool — the optimization targets, drawn in the highlight colour."""
        sel = np.asarray(selected, bool)
        if sel.shape != (self.count,):
            raise ValueError(f"selection must have shape ({self.count},), got {sel.shape}")
        data = np.frombuffer(self._instances.read(), np.float32).reshape(self.count, 7).copy()
        data[:, 6] = sel
        self._instances.write(data.tobytes())

    def set_activity(self, table: np.ndarray) -> None:
        """table: (N, S) float32 in 0–1, S time steps over the loop."""
        table = np.ascontiguousarray(table, np.float32)
        if table.ndim != 2 or table.shape[0] != self.count or table.shape[1] < 1:
            raise ValueError(f"activity table must be ({self.count}, S ≥ 1), got {table.shape}")
        if self._activity.size != table.nbytes:
            self._activity.orphan(table.nbytes)
        self._activity.write(table.tobytes())
        self.steps = table.shape[1]

    def draw(
        self,
        view: glm.mat4,
        projection: glm.mat4,
        phase: float,
        radius: float,
        highlight: np.ndarray,
        sphere_scale: float = 1.0,
        exposure: float = 1.0,
    ) -> None:
        """Draw into the bound framebuffer at loop position ``phase`` (0–1)."""
        p = self.program
        p["u_view"].write(view)
        p["u_projection"].write(projection)
        p["u_phase"].value = float(phase % 1.0) if np.isfinite(phase) else 0.0
        p["u_steps"].value = self.steps
        p["u_radius"].value = radius
        p["u_sphere_scale"].value = sphere_scale
        p["u_exposure"].value = exposure
        p["u_highlight"].value = tuple(float(c) for c in highlight)
        self._activity.bind_to_storage_buffer(0)
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=self.count)

    def release(self) -> None:
        for obj in (self.vao, self._quad, self._instances, self._activity, self.program):
            obj.release()
