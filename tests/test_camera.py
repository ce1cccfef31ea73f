"""Camera math without GL: framing, orbit and free-fly with smoothing, eased flights, reset,
field of view."""

import math

import numpy as np
import pytest
from pyglm import glm

from ear3d.gfx.camera import FOV_RANGE, CameraRig, OrbitCamera


def project(cam: OrbitCamera, points: np.ndarray, aspect: float) -> np.ndarray:
    """Points (M, 3) → normalised device coordinates (M, 3)."""
    m = cam.projection(aspect) * cam.view()
    out = []
    for p in points:
        c = m * glm.vec4(*map(float, p), 1.0)
        out.append([c.x / c.w, c.y / c.w, c.z / c.w])
    return np.array(out)


def home() -> OrbitCamera:
    return OrbitCamera(glm.vec3(0.0), distance=10.0, yaw=0.0, pitch=0.0, fov_y=45.0)


def test_framing_keeps_every_point_in_view():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(500, 3)).astype(np.float32) * [3.0, 1.0, 0.5] + [10, -2, 4]
    cam = OrbitCamera.framing(pts, aspect=16 / 9)
    for yaw in np.linspace(0, 2 * math.pi, 7):  # any orbit keeps it framed
        cam.yaw = float(yaw)
        ndc = project(cam, pts, 16 / 9)
        assert np.abs(ndc[:, :2]).max() < 1.0 and (np.abs(ndc[:, 2]) < 1.0).all()


def test_smoothing_approaches_the_goal_gradually():
    rig = CameraRig(home(), smoothing=0.1)
    rig.orbit(1.0)
    assert rig.pose.yaw == 0.0 and rig.goal.yaw == pytest.approx(1.0)
    rig.update(0.1)  # one time constant: 1 − 1/e of the way
    assert rig.pose.yaw == pytest.approx(1 - math.exp(-1), rel=1e-4)
    for _ in range(20):
        rig.update(0.05)
    assert rig.pose.yaw == pytest.approx(1.0, abs=1e-3)


def test_smoothing_is_frame_rate_independent():
    a, b = CameraRig(home(), 0.2), CameraRig(home(), 0.2)
    a.zoom(0.5)
    b.zoom(0.5)
    a.update(0.2)
    for _ in range(10):
        b.update(0.02)
    assert a.pose.distance == pytest.approx(b.pose.distance, rel=1e-5)


def test_no_smoothing_follows_at_once():
    rig = CameraRig(home(), smoothing=0.0)
    rig.orbit(0.5, 0.2)
    rig.update(0.016)
    assert (rig.pose.yaw, rig.pose.pitch) == pytest.approx((0.5, 0.2))


def test_orbit_takes_the_short_way_round():
    start = home()
    start.yaw = 6.2
    rig = CameraRig(start, smoothing=0.1)
    rig.orbit(0.2)  # 6.4 → wraps to 0.117
    rig.update(0.1)
    assert rig.pose.yaw > 6.2 or rig.pose.yaw < 0.2  # never swings back through π


def test_free_fly_look_keeps_the_eye_and_turns_the_view():
    rig = CameraRig(home(), smoothing=0.0)
    eye = glm.vec3(rig.pose.eye)
    ahead = glm.normalize(rig.pose.target - rig.pose.eye)
    rig.look(0.4, -0.1)
    rig.update(0.016)
    assert glm.distance(rig.pose.eye, eye) < 1e-4
    assert glm.dot(glm.normalize(rig.pose.target - rig.pose.eye), ahead) < 0.99


def test_free_fly_move_translates_eye_and_target_along_the_view():
    rig = CameraRig(home(), smoothing=0.0)
    eye, target = glm.vec3(rig.pose.eye), glm.vec3(rig.pose.target)
    ahead = glm.normalize(target - eye)
    rig.move(2.0, right=1.0)
    rig.update(0.016)
    shift = rig.pose.eye - eye
    assert glm.distance(shift, rig.pose.target - target) < 1e-4  # both moved together
    assert glm.dot(shift, ahead) == pytest.approx(2.0, abs=1e-4)
    assert glm.length(shift) == pytest.approx(math.sqrt(5.0), abs=1e-4)


def test_flight_is_eased_and_arrives():
    rig = CameraRig(home(), smoothing=0.1)
    end = OrbitCamera(glm.vec3(4.0, 0.0, 0.0), distance=2.0, yaw=1.0, pitch=0.5, fov_y=45.0)
    rig.fly_to(end, duration=2.0)
    rig.update(0.02)
    early = glm.distance(rig.pose.target, glm.vec3(0.0))
    assert 0 < early < 4.0 * 0.001  # starts gently (zero velocity at the start)
    rig.update(0.98)
    assert glm.distance(rig.pose.target, glm.vec3(2.0, 0.0, 0.0)) < 1e-4  # half the time, half the way
    assert rig.pose.distance == pytest.approx(math.sqrt(10.0 * 2.0), rel=1e-4)  # zoom is geometric
    rig.update(1.5)
    assert not rig.flying
    assert glm.distance(rig.pose.target, end.target) < 1e-5 and rig.pose.distance == pytest.approx(2.0)
    assert (rig.pose.yaw, rig.pose.pitch) == pytest.approx((1.0, 0.5))


def test_input_during_a_flight_takes_over_where_the_camera_is():
    rig = CameraRig(home(), smoothing=0.1)
    rig.fly_to(OrbitCamera(glm.vec3(4.0, 0.0, 0.0), distance=2.0), duration=1.0)
    rig.update(0.5)
    where = glm.vec3(rig.pose.target)
    rig.orbit(0.1)
    assert not rig.flying
    rig.update(10.0)
    assert glm.distance(rig.pose.target, where) < 1e-5  # it stopped, it did not jump to the end


def test_focus_frames_the_selected_neurons_from_the_current_side():
    rig = CameraRig(home(), smoothing=0.0)
    rig.orbit(0.7)
    rig.update(0.0)
    rig.update(0.01)
    pts = np.array([[5.0, 1.0, 0.0], [5.4, 1.2, 0.3], [4.8, 0.9, -0.2]], np.float32)
    rig.focus(pts, duration=1.0, aspect=1.5)
    assert rig.flying
    rig.update(1.0)
    centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
    assert glm.distance(rig.pose.target, glm.vec3(*map(float, centre))) < 1e-4
    assert rig.pose.yaw == pytest.approx(0.7)
    ndc = project(rig.pose, pts, 1.5)
    assert np.abs(ndc[:, :2]).max() < 1.0


def test_focus_on_nothing_stays_put():
    rig = CameraRig(home())
    rig.focus(np.zeros((0, 3)))
    rig.focus(np.full((2, 3), np.nan))
    assert not rig.flying


def test_reset_flies_home():
    rig = CameraRig(home(), smoothing=0.0)
    rig.move(3.0)
    rig.zoom(0.3)
    rig.update(0.1)
    rig.reset(duration=0.5)
    rig.update(0.6)
    assert glm.distance(rig.pose.target, glm.vec3(0.0)) < 1e-5 and rig.pose.distance == pytest.approx(10.0)


def test_field_of_view_is_clamped_and_smoothed():
    rig = CameraRig(home(), smoothing=0.1)
    rig.set_fov(500)
    assert rig.goal.fov_y == FOV_RANGE[1]
    rig.update(0.1)
    assert 45.0 < rig.pose.fov_y < FOV_RANGE[1]
    rig.set_fov(-3)
    assert rig.goal.fov_y == FOV_RANGE[0]


def test_spin_turns_pose_and_goal_together():
    rig = CameraRig(home(), smoothing=0.5)
    rig.spin(0.3)
    assert rig.pose.yaw == pytest.approx(0.3) and rig.goal.yaw == pytest.approx(0.3)


@pytest.mark.parametrize("dt", [math.nan, math.inf, -1.0])
def test_bad_time_steps_change_nothing(dt):
    rig = CameraRig(home(), smoothing=0.1)
    rig.orbit(1.0)
    rig.update(dt)
    assert rig.pose.yaw == 0.0


def test_projection_refuses_a_degenerate_aspect():
    with pytest.raises(ValueError, match="aspect ratio must be a positive number"):
        home().projection(0.0)
