"""Edges drawn live from GPU buffers (Mesa llvmpipe here): light follows the signal through
them, both rasterizers agree, the budget keeps the strongest, buffers split, bad input is
refused or drawn safely."""

import numpy as np
import pytest
from pyglm import glm

from ear3d.config import RenderConfig
from ear3d.gfx.camera import OrbitCamera
from ear3d.gfx.edges import EdgeSet, check_edges, weight_scale
from ear3d.gfx.offscreen import OffscreenTarget
from ear3d.gfx.scene import Scene
from ear3d.palette import Palette

from scene_image import scene_image

WHITE = Palette("white", np.array([[1, 1, 1]], np.float32), np.array([0, 1, 1], np.float32))
SIZE = 64
MODES = ["lines", "compute"]


def draw(ctx, positions, activity, edges, weights, mode="lines", budget=0, chunk=0, radius=0.02, phase=0.0,
         size=SIZE, **config):
    """Render a tiny scene (camera at distance 2 on +z looking at the origin, 60° view)."""
    positions = np.asarray(positions, np.float32)
    cfg = RenderConfig(width=size, height=size, background="#000000", sphere_radius=radius,
                       samples=config.pop("samples", 0), edge_mode=mode, edge_budget=budget, edge_chunk=chunk,
                       bloom=config.pop("bloom", 0.0), fog=config.pop("fog", 0.0), **config)
    layer = np.zeros(positions.shape[-2], int)
    scene = Scene(ctx, positions, layer, WHITE, cfg, edges, weights)
    return scene_image(ctx, scene, activity, size, phase)


# Two neurons far apart on a horizontal line through the centre, one edge between them.
PAIR = [[-0.8, 0, 0], [0.8, 0, 0]]
ROW = SIZE // 2


def edge_light(img):
    """Mean light along the middle of the line, away from the spheres."""
    band = img[ROW - 2 : ROW + 2, 24:40]
    return band.max(axis=0).mean()


@pytest.mark.parametrize("mode", MODES)
def test_edge_gets_brighter_as_its_source_activation_grows(gl_context, mode):
    lights = [edge_light(draw(gl_context, PAIR, [[a], [0.0]], [[0, 1]], [1.0], mode)) for a in (0.1, 0.4, 1.0)]
    assert lights[0] < lights[1] < lights[2]
    assert lights[2] > 0.1
    assert lights[2] > 3 * lights[0]


@pytest.mark.parametrize("mode", MODES)
def test_edge_light_follows_the_source_not_the_destination(gl_context, mode):
    from_active = edge_light(draw(gl_context, PAIR, [[1.0], [0.0]], [[0, 1]], [1.0], mode))
    into_active = edge_light(draw(gl_context, PAIR, [[0.0], [1.0]], [[0, 1]], [1.0], mode))
    assert from_active > 0.1 and into_active < 0.01


@pytest.mark.parametrize("mode", MODES)
def test_edge_light_follows_the_heard_time_step(gl_context, mode):
    activity = [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]  # the source fires in the loop's second half
    early = edge_light(draw(gl_context, PAIR, activity, [[0, 1]], [1.0], mode, phase=0.1))
    late = edge_light(draw(gl_context, PAIR, activity, [[0, 1]], [1.0], mode, phase=0.6))
    assert early < 0.01 and late > 0.1


def test_negative_weights_carry_light_by_magnitude(gl_context):
    plus = draw(gl_context, PAIR, [[1.0], [0.0]], [[0, 1]], [0.5])
    minus = draw(gl_context, PAIR, [[1.0], [0.0]], [[0, 1]], [-0.5])
    assert np.array_equal(plus, minus)


def test_lines_and_compute_rasterizers_draw_the_same_picture(gl_context):
    rng = np.random.default_rng(1)
    pos = rng.uniform(-0.7, 0.7, (12, 3))
    edges = rng.integers(0, 12, (40, 2))
    weights = rng.normal(size=40)
    act = rng.random((12, 3))
    lines = draw(gl_context, pos, act, edges, weights, "lines", edge_gain=0.5)
    compute = draw(gl_context, pos, act, edges, weights, "compute", edge_gain=0.5)
    assert lines.sum() > 20  # something was drawn
    # Same light in total (the rasterizers anti-alias differently, so compare sums and blurs).
    assert abs(compute.sum() - lines.sum()) < 0.08 * lines.sum()
    blur = lambda im: im.reshape(16, 4, 16, 4, 3).mean(axis=(1, 3))  # noqa: E731
    assert np.abs(blur(compute) - blur(lines)).mean() < 0.02


def test_compute_rasterizer_at_half_resolution_keeps_the_light(gl_context):
    rng = np.random.default_rng(3)
    pos = rng.uniform(-0.7, 0.7, (12, 3))
    edges = rng.integers(0, 12, (40, 2))
    weights = rng.normal(size=40)
    act = rng.random((12, 1))
    full = draw(gl_context, pos, act, edges, weights, "compute", edge_gain=0.5)
    half = draw(gl_context, pos, act, edges, weights, "compute", edge_gain=0.5, edge_resolution=2)
    assert abs(half.sum() - full.sum()) < 0.1 * full.sum()
    blur = lambda im: im.reshape(8, 8, 8, 8, 3).mean(axis=(1, 3))  # noqa: E731
    assert np.abs(blur(half) - blur(full)).mean() < 0.02
    assert not np.array_equal(half, full)  # it did draw at another resolution


@pytest.mark.parametrize("mode", ["lines", "compute"])
def test_edge_behind_a_neuron_is_hidden(gl_context, mode):
    # A dim neuron in front of the middle of the edge (dim, so added light would show).
    pos = [[-0.8, 0, -0.5], [0.8, 0, -0.5], [0, 0, 0.6]]
    act = [[1.0], [0.0], [0.05]]
    img = draw(gl_context, pos, act, [[0, 1]], [1.0], mode, radius=0.12)
    no_edge = draw(gl_context, pos, act, np.zeros((0, 2), int), np.zeros(0), mode, radius=0.12)
    behind = (slice(ROW - 1, ROW + 2), slice(SIZE // 2 - 2, SIZE // 2 + 3))  # the neuron spans ±4 px
    beside = (slice(ROW - 1, ROW + 2), slice(21, 27))
    assert no_edge[behind].min() > 0.02  # the neuron is there
    assert img[beside].max() > 0.05 and no_edge[beside].max() < 1 / 255  # the edge is drawn…
    assert np.abs(img[behind] - no_edge[behind]).max() < 2 / 255  # …but not through the neuron


@pytest.mark.parametrize("mode", MODES)
def test_budget_draws_the_strongest_edges_first(gl_context, mode):
    # Two parallel edges, the lower one (neurons 2 → 3) five times as strong.
    pos = [[-0.8, 0.4, 0], [0.8, 0.4, 0], [-0.8, -0.4, 0], [0.8, -0.4, 0]]
    act = [[1.0], [0.0], [1.0], [0.0]]
    edges, weights = [[0, 1], [2, 3]], [0.2, 1.0]
    both = draw(gl_context, pos, act, edges, weights, mode)
    one = draw(gl_context, pos, act, edges, weights, mode, budget=1)
    rows = lambda img, y: img[y - 2 : y + 3, 24:40].max()  # noqa: E731
    upper, lower = int(SIZE / 2 - 0.4 / (2 * np.tan(np.radians(30))) * SIZE / 2), None
    lower = SIZE - 1 - upper
    assert rows(both, upper) > 0.02 and rows(both, lower) > 0.02
    assert rows(one, upper) < 1 / 255 and rows(one, lower) > 0.02


def test_split_buffers_draw_the_same_as_one(gl_context):
    rng = np.random.default_rng(2)
    pos = rng.uniform(-0.7, 0.7, (10, 3))
    edges = rng.integers(0, 10, (25, 2))
    weights = rng.normal(size=25)
    act = rng.random((10, 1))
    for mode in MODES:
        whole = draw(gl_context, pos, act, edges, weights, mode)
        split = draw(gl_context, pos, act, edges, weights, mode, chunk=4)  # 7 buffers
        assert np.array_equal(whole, split), mode
        budget = draw(gl_context, pos, act, edges, weights, mode, budget=10, chunk=4)  # across a buffer boundary
        assert np.array_equal(budget, draw(gl_context, pos, act, edges, weights, mode, budget=10)), mode


def test_edge_set_sorts_by_weight_and_splits(gl_context):
    edges = np.array([[0, 1], [1, 2], [2, 0], [0, 2], [2, 1]])
    weights = np.array([0.1, -3.0, 0.5, 2.0, 0.0], np.float32)
    es = EdgeSet(gl_context, edges, weights, 3, chunk_edges=2)
    try:
        assert [c.count for c in es.chunks] == [2, 2, 1]
        e, w = es.sorted_host()
        assert e.tolist() == [[1, 2], [0, 2], [2, 0], [0, 1], [2, 1]]  # strongest |weight| first
        assert np.allclose(w, weights[[1, 3, 2, 0, 4]] * weight_scale(weights))  # scaled, signs kept
        assert [(c.count, n) for c, n in es.ranges(3)] == [(2, 2), (2, 1)]
        assert es.drawn(0) == 5 and es.drawn(99) == 5 and es.drawn(2) == 2
        mean = np.abs(weights).mean()
        assert es.equivalent(0) == 5 and es.equivalent(2) == pytest.approx((3.0 + 2.0) / mean)
    finally:
        es.release()


def test_weights_are_normalised_robustly():
    w = np.concatenate([np.ones(1990), np.full(10, 1000.0), np.zeros(500)]).astype(np.float32)
    assert weight_scale(w) == pytest.approx(1.0, rel=0.05)  # a few huge outliers do not dim the rest
    assert weight_scale(np.zeros(5, np.float32)) == 0.0


@pytest.mark.parametrize(
    "edges, weights, message",
    [
        ([[0, 5]], [1.0], r"1 edges name neurons outside 0…2"),
        ([[0, -1]], [1.0], r"1 edges name neurons outside 0…2"),
        ([[0, 1, 2]], [1.0], r"edges must be \(E, 2\)"),
        ([[0, 1]], [1.0, 2.0], r"weights must be \(1,\)"),
        ([[0.0, 1.0]], [1.0], "must be integer neuron indices"),
    ],
)
def test_bad_edges_are_clear_errors(edges, weights, message):
    with pytest.raises(ValueError, match=message):
        check_edges(np.array(edges), np.array(weights), 3)


@pytest.mark.parametrize("mode", MODES)
def test_nan_weights_and_activity_leave_edges_dark_not_broken(gl_context, mode):
    img = draw(gl_context, PAIR, [[1.0], [0.0]], [[0, 1]], [np.nan], mode)
    assert np.isfinite(img).all() and edge_light(img) < 1 / 255
    img = draw(gl_context, PAIR, [[np.nan], [0.0]], [[0, 1]], [1.0], mode)
    assert np.isfinite(img).all() and edge_light(img) < 1 / 255


def test_edges_can_be_replaced_and_removed(gl_context):
    cfg = RenderConfig(width=SIZE, height=SIZE, samples=0, bloom=0.0, fog=0.0, sphere_radius=0.02, background="#000000")
    scene = Scene(gl_context, np.array(PAIR, np.float32), np.zeros(2, int), WHITE, cfg)
    scene.camera = OrbitCamera(glm.vec3(0.0), distance=2.0, yaw=0.0, pitch=0.0, fov_y=60.0, near=0.1, far=10.0)
    scene.set_activity(np.array([[1.0], [0.0]], np.float32))
    try:
        with OffscreenTarget(gl_context, SIZE, SIZE, samples=0) as target:
            lights = []
            for edges, weights in [(None, None), ([[0, 1]], [1.0]), (np.zeros((0, 2), int), np.zeros(0))]:
                scene.set_edges(edges, weights)
                scene.draw(target.fbo, 0.0)
                lights.append(edge_light(target.read_rgb().astype(np.float32) / 255))
        assert lights[0] < 1 / 255 and lights[1] > 0.1 and lights[2] < 1 / 255
        with pytest.raises(ValueError, match="edges and weights come together"):
            Scene(gl_context, np.array(PAIR, np.float32), np.zeros(2, int), WHITE, cfg, edges=[[0, 1]])
        with pytest.raises(ValueError, match="edge mode 'points'"):
            scene.set_edge_mode("points")
    finally:
        scene.release()


def test_edges_move_with_the_key_frames(gl_context):
    frames = [[[-0.8, 0.5, 0], [0.8, 0.5, 0]], [[-0.8, -0.5, 0], [0.8, -0.5, 0]]]
    def line_row(img):
        col = img[:, 28:36].max(axis=(1, 2))
        return np.average(np.arange(SIZE), weights=col)
    top = line_row(draw(gl_context, frames, [[1.0], [0.0]], [[0, 1]], [1.0], phase=0.0))
    bottom = line_row(draw(gl_context, frames, [[1.0], [0.0]], [[0, 1]], [1.0], phase=0.5))
    middle = line_row(draw(gl_context, frames, [[1.0], [0.0]], [[0, 1]], [1.0], phase=0.25))
    assert top < SIZE / 2 - 10 and bottom > SIZE / 2 + 10 and abs(middle - (SIZE - 1) / 2) < 1.5


def test_auto_mode_times_both_rasterizers_and_keeps_the_faster(gl_context):
    cfg = RenderConfig(width=SIZE, height=SIZE, samples=0, edge_mode="auto", background="#000000")
    rng = np.random.default_rng(4)
    scene = Scene(gl_context, rng.uniform(-0.7, 0.7, (12, 3)), np.zeros(12, int), WHITE, cfg,
                  rng.integers(0, 12, (40, 2)), rng.normal(size=40))
    scene.set_activity(rng.random((12, 2)).astype(np.float32))
    try:
        with OffscreenTarget(gl_context, SIZE, SIZE, samples=0) as target:
            images = []
            for _ in range(10):
                scene.draw(target.fbo, 0.2)
                images.append(target.read_rgb().astype(np.float32))
        timings = scene.edge_timings
        assert sorted(timings) == ["compute", "lines"] and all(len(t) == 4 for t in timings.values())
        median = {m: float(np.median(t[1:])) for m, t in timings.items()}
        assert scene.edge_mode == min(median, key=median.get)
        blur = lambda im: im.reshape(16, 4, 16, 4, 3).mean(axis=(1, 3))  # noqa: E731
        assert all(np.abs(blur(im) - blur(images[0])).mean() < 2.0 for im in images)  # no visible jump
    finally:
        scene.release()


def test_scene_refuses_edges_of_another_network_and_cleans_up(gl_context):
    cfg = RenderConfig(width=SIZE, height=SIZE, samples=0)
    with pytest.raises(ValueError, match="the edge table does not belong to this network of 2 neurons"):
        Scene(gl_context, np.array(PAIR, np.float32), np.zeros(2, int), WHITE, cfg, [[0, 7]], [1.0])
    scene = Scene(gl_context, np.array(PAIR, np.float32), np.zeros(2, int), WHITE, cfg, [[0, 1]], [1.0])
    scene.release()
    scene.release()  # idempotent


def test_float16_weights_of_the_layout_file_are_accepted():
    e, w = check_edges(np.array([[0, 1], [1, 2]], np.uint32), np.array([0.5, -2.0], np.float16), 3)
    assert e.dtype == np.uint32 and w.dtype == np.float32 and w.tolist() == [0.5, -2.0]


def test_a_budget_keeps_the_light_of_the_whole_graph(gl_context):
    # 100 weak parallel edges and one strong one: under a budget of one edge, the strong edge
    # keeps its share of the light instead of brightening to the whole graph's.
    n = 101
    pos = np.zeros((2 * n, 3), np.float32)
    pos[:n, 0], pos[n:, 0] = -0.8, 0.8
    pos[:, 1] = np.linspace(-0.6, 0.6, n)[np.r_[np.arange(n), np.arange(n)]]
    edges = np.stack([np.arange(n), np.arange(n) + n], 1)
    weights = np.r_[np.full(n - 1, 0.01), 1.0].astype(np.float32)
    cfg = RenderConfig(width=SIZE, height=SIZE, samples=0, edge_budget=1, bloom=0.0, fog=0.0)
    scene = Scene(gl_context, pos, np.zeros(2 * n, int), WHITE, cfg, edges, weights)
    try:
        mean = np.abs(weights).mean()
        assert scene.edge_set.equivalent(1) == pytest.approx(1.0 / mean)
        full = scene.edge_set.equivalent(0)
        assert full == n and scene.edge_set.equivalent(1) < full  # dimmed by the light drawn, not by 1 edge
    finally:
        scene.release()


def test_software_opengl_gets_the_software_edge_budget(gl_context):
    from ear3d.gfx.context import is_software

    pos = [[-0.5, 0, 0], [0.5, 0, 0], [0, 0.5, 0]]
    edges, weights = [[0, 1], [1, 2], [2, 0]], [1.0, 0.5, 0.25]
    for budget, software, expected in ((0, 2, 2 if is_software(gl_context) else 0), (0, 0, 0), (1, 2, 1)):
        cfg = RenderConfig(width=SIZE, height=SIZE, samples=0, edge_budget=budget, software_edge_budget=software)
        scene = Scene(gl_context, pos, np.zeros(3, int), WHITE, cfg, edges, weights)
        try:
            assert scene.look.edge_budget == expected, (budget, software)
        finally:
            scene.release()


@pytest.mark.parametrize("mode", MODES)
def test_edge_behind_a_multisampled_neuron_is_hidden(gl_context, mode):
    # The edges go into the resolved frame after the neurons' multisampled pass: the depth
    # they are tested against is the resolved one.
    pos = [[-0.8, 0, -0.5], [0.8, 0, -0.5], [0, 0, 0.6]]
    act = [[1.0], [0.0], [0.05]]
    img = draw(gl_context, pos, act, [[0, 1]], [1.0], mode, radius=0.12, samples=4)
    no_edge = draw(gl_context, pos, act, np.zeros((0, 2), int), np.zeros(0), mode, radius=0.12, samples=4)
    behind = (slice(ROW - 1, ROW + 2), slice(SIZE // 2 - 2, SIZE // 2 + 3))
    beside = (slice(ROW - 1, ROW + 2), slice(21, 27))
    assert img[beside].max() > 0.05 and no_edge[beside].max() < 1 / 255
    assert np.abs(img[behind] - no_edge[behind]).max() < 2 / 255


@pytest.mark.parametrize("mode", MODES)
def test_a_diagonal_edge_carries_the_light_of_a_straight_one(gl_context, mode):
    # One pixel lit per step along the major axis: a diagonal line's light is scaled by
    # length / major-axis length, so its light per unit of length is a horizontal one's.
    def total(pos):
        img = draw(gl_context, pos, [[1.0], [0.0]], [[0, 1]], [1.0], mode, radius=0.001, edge_gain=0.05)
        return img.sum()

    straight = total([[-0.6, 0, 0], [0.6, 0, 0]])
    d = 0.6 / np.sqrt(2)
    diagonal = total([[-d, -d, 0], [d, d, 0]])
    assert straight > 0.5
    assert diagonal == pytest.approx(straight, rel=0.08)


def test_the_cull_drops_only_edges_whose_light_is_invisible(gl_context):
    # Many edges with signals from 1e-4 to 1 over each other, bright enough (gain 0.3) that
    # render.edge_cull alone would drop visible ones: skipping only what cannot be seen leaves
    # every pixel within 1/255 of drawing all of them.
    rng = np.random.default_rng(3)
    n = 40
    pos = rng.uniform(-0.7, 0.7, (n, 3)).astype(np.float32)
    edges = rng.integers(0, n, (600, 2))
    weights = rng.uniform(0.2, 1.0, 600)
    act = (10.0 ** rng.uniform(-4, 0, (n, 1))).astype(np.float32)
    for mode in MODES:
        culled = draw(gl_context, pos, act, edges, weights, mode, radius=0.005, edge_gain=0.3, edge_cull=0.01)
        full = draw(gl_context, pos, act, edges, weights, mode, radius=0.005, edge_gain=0.3, edge_cull=0.0)
        assert full.sum() > 5.0
        assert np.abs(culled - full).max() <= 1 / 255 + 1e-6
    # an edge under render.edge_cull whose light is visible is drawn
    visible = draw(gl_context, PAIR, [[0.008], [0.0]], [[0, 1]], [1.0], "lines", edge_gain=40.0, edge_cull=0.01)
    assert edge_light(visible) > 0.2
