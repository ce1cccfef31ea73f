"""An orbit camera: pure math on pyglm, no GL."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyglm import glm
import numpy as np


@dataclass
class OrbitCamera:
    """Looks at ``target`` from ``distance`` away; yaw around +y, pitch above the xz-plane.

    Angles in radians, distances in world units, ``fov_y`` in degrees.
    """

    target: glm.vec3
    distance: float = 5.0
    yaw: float = 0.6
    pitch: float = 0.35
    fov_y: float = 45.0
    near: float = 0.01
    far: float = 1000.0

    @classmethod
    def framing(cls, positions: np.ndarray, aspect: float = 16 / 9, fov_y: float = 45.0, margin: float = 1.1) -> "OrbitCamera":
        """A camera whose view at ``aspect`` (width / height) holds every point of
        ``positions`` ((N, 3) float32), seen from the front-left and a little above."""
        if positions.size == 0 or not np.isfinite(positions).all():
            return cls(glm.vec3(0.0), fov_y=fov_y)
        centre = (positions.min(axis=0) + positions.max(axis=0)) / 2
        rel = positions - centre
        r_side = float(np.linalg.norm(rel[:, [0, 2]], axis=1).max())  # any yaw keeps it within this
        r_up = float(np.abs(rel[:, 1]).max())
        half_y = math.radians(fov_y) / 2
        half_x = math.atan(math.tan(half_y) * aspect)
        distance = margin * max(r_side / math.tan(half_x), r_up / math.tan(half_y)) + 0.3 * r_side
        distance = distance or 1.0
        return cls(
            glm.vec3(*map(float, centre)), distance=distance, yaw=0.45, pitch=0.3,
            fov_y=fov_y, near=distance / 1000, far=distance * 10,
        )

    @property
    def eye(self) -> glm.vec3:
        cp = math.cos(self.pitch)
        offset = glm.vec3(cp * math.sin(self.yaw), math.sin(self.pitch), cp * math.cos(self.yaw))
        return self.target + offset * self.distance

    def view(self) -> glm.mat4:
        return glm.lookAt(self.eye, self.target, glm.vec3(0.0, 1.0, 0.0))

    def projection(self, aspect: float) -> glm.mat4:
        if not aspect > 0 or not math.isfinite(aspect):
            raise ValueError(f"aspect ratio must be a positive number, got {aspect}")
        return glm.perspective(math.radians(self.fov_y), aspect, self.near, self.far)

    def orbit(self, d_yaw: float, d_pitch: float = 0.0) -> None:
        """Turn around the target; pitch stays short of the poles so 'up' stays defined."""
        self.yaw = (self.yaw + d_yaw) % (2 * math.pi)
        self.pitch = max(-1.5, min(1.5, self.pitch + d_pitch))

    def zoom(self, factor: float) -> None:
        self.distance = max(self.near * 10, self.distance * factor)
