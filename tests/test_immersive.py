"""Immersive outputs (ear3d.gfx.display): each mode draws a known scene headless and the
markers land where the projection puts them — stereo disparity from the off-axis pair, the
dome's centre, rim and field of view, the panorama's centre, edges and level horizon, the
omni-directional stereo offsets — and every mode shows edges and the selection."""

import math

import numpy as np
import pytest
from pyglm import glm

from ear3d.config import DISPLAY_MODES, ConfigError, RenderConfig, load
from ear3d.control.params import Parameters, live_specs
from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.offscreen import OffscreenTarget
from ear3d.gfx.projection import (
    camera_frame,
    dome_faces,
    equirect_directions,
    expected_ndc_x,
    fisheye_directions,
    stereo_eyes,
)
from ear3d.gfx.scene import Scene
from ear3d.palette import Palette

#: Layer 0 red, 1 green, 2 blue, 3 white; highlight magenta.
COLOURS = Palette("markers", np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], np.float32),
                  np.array([1, 0, 1], np.float32))
DISTANCE = 4.0


def render(ctx, positions, layers, mode, size, pitch=0.0, edges=None, weights=None, selected=None, **config):
    """(H, W, 3) float32 0–1 picture of neurons at ``positions`` seen from a camera at
    DISTANCE on +z looking at the origin (60° view), in display ``mode``; no bloom or fog
    unless asked (markers stay crisp)."""
    positions = np.asarray(positions, np.float32)
    w, h = size
    cfg = RenderConfig(width=w, height=h, background="#000000", sphere_radius=0.12, samples=0, vignette=0.0,
                       bloom=config.pop("bloom", 0.0), fog=0.0, display=mode,
                       edge_mode=config.pop("edge_mode", "lines"), **config)
    scene = Scene(ctx, positions, np.asarray(layers), COLOURS, cfg, edges, weights)
    try:
        scene.camera = OrbitCamera(glm.vec3(0.0), distance=DISTANCE, yaw=0.0, pitch=pitch, fov_y=60.0, near=0.05,
                                   far=50.0)
        scene.look.sphere_scale = 0.5  # activity 1 doubles the radius: 0.12 world units
        scene.set_activity(np.ones((len(positions), 1), np.float32))
        if selected is not None:
            scene.set_selection(np.asarray(selected, bool))
        with OffscreenTarget(ctx, w, h, samples=0) as target:
            scene.draw(target.fbo, 0.0)
            return target.read_rgb().astype(np.float32) / 255
    finally:
        scene.release()


def centroid(img, channel, region=None):
    """(x, y) in pixels (top-left origin, pixel centres at +0.5) of the light in ``channel``
    (0 r, 1 g, 2 b) that the other channels do not have, within ``region`` (y0, y1, x0, x1)."""
    y0, y1, x0, x1 = region or (0, img.shape[0], 0, img.shape[1])
    part = img[y0:y1, x0:x1]
    others = [c for c in range(3) if c != channel]
    mass = np.clip(part[..., channel] - part[..., others].max(axis=-1), 0, None)
    mass = np.where(mass > 0.2, mass, 0.0)
    assert mass.sum() > 0, f"no marker of channel {channel} in region {region}"
    ys, xs = np.mgrid[y0:y1, x0:x1] + 0.5
    return float((xs * mass).sum() / mass.sum()), float((ys * mass).sum() / mass.sum())


# -- stereo -------------------------------------------------------------------------------------

# Red on the convergence plane (the target's distance), green twice as far, both straight ahead
# horizontally (x = 0), one above and one below the centre so they do not hide each other.
STEREO_SCENE = ([[0, 0.5, 0], [0, -1.0, -DISTANCE]], [0, 1])
SEPARATION = 0.1  # of the distance: 0.4 world units


@pytest.mark.parametrize("mode, size", [("sbs", (256, 128)), ("sbs-half", (256, 128)), ("top-bottom", (128, 256))])
def test_stereo_eyes_see_the_off_axis_disparity(gl_context, mode, size):
    img = render(gl_context, *STEREO_SCENE, mode, size, eye_separation=SEPARATION, convergence=1.0)
    w, h = size
    if mode == "top-bottom":
        eyes = {"left": (0, h // 2, 0, w), "right": (h // 2, h, 0, w)}  # left eye on top
        eye_w, eye_h, aspect = w, h // 2, w / (h // 2)
    else:
        eyes = {"left": (0, h, 0, w // 2), "right": (0, h, w // 2, w)}
        eye_w, eye_h = w // 2, h
        aspect = w / h if mode == "sbs-half" else (w // 2) / h
    s = SEPARATION * DISTANCE / 2
    for name, (y0, y1, x0, x1) in eyes.items():
        offset = -s if name == "left" else s
        for channel, depth, upper in ((0, DISTANCE, True), (1, 2 * DISTANCE, False)):
            half = (y0, (y0 + y1) // 2, x0, x1) if upper else ((y0 + y1) // 2, y1, x0, x1)
            x, _ = centroid(img, channel, half)
            ndc = expected_ndc_x(offset, depth, DISTANCE, 60.0, aspect)
            assert x - x0 == pytest.approx((ndc + 1) / 2 * eye_w, abs=0.75), (name, channel)
    # on the convergence plane both eyes agree; beyond it the left eye sees the marker further left
    left_far, right_far = (centroid(img, 1, (y0, y1, x0, x1))[0] - x0 for y0, y1, x0, x1 in eyes.values())
    assert left_far < right_far - 2
    assert eye_h > 0


def test_anaglyph_red_is_the_left_eye_and_cyan_the_right(gl_context):
    # a full side-by-side frame twice as wide has eyes of the anaglyph's size and aspect
    scene = ([[0, 0, 0], [0.6, 0.3, -DISTANCE], [-0.9, -0.5, 1.0]], [3, 3, 3])
    pair = render(gl_context, *scene, "sbs", (192, 96), eye_separation=0.15, convergence=1.0, bloom=0.8)
    anaglyph = render(gl_context, *scene, "anaglyph", (96, 96), eye_separation=0.15, convergence=1.0, bloom=0.8)
    left, right = pair[:, :96], pair[:, 96:]
    assert np.abs(left - right).max() > 0.5  # the eyes differ: the test can tell them apart
    np.testing.assert_allclose(anaglyph[..., 0], left[..., 0], atol=1 / 255)
    np.testing.assert_allclose(anaglyph[..., 1:], right[..., 1:], atol=1 / 255)


def test_dubois_anaglyph_keeps_colour_unlike_red_cyan(gl_context):
    # a green marker on the zero-parallax plane: red-cyan shows it to the cyan eye only (the
    # red eye sees just its white highlight), Dubois' matrices send part of green to the red eye
    scene = ([[0, 0, 0]], [1])
    plain = render(gl_context, *scene, "anaglyph", (64, 64))
    dubois = render(gl_context, *scene, "anaglyph-dubois", (64, 64))
    marker = plain[..., 1] > 0.2
    assert dubois[..., 0][marker].mean() > 2 * plain[..., 0][marker].mean() + 0.1


def test_stereo_pair_is_parallel_with_zero_parallax_at_convergence():
    cam = OrbitCamera(glm.vec3(0.0), distance=5.0, yaw=0.4, pitch=0.2, fov_y=50.0, near=0.1, far=100.0)
    left, right = stereo_eyes(cam, 1.5, 0.1, 1.0)
    focus = glm.vec4(cam.target, 1.0)
    for eye in (left, right):
        clip = eye.projection * eye.view * focus
        assert clip.x / clip.w == pytest.approx(0.0, abs=1e-5)
        axis = [eye.view[i][2] for i in range(3)]
        assert axis == pytest.approx([cam.view()[i][2] for i in range(3)])  # the camera's view axis: no toe-in
    assert glm.distance(left.position, right.position) == pytest.approx(0.5)


# -- dome ---------------------------------------------------------------------------------------


def test_dome_puts_the_view_direction_at_the_centre_and_black_outside(gl_context):
    img = render(gl_context, [[0, 0, 0]], [0], "dome", (128, 128))
    x, y = centroid(img, 0)
    assert (x, y) == pytest.approx((64, 64), abs=0.75)
    assert img[:6, :6].max() == 0 and img[-6:, -6:].max() == 0  # corners outside the circle


@pytest.mark.parametrize("fov", [210.0, 240.0])
def test_dome_field_of_view_spans_the_circle(gl_context, fov):
    # green 90° to the right of the view direction, blue 90° up: each straight along a cube
    # face's axis (a sphere impostor off a face's axis leans outward a little)
    eye = np.array([0, 0, DISTANCE])
    img = render(gl_context, [[0, 0, 0], eye + [2.0, 0, 0], eye + [0, 2.0, 0]], [0, 1, 2], "dome", (160, 160),
                 dome_fov=fov)
    rim = 80 * 90 / (fov / 2)
    assert centroid(img, 1) == pytest.approx((80 + rim, 80), abs=0.75)
    assert centroid(img, 2) == pytest.approx((80, 80 - rim), abs=0.75)  # up is up in the domemaster


def test_dome_tilted_90_degrees_puts_the_horizon_at_the_rim(gl_context):
    img = render(gl_context, [[0, 0, 0]], [0], "dome", (128, 128), dome_tilt=90.0)
    x, y = centroid(img, 0)
    assert x == pytest.approx(64, abs=0.75)
    assert y == pytest.approx(128, abs=4)  # the view direction at the bottom rim (domemaster front)


def test_a_180_degree_dome_draws_five_faces():
    assert dome_faces(180.0) == [0, 1, 2, 3, 5]  # never the face behind it (+Z, local)
    assert dome_faces(300.0) == [0, 1, 2, 3, 4, 5]


# -- equirectangular ------------------------------------------------------------------------------


def test_equirect_centre_is_ahead_and_its_edges_are_behind(gl_context):
    eye = np.array([0, 0, DISTANCE])
    pos = [[0, 0, 0], eye + [0, 0, 3.0], eye + [3.0, 0, 0], eye + [0, 3 * math.sin(0.6), -3 * math.cos(0.6)]]
    img = render(gl_context, pos, [0, 1, 2, 3], "equirect", (256, 128))
    assert centroid(img, 0) == pytest.approx((128, 64), abs=0.75)
    left_edge, right_edge = img[:, :8, 1].max(), img[:, -8:, 1].max()
    assert left_edge > 0.5 and right_edge > 0.5  # behind: split over the left and right edges
    _, y = centroid(img, 1, (0, 128, 0, 8))
    assert y == pytest.approx(64, abs=0.75)
    assert centroid(img, 2) == pytest.approx((192, 64), abs=0.75)  # 90° right: three quarters across
    mass = img[..., :].min(axis=-1)  # white: 0.6 rad above the horizon, straight ahead
    ys, xs = np.nonzero(mass > 0.3)
    assert ys.mean() + 0.5 == pytest.approx(64 - 0.6 / math.pi * 128, abs=1.0)
    assert xs.mean() + 0.5 == pytest.approx(128, abs=1.0)


def test_equirect_keeps_the_horizon_level_when_the_camera_looks_down(gl_context):
    img = render(gl_context, [[0, 0, 0]], [0], "equirect", (256, 128), pitch=0.3)
    x, y = centroid(img, 0)
    assert x == pytest.approx(128, abs=0.75)
    assert y == pytest.approx(64 + 0.3 / math.pi * 128, abs=1.0)  # the target below the horizon


def test_equirect_stereo_offsets_both_eyes_the_same_way_ahead_and_behind(gl_context):
    # ODS: a marker ahead and one behind at the same distance have the same disparity (a pair
    # of per-eye cube maps would invert it behind)
    eye = np.array([0, 0, DISTANCE])
    pos = [[0, 0, 0], eye + [0, 0, DISTANCE]]
    separation = 0.2
    img = render(gl_context, pos, [0, 1], "equirect-stereo", (256, 256), eye_separation=separation)
    shift = math.atan(separation * DISTANCE / 2 / DISTANCE) / (2 * math.pi) * 256  # pixels
    for name, (y0, y1), sign in (("left", (0, 128), 1), ("right", (128, 256), -1)):  # left eye on top
        x, y = centroid(img, 0, (y0, y1, 0, 256))
        assert x - 128 == pytest.approx(sign * shift, abs=0.75), name
        assert y - y0 == pytest.approx(64, abs=0.75)
        x, _ = centroid(img, 1, (y0, y1, 0, 64) if sign > 0 else (y0, y1, 192, 256))
        assert (x if sign > 0 else x - 256) == pytest.approx(sign * shift, abs=0.75), name


def test_projection_reference_matches_the_known_points():
    ahead = equirect_directions(np.array([0.5, 0.5]))
    assert ahead == pytest.approx([0, 0, -1])
    assert equirect_directions(np.array([0.0, 0.5])) == pytest.approx([0, 0, 1], abs=1e-12)
    assert equirect_directions(np.array([0.5, 1.0])) == pytest.approx([0, 1, 0], abs=1e-12)
    d, inside = fisheye_directions(np.array([[0.5, 0.5], [1.0, 0.5], [1.0, 1.0]]), 180.0)
    assert d[0] == pytest.approx([0, 0, -1]) and d[1] == pytest.approx([1, 0, 0], abs=1e-12)
    assert list(inside) == [True, True, False]
    frame = camera_frame(OrbitCamera(glm.vec3(0.0), 3.0, 0.0, 0.0))
    assert list(frame.forward) == pytest.approx([0, 0, -1])


# -- everything the flat view has ------------------------------------------------------------------


@pytest.mark.parametrize("mode", DISPLAY_MODES)
@pytest.mark.parametrize("edge_mode", ["lines", "compute"])
def test_every_mode_draws_edges_and_the_selection(gl_context, mode, edge_mode):
    size = {"dome": (128, 128), "equirect": (256, 128), "equirect-stereo": (256, 256)}.get(mode, (128, 64))
    pos = [[-1.0, 0.3, 0], [1.0, -0.3, 0]]
    edges, weights = np.array([[0, 1]]), np.array([1.0])
    common = {"edge_mode": edge_mode, "edge_gain": 3.0, "edge_cull": 0.0, "bloom": 0.8}
    bare = render(gl_context, pos, [1, 1], mode, size, **common)
    lit = render(gl_context, pos, [1, 1], mode, size, edges=edges, weights=weights, **common)
    chosen = render(gl_context, pos, [1, 1], mode, size, edges=edges, weights=weights, selected=[True, False],
                    **common)
    assert lit.sum() > bare.sum() * 1.05, "the edge adds light"
    def magenta(img):  # the highlight (green neurons otherwise; their white glints are few)
        return int(((img[..., 0] > 0.5) & (img[..., 2] > 0.5)).sum())

    assert magenta(chosen) >= magenta(lit) + 4, "the selection shows"


# -- settings ---------------------------------------------------------------------------------------


def test_display_is_a_config_choice_and_a_live_parameter():
    assert load(None, ['render.display="dome"', "render.dome_fov=210"]).render.dome_fov == 210
    with pytest.raises(ConfigError, match="render.display"):
        load(None, ['render.display="hologram"'])
    params = Parameters(live_specs())
    spec = params.spec("display")
    assert spec.choices == DISPLAY_MODES
    params.set("display", "equirect")
    assert spec.choice(params.get("display")) == "equirect"
