"""Real OpenGL through EGL (Mesa llvmpipe here): shaders compile, tiny scenes light the right pixels."""

import numpy as np
import pytest
from pyglm import glm

from ear3d.config import RenderConfig
from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.offscreen import OffscreenTarget
from ear3d.gfx.scene import Scene
from ear3d.gfx.shaders import ShaderError, all_shader_names, load_program
from ear3d.palette import Palette, load_palette

from scene_image import scene_image

RED_GREEN = Palette("test", np.array([[1, 0, 0], [0, 1, 0]], np.float32), np.array([0, 1, 1], np.float32))
SIZE = 64
BACKGROUND = "#000000"


def render(ctx, positions, layer, activity, phase=0.0, selected=None, radius=0.1, neuron_mode="auto"):
    cfg = RenderConfig(width=SIZE, height=SIZE, background=BACKGROUND, sphere_radius=radius, samples=0,
                       neuron_mode=neuron_mode)
    scene = Scene(ctx, np.asarray(positions, np.float32), np.asarray(layer), RED_GREEN, cfg)
    scene.camera = OrbitCamera(glm.vec3(0.0), distance=2.0, yaw=0.0, pitch=0.0, fov_y=60.0, near=0.1, far=10.0)
    scene.neurons.set_activity(np.asarray(activity, np.float32))
    if selected is not None:
        scene.neurons.set_selection(np.asarray(selected))
    with OffscreenTarget(ctx, SIZE, SIZE, samples=0) as target:
        scene.draw(target.fbo, phase)
        img = target.read_rgb().astype(np.float32) / 255
    scene.release()
    return img


def lit(img, threshold=0.02):
    return img.max(axis=2) > threshold


def test_context_is_gl43_or_newer(gl_context):
    assert gl_context.version_code >= 430
    assert gl_context.info["GL_RENDERER"]


@pytest.mark.parametrize("name", all_shader_names())
def test_every_shader_compiles(gl_context, name):
    program = load_program(gl_context, name)
    program.release()


def test_shader_error_names_file_and_line(gl_context, tmp_path, monkeypatch):
    (tmp_path / "shaders").mkdir()
    bad = tmp_path / "shaders" / "broken.glsl"
    bad.write_text(
        "#version 430 core\n#if defined VERTEX_SHADER\nvoid main() {\n  gl_Position = vec4(0.0);\n}\n"
        "#elif defined FRAGMENT_SHADER\nout vec4 c;\nvoid main() {\n  c = vec4(undefined_thing);\n}\n#endif\n"
    )
    monkeypatch.setenv("EAR3D_HOME", str(tmp_path))
    with pytest.raises(ShaderError) as err:
        load_program(gl_context, "broken")
    assert f"{bad}:9:" in str(err.value)  # the line of `undefined_thing` in the file


def test_sphere_lights_expected_pixels(gl_context):
    img = render(gl_context, [[0, 0, 0]], [0], [[1.0]])
    mask = lit(img)
    ys, xs = np.nonzero(mask)
    assert mask.sum() > 20
    # centred: the sphere is at the origin, the camera looks at it
    assert abs(xs.mean() - (SIZE - 1) / 2) < 1.5 and abs(ys.mean() - (SIZE - 1) / 2) < 1.5
    # red layer colour where the sphere is, background elsewhere
    centre = img[SIZE // 2, SIZE // 2]
    assert centre[0] > 0.5 and centre[1] < 0.2 and centre[2] < 0.3
    assert img[0, 0].max() == 0 and img[-1, -1].max() == 0


def test_sphere_at_known_place(gl_context):
    # x = +0.5 at distance 2 with a 60° view: right of centre by about 0.5 / tan(30°) / 2 of the width
    img = render(gl_context, [[0.5, 0, 0]], [1], [[1.0]])
    ys, xs = np.nonzero(lit(img))
    expected_x = (SIZE / 2) * (1 + 0.5 / (2 * np.tan(np.radians(30))))
    assert abs(xs.mean() - expected_x) < 2.0
    assert img[ys[0], xs[0]][1] > img[ys[0], xs[0]][0]  # green: layer 1's colour


def test_brighter_activation_gives_brighter_larger_sphere(gl_context):
    quiet = render(gl_context, [[0, 0, 0]], [0], [[0.1]])
    loud = render(gl_context, [[0, 0, 0]], [0], [[1.0]])
    assert lit(loud).sum() > 1.5 * lit(quiet).sum()
    assert loud[lit(loud)].max(axis=1).mean() > 1.3 * quiet[lit(quiet)].max(axis=1).mean()


def test_selected_neuron_shows_highlight(gl_context):
    img = render(gl_context, [[-0.4, 0, 0], [0.4, 0, 0]], [0, 0], [[1.0], [1.0]], selected=[False, True])
    left, right = img[:, : SIZE // 2], img[:, SIZE // 2 :]
    # cyan (the highlight) appears on the selected (right) neuron only
    cyan = lambda part: ((part[..., 2] > part[..., 0] + 0.2) & (part[..., 1] > 0.3)).sum()  # noqa: E731
    assert cyan(right) > 10 and cyan(left) == 0


def test_phase_reads_the_heard_time_step(gl_context):
    activity = [[0.0, 0.0, 1.0, 1.0]]  # silent in the first half of the loop, loud in the second
    early = render(gl_context, [[0, 0, 0]], [0], activity, phase=0.1)
    late = render(gl_context, [[0, 0, 0]], [0], activity, phase=0.6)
    assert lit(late).sum() > 1.5 * lit(early).sum()


def test_nan_activity_is_drawn_dark_not_broken(gl_context):
    img = render(gl_context, [[0, 0, 0]], [0], [[np.nan]])
    assert np.isfinite(img).all() and lit(img).sum() > 0  # an idle sphere, not garbage


def test_nan_positions_are_a_clear_error(gl_context):
    with pytest.raises(ValueError, match="1 of 2 neuron positions are NaN"):
        render(gl_context, [[0, 0, 0], [np.nan, 0, 0]], [0, 0], [[1.0], [1.0]])


def test_wrong_activity_shape_is_a_clear_error(gl_context):
    with pytest.raises(ValueError, match=r"activity table must be \(1, S ≥ 1\)"):
        render(gl_context, [[0, 0, 0]], [0], [[1.0], [1.0]])


def test_zero_size_target_is_refused(gl_context):
    with pytest.raises(ValueError, match="at least 1×1"):
        OffscreenTarget(gl_context, 0, 10)


def test_default_palette_loads():
    p = load_palette("default")
    assert p.colors.shape[1] == 3 and len(p.colors) >= 8


# -- shader files: includes ------------------------------------------------------------------


def _shader_home(tmp_path, monkeypatch, files):
    for name, text in files.items():
        path = tmp_path / "shaders" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setenv("EAR3D_HOME", str(tmp_path))


def test_shader_error_in_an_include_names_the_included_file(gl_context, tmp_path, monkeypatch):
    _shader_home(tmp_path, monkeypatch, {
        "include/common.glsl": "// shared\nfloat helper() {\n  return missing_name;\n}\n",
        "prog.glsl": '#version 430 core\n#include "common.glsl"\n#if defined VERTEX_SHADER\nvoid main() {\n'
                     "  gl_Position = vec4(helper());\n}\n#elif defined FRAGMENT_SHADER\nout vec4 c;\n"
                     "void main() { c = vec4(1.0); }\n#endif\n",
    })
    with pytest.raises(ShaderError) as err:
        load_program(gl_context, "prog")
    assert f"{tmp_path / 'shaders' / 'include' / 'common.glsl'}:3:" in str(err.value)


def test_shader_error_after_an_include_keeps_the_file_line(gl_context, tmp_path, monkeypatch):
    _shader_home(tmp_path, monkeypatch, {
        "include/common.glsl": "float helper() {\n  return 1.0;\n}\n",
        "prog.glsl": '#version 430 core\n#include "common.glsl"\n#if defined VERTEX_SHADER\nvoid main() {\n'
                     "  gl_Position = vec4(helper());\n}\n#elif defined FRAGMENT_SHADER\nout vec4 c;\n"
                     "void main() { c = vec4(nope); }\n#endif\n",
    })
    with pytest.raises(ShaderError) as err:
        load_program(gl_context, "prog")
    assert f"{tmp_path / 'shaders' / 'prog.glsl'}:9:" in str(err.value)


def test_include_inside_a_conditional_is_refused(gl_context, tmp_path, monkeypatch):
    _shader_home(tmp_path, monkeypatch, {
        "include/common.glsl": "float helper() { return 1.0; }\n",
        "prog.glsl": '#version 430 core\n#if defined VERTEX_SHADER\n#include "common.glsl"\nvoid main() {}\n#endif\n',
    })
    with pytest.raises(ShaderError, match=r"prog.glsl:3: #include must come before the first #if"):
        load_program(gl_context, "prog")


# -- key frames, layout, bad input -------------------------------------------------------------------


def render_scene(ctx, positions, layer, activity, phase=0.0, size=SIZE, **config):
    """Like render() with (K, N, 3) key frames and RenderConfig overrides; returns the image."""
    cfg = RenderConfig(width=size, height=size, background=config.pop("background", BACKGROUND),
                       sphere_radius=config.pop("radius", 0.1), samples=config.pop("samples", 0), **config)
    scene = Scene(ctx, np.asarray(positions, np.float32), np.asarray(layer), RED_GREEN, cfg)
    return scene_image(ctx, scene, activity, size, phase)


def centre_x(img):
    ys, xs = np.nonzero(lit(img))
    return xs.mean()


def test_key_frame_interpolation_moves_a_neuron(gl_context):
    frames = [[[-0.5, 0, 0]], [[0.5, 0, 0]]]  # K = 2 key frames of one neuron
    at = {phase: centre_x(render_scene(gl_context, frames, [0], [[1.0]], phase)) for phase in (0.0, 0.25, 0.5, 0.75)}
    assert at[0.0] < SIZE / 2 - 8 and at[0.5] > SIZE / 2 + 8  # passes through each key frame
    assert abs(at[0.25] - (SIZE - 1) / 2) < 1.5 and abs(at[0.75] - (SIZE - 1) / 2) < 1.5  # smooth, periodic
    at_01 = centre_x(render_scene(gl_context, frames, [0], [[1.0]], 0.1))
    assert at[0.0] < at_01 < at[0.25]  # in between, on its way


def test_single_key_frame_in_a_3d_array_works_like_n_by_3(gl_context):
    a = render_scene(gl_context, [[[0.3, 0, 0]]], [0], [[1.0]])
    b = render_scene(gl_context, [[0.3, 0, 0]], [0], [[1.0]])
    assert np.array_equal(a, b)


def test_layout_neuron_count_mismatch_is_a_clear_error(gl_context):
    cfg = RenderConfig(width=SIZE, height=SIZE, samples=0)
    with pytest.raises(ValueError, match="the layout has 3 neurons but the network has 2"):
        Scene(gl_context, np.zeros((3, 3), np.float32), np.zeros(2, int), RED_GREEN, cfg)
    scene = Scene(gl_context, np.zeros((2, 3), np.float32), np.zeros(2, int), RED_GREEN, cfg)
    try:
        with pytest.raises(ValueError, match="the layout has 4 neurons but the network being drawn has 2"):
            scene.set_layout(np.zeros((8, 4, 3), np.float32))
        with pytest.raises(ValueError, match=r"positions must be \(N, 3\) or \(K, N, 3\)"):
            scene.set_layout(np.zeros((2, 2), np.float32))
    finally:
        scene.release()


def test_nan_in_any_key_frame_is_a_clear_error(gl_context):
    frames = np.zeros((4, 3, 3), np.float32)
    frames[2, 1, 0] = np.inf
    with pytest.raises(ValueError, match="1 of 3 neuron positions are NaN or infinite"):
        render_scene(gl_context, frames, [0, 0, 0], np.ones((3, 1)))


@pytest.mark.parametrize("phase", [np.nan, np.inf, -np.inf])
def test_non_finite_phase_draws_the_loop_start(gl_context, phase):
    frames = [[[-0.5, 0, 0]], [[0.5, 0, 0]]]
    assert np.array_equal(render_scene(gl_context, frames, [0], [[1.0]], phase),
                          render_scene(gl_context, frames, [0], [[1.0]], 0.0))


def test_zero_size_framebuffer_draws_nothing_and_does_not_fail(gl_context):
    class Minimised:  # what a minimised window's framebuffer reports
        size = (0, 0)

        def use(self):
            raise AssertionError("a zero-size framebuffer must not be drawn into")

    cfg = RenderConfig(width=SIZE, height=SIZE, samples=0)
    scene = Scene(gl_context, np.zeros((1, 3), np.float32), np.zeros(1, int), RED_GREEN, cfg)
    try:
        scene.draw(Minimised(), 0.5)
    finally:
        scene.release()


def test_infinite_activity_is_drawn_as_silence(gl_context):
    quiet = render_scene(gl_context, [[0, 0, 0]], [0], [[0.0]])
    inf = render_scene(gl_context, [[0, 0, 0]], [0], [[np.inf]])
    assert np.array_equal(quiet, inf)


# -- look: bloom, depth fade, background, MSAA --------------------------------------------------------


def test_bloom_makes_bright_neurons_glow_beyond_their_rim(gl_context):
    plain = render_scene(gl_context, [[0, 0, 0]], [0], [[1.0]], bloom=0.0)
    glow = render_scene(gl_context, [[0, 0, 0]], [0], [[1.0]], bloom=3.0)
    rim = ~lit(plain, 0.01) & (np.hypot(*np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2) < 12)
    assert rim.sum() > 50
    assert glow[rim].mean() > plain[rim].mean() + 0.01


def test_depth_fade_dims_the_far_side(gl_context):
    # Two equal neurons side by side as seen from the camera, one much farther away.
    pos = [[-0.3, 0, 0.4], [0.3, 0, -1.2]]
    def mean_light(img, half):
        part = img[:, : SIZE // 2] if half == "left" else img[:, SIZE // 2 :]
        return part[lit(part)].max(axis=1).mean()
    no_fog = render_scene(gl_context, pos, [0, 0], [[1.0], [1.0]], fog=0.0, bloom=0.0)
    fog = render_scene(gl_context, pos, [0, 0], [[1.0], [1.0]], fog=1.0, bloom=0.0)
    assert abs(mean_light(fog, "left") - mean_light(no_fog, "left")) < 0.03  # the near one keeps its light
    assert mean_light(fog, "right") < 0.6 * mean_light(no_fog, "right")  # the far one fades


def test_background_shows_where_no_neuron_is(gl_context):
    img = render_scene(gl_context, [[0, 0, 0]], [0], [[1.0]], background="#204060", vignette=0.0, bloom=0.0)
    assert np.allclose(img[0, 0], [0x20 / 255, 0x40 / 255, 0x60 / 255], atol=2 / 255)
    centre = img[SIZE // 2, SIZE // 2]
    assert centre[0] > 0.5 and centre[2] < 0.3  # the red neuron covers the background


def test_multisampling_draws_the_same_sphere(gl_context):
    a = render_scene(gl_context, [[0, 0, 0]], [0], [[1.0]], samples=0)
    b = render_scene(gl_context, [[0, 0, 0]], [0], [[1.0]], samples=4)
    assert abs(int(lit(a).sum()) - int(lit(b).sum())) < 0.15 * lit(a).sum()
    assert np.abs(a - b).mean() < 0.01


SPREAD = [[x, y, z] for x in (-0.6, 0.0, 0.6) for y in (-0.4, 0.3) for z in (-0.3, 0.2)]


@pytest.mark.parametrize("selected", [None, [i % 3 == 0 for i in range(len(SPREAD))]])
def test_sprites_draw_the_same_spheres_as_quads(gl_context, selected):
    layer, activity = [i % 2 for i in range(len(SPREAD))], [[i / len(SPREAD)] for i in range(len(SPREAD))]
    quads = render(gl_context, SPREAD, layer, activity, selected=selected, neuron_mode="quads")
    sprites = render(gl_context, SPREAD, layer, activity, selected=selected, neuron_mode="sprites")
    assert lit(quads).sum() > 200
    differ = np.abs(quads - sprites).max(axis=2) > 0.1  # a rounding of the silhouette at most
    assert differ.mean() < 0.02, differ.mean()
    assert abs(float(quads.mean()) - float(sprites.mean())) < 0.005


def test_auto_draws_sprites_from_outside_and_quads_from_inside_the_network(gl_context):
    cfg = RenderConfig(width=SIZE, height=SIZE, background=BACKGROUND, sphere_radius=0.05, samples=0)
    scene = Scene(gl_context, np.asarray(SPREAD, np.float32), np.zeros(len(SPREAD), np.int64), RED_GREEN, cfg)
    scene.neurons.set_activity(np.ones((len(SPREAD), 1), np.float32))
    try:
        with OffscreenTarget(gl_context, SIZE, SIZE, samples=0) as target:
            scene.camera = OrbitCamera(glm.vec3(0.0), distance=4.0, yaw=0.0, pitch=0.0, fov_y=60.0, near=0.05, far=20.0)
            scene.draw(target.fbo, 0.0)
            assert scene.neurons.drawn_as == "sprites"
            scene.camera = OrbitCamera(glm.vec3(0.0), distance=0.3, yaw=0.0, pitch=0.0, fov_y=60.0, near=0.05, far=20.0)
            scene.draw(target.fbo, 0.0)  # the camera among the neurons: spheres of any size, clipped at the border
            assert scene.neurons.drawn_as == "quads"
            assert lit(target.read_rgb().astype(np.float32) / 255).any()
    finally:
        scene.release()


def test_auto_draws_quads_when_a_sphere_outgrows_the_largest_point(gl_context):
    cfg = RenderConfig(width=SIZE, height=SIZE, background=BACKGROUND, sphere_radius=0.1, samples=0)
    scene = Scene(gl_context, np.zeros((1, 3), np.float32), np.zeros(1, np.int64), RED_GREEN, cfg)
    try:
        neurons = scene.neurons
        camera = OrbitCamera(glm.vec3(0.0), distance=2.0, yaw=0.0, pitch=0.0, fov_y=60.0, near=0.05, far=20.0)
        view, projection = camera.view(), camera.projection(1.0)
        assert neurons.use_sprites("auto", view, projection, 0.1, SIZE)
        tall = int(neurons.max_point_size * 2 / neurons.largest_sprite(view, projection, 0.1, 1))  # 2x the limit
        assert not neurons.use_sprites("auto", view, projection, 0.1, tall)
        assert neurons.use_sprites("sprites", view, projection, 0.1, tall)
        with pytest.raises(ValueError, match="neuron_mode"):
            neurons.use_sprites("points", view, projection, 0.1, SIZE)
    finally:
        scene.release()
