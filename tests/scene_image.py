"""Test helper: draw a Scene from a fixed camera into an offscreen target and read it back."""

import numpy as np
from pyglm import glm

from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.offscreen import OffscreenTarget


def scene_image(ctx, scene, activity, size: int, phase: float = 0.0) -> np.ndarray:
    """(size, size, 3) float32 0–1 image of ``scene`` with ``activity`` ((N, S) float), camera at
    distance 2 on +z looking at the origin with a 60° view; releases the scene."""
    scene.camera = OrbitCamera(glm.vec3(0.0), distance=2.0, yaw=0.0, pitch=0.0, fov_y=60.0, near=0.1, far=10.0)
    try:
        scene.set_activity(np.asarray(activity, np.float32))
        with OffscreenTarget(ctx, size, size, samples=0) as target:
            scene.draw(target.fbo, phase)
            return target.read_rgb().astype(np.float32) / 255
    finally:
        scene.release()
