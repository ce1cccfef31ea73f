"""Real OpenGL through EGL (Mesa llvmpipe here): shaders compile, tiny scenes light the right pixels."""

from pyglm import glm
import numpy as np
import pytest

from ear3d.config import RenderConfig
from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.offscreen import OffscreenTarget
from ear3d.gfx.scene import Scene
from ear3d.gfx.shaders import ShaderError, all_shader_names, load_program
from ear3d.palette import Palette, load_palette

RED_GREEN = Palette("test", np.array([[1, 0, 0], [0, 1, 0]], np.float32), np.array([0, 1, 1], np.float32))
SIZE = 64
BACKGROUND = "#000000"


def render(ctx, positions, layer, activity, phase=0.0, selected=None, radius=0.1):
    cfg = RenderConfig(width=SIZE, height=SIZE, background=BACKGROUND, sphere_radius=radius, samples=0)
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
