"""The per-pass timer: off by default, and when attached a breakdown of every pass of a
frame, each positive, that leaves the picture as it was."""

import numpy as np
import pytest
from pyglm import glm

from ear3d.config import RenderConfig
from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.offscreen import OffscreenTarget
from ear3d.gfx.pass_timer import PASSES, PassTimer, timed
from ear3d.gfx.scene import Scene
from ear3d.palette import load_palette


def _scene(ctx, mode):
    rng = np.random.default_rng(0)
    frames = rng.uniform(-0.7, 0.7, (2, 30, 3)).astype(np.float32)
    cfg = RenderConfig(width=80, height=60, samples=4, edge_mode=mode, bloom=0.8)
    scene = Scene(ctx, frames, np.arange(30) % 4, load_palette("default"), cfg, rng.integers(0, 30, (300, 2)),
                  rng.normal(size=300))
    scene.camera = OrbitCamera(glm.vec3(0.0), distance=2.0, yaw=0.3, pitch=0.2, fov_y=60.0, near=0.1, far=10.0)
    return scene, rng.random((30, 6)).astype(np.float32)


@pytest.mark.parametrize("mode", ["lines", "compute"])
def test_breakdown_names_every_pass_with_a_positive_time(gl_context, mode):
    scene, activity = _scene(gl_context, mode)
    try:
        assert scene.renderer.timer is None  # off unless attached
        with OffscreenTarget(gl_context, 80, 60, samples=0) as target:
            scene.set_activity(activity)
            scene.draw(target.fbo, 0.3)
            untimed = target.read_rgb()
            timer = PassTimer(gl_context)
            scene.renderer.timer = timer
            timer.reset()
            scene.set_activity(activity)
            scene.draw(target.fbo, 0.3)
            timed_picture = target.read_rgb()
        breakdown = timer.read()
        assert list(breakdown) == list(PASSES)  # every pass, in frame order
        assert all(0 < seconds < 60 for seconds in breakdown.values()), breakdown
        assert np.array_equal(untimed, timed_picture)  # measuring does not change the frame
        timer.reset()
        assert timer.read() == {}
    finally:
        scene.release()


def test_timed_is_a_no_op_without_a_timer():
    with timed(None, "edges"):
        pass
    assert timed(None, "edges") is timed(None, "bloom")  # one shared no-op: nothing made per pass
