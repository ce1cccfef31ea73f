"""The camera controller: each mouse and keyboard action's effect on the camera pose, in
screen terms where it has one (a point follows the cursor), and independent of frame rate."""

import math

import numpy as np
import pytest
from pyglm import glm

from ear3d.gfx.camera import CameraRig, OrbitCamera
from ear3d.gfx.controller import CameraController

W, H = 800, 600


def controller(smoothing: float = 0.0) -> CameraController:
    home = OrbitCamera(glm.vec3(1.0, 2.0, 3.0), distance=10.0, yaw=0.3, pitch=0.2, fov_y=50.0, near=0.05, far=100.0)
    return CameraController(CameraRig(home, smoothing), (W, H))


def screen(cam: OrbitCamera, point) -> np.ndarray:
    """Window coordinates (from the top-left) of a world point."""
    c = cam.projection(W / H) * cam.view() * glm.vec4(*map(float, point), 1.0)
    return np.array([(c.x / c.w + 1) / 2 * W, (1 - c.y / c.w) / 2 * H])


def world_under(cam: OrbitCamera, x: float, y: float) -> np.ndarray:
    """The world point under (x, y) at the depth of the camera's target."""
    depth = (cam.projection(W / H) * cam.view() * glm.vec4(cam.target, 1.0))
    ndc = glm.vec4(2 * x / W - 1, 1 - 2 * y / H, depth.z / depth.w, 1.0)
    p = glm.inverse(cam.projection(W / H) * cam.view()) * ndc
    return np.array([p.x, p.y, p.z]) / p.w


def drag(c: CameraController, button: str, start, end, steps: int = 5) -> None:
    c.press(button, *start)
    for t in np.linspace(0, 1, steps + 1)[1:]:
        c.move(start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)
    c.release(button, *end)
    c.update(0.016)


def test_left_drag_orbits_around_the_target():
    c = controller()
    before = c.rig.pose
    yaw, pitch, target, distance = before.yaw, before.pitch, glm.vec3(before.target), before.distance
    drag(c, "left", (400, 300), (400 + H / 4, 300))  # a quarter of the height to the right: π/4
    assert c.rig.pose.yaw == pytest.approx((yaw - math.pi / 4) % (2 * math.pi))
    assert c.rig.pose.pitch == pytest.approx(pitch)
    drag(c, "left", (400, 300), (400, 300 + H / 10))  # down: look from higher up
    assert c.rig.pose.pitch == pytest.approx(pitch + math.pi / 10)
    assert c.rig.pose.target == target and c.rig.pose.distance == pytest.approx(distance)


def test_moving_without_a_button_does_nothing_outside_fly_mode():
    c = controller()
    yaw = c.rig.pose.yaw
    c.move(100, 100)
    c.move(300, 200)
    c.update(0.016)
    assert c.rig.pose.yaw == yaw


@pytest.mark.parametrize("button", ["right", "middle"])
def test_pan_keeps_the_grabbed_point_under_the_cursor(button):
    c = controller()
    grabbed = world_under(c.rig.pose, 300, 250)
    drag(c, button, (300, 250), (420, 190))
    assert screen(c.rig.pose, grabbed) == pytest.approx([420, 190], abs=1e-2)
    assert c.rig.pose.yaw == pytest.approx(0.3) and c.rig.pose.distance == pytest.approx(10.0)


def test_wheel_zooms_towards_the_cursor():
    c = controller()
    under = world_under(c.rig.pose, 650, 120)
    c.scroll(2, 650, 120)  # two notches in
    c.update(0.016)
    assert c.rig.pose.distance == pytest.approx(10.0 * 0.85 ** 2)
    assert screen(c.rig.pose, under) == pytest.approx([650, 120], abs=1e-2)  # the point stays put
    c.scroll(-2)  # out again, about the centre: the target stays
    c.update(0.016)
    target = glm.vec3(c.rig.pose.target)
    assert c.rig.pose.distance == pytest.approx(10.0) and c.rig.pose.target == target


def test_held_keys_fly_the_same_way_at_any_frame_rate():
    ends = []
    for fps in (10, 60, 144):
        c = controller(smoothing=0.12)
        c.key_down("W")
        c.key_down("d")
        for _ in range(fps):  # one second
            c.update(1 / fps)
        c.key_up("w")
        c.key_up("d")
        for _ in range(fps):  # released: it stops
            c.update(1 / fps)
        ends.append(np.array(c.rig.pose.target))
    for end in ends[1:]:
        assert end == pytest.approx(ends[0], abs=1e-4)
    start = np.array([1.0, 2.0, 3.0])
    assert np.linalg.norm(ends[0] - start) == pytest.approx(0.25 * 10.0 * math.sqrt(2), rel=1e-4)


def test_fly_keys_move_along_the_view_axes_and_shift_is_faster():
    c = controller()
    cam = c.rig.pose
    ahead = np.array(glm.normalize(cam.target - cam.eye))
    eye = np.array(cam.eye)
    c.key_down("w")
    c.update(1.0)
    assert np.array(c.rig.pose.eye) - eye == pytest.approx(ahead * 2.5, abs=1e-4)  # 0.25 × home distance per s
    c.key_up("w")
    y = c.rig.pose.target.y
    c.key_down("e")
    c.key_down("shift")
    c.update(0.5)
    assert c.rig.pose.target.y - y == pytest.approx(0.5 * 2.5 * 4 * math.cos(0.2), rel=1e-4)  # up, 4× faster
    c.key_up("e")
    c.key_up("shift")
    eye = np.array(c.rig.pose.eye)
    c.key_down("q")
    c.key_down("e")  # opposite keys cancel
    c.update(1.0)
    assert np.array(c.rig.pose.eye) == pytest.approx(eye)


def test_fly_mode_mouse_looks_around_from_where_the_eye_is():
    c = controller()
    assert c.toggle_fly()
    eye = np.array(c.rig.pose.eye)
    ahead_point = np.array(c.rig.pose.target)
    c.move(400, 300)
    c.move(400 + H / 8, 300)  # no button: look right by π/8
    c.update(0.016)
    assert np.array(c.rig.pose.eye) == pytest.approx(eye, abs=1e-4)
    assert screen(c.rig.pose, ahead_point)[0] < W / 2 - 100  # what was ahead is now to the left
    drag(c, "left", (400, 300), (400, 300 - H / 8))  # a drag looks too (up)
    assert np.array(c.rig.pose.eye) == pytest.approx(eye, abs=1e-4)
    assert not c.toggle_fly()


def test_bad_input_is_ignored():
    c = controller()
    pose = c.rig.pose
    yaw, distance = pose.yaw, pose.distance
    c.scroll(float("nan"), 10, 10)
    c.resize(0, 0)  # a minimised window keeps the last size
    c.update(float("nan"))
    c.press("button4", 10, 10)
    c.move(50, 50)
    c.key_down("z")
    c.update(0.1)
    assert c.rig.pose.yaw == yaw and c.rig.pose.distance == distance and c.size == (W, H)


def test_the_scene_moves_its_camera_through_its_controller(gl_context):
    """Scene.advance runs the controller (held keys) with the automatic orbit; the window
    reaches the controller as ``scene.controller``."""
    from ear3d.config import RenderConfig
    from ear3d.gfx.scene import Scene
    from ear3d.palette import load_palette

    cfg = RenderConfig(width=64, height=64, samples=0, camera_smoothing=0.0)
    scene = Scene(gl_context, np.random.default_rng(0).uniform(-1, 1, (20, 3)), np.zeros(20, int),
                  load_palette("default"), cfg)
    try:
        eye = np.array(scene.camera.eye)
        ahead = np.array(glm.normalize(scene.camera.target - scene.camera.eye))
        scene.controller.key_down("w")
        scene.advance(0.5, orbit_speed=0.0)
        step = np.array(scene.camera.eye) - eye
        assert step == pytest.approx(ahead * 0.5 * 0.25 * scene.rig.home.distance, abs=1e-4)
        scene.controller.key_up("w")
        scene.controller.press("left", 10, 10)
        scene.controller.move(26, 10)  # a quarter of the 64-unit height: π/4
        yaw = scene.camera.yaw
        scene.advance(0.1, orbit_speed=1.0)  # plus 0.1 rad of automatic orbit
        assert scene.camera.yaw == pytest.approx((yaw - math.pi / 4 + 0.1) % (2 * math.pi))
    finally:
        scene.release()
