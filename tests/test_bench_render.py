"""`ear3d bench render` on a tiny graph: every path is timed side by side and the rows have
the bench format (values are not asserted: they are timings on a shared machine)."""

import argparse
import json

import numpy as np
from pyglm import glm

from ear3d.bench import report
from ear3d.bench.render import add_arguments, run
from ear3d.config import Config


def test_render_bench_rows(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--graphs", "custom", "--neurons", "300", "--edges", "3000", "--sizes", "96x64",
                              "--frames", "1", "--budget", "500"])
    rows = run(args, Config())
    cases = {(r.case, r.metric) for r in rows}
    for path in ("naive", "lines", "compute", "compute 1/2 res", "lines budget 500", "compute budget 500"):
        assert (f"custom 96x64 {path}", "frame_time") in cases
        assert path == "naive" or (f"custom 96x64 {path}", "speedup_vs_naive") in cases
    assert ("custom activity upload host copy", "bandwidth") in cases
    assert all(r.value > 0 for r in rows if r.metric in ("frame_time", "bandwidth"))
    doc = report("render", rows, tmp_path / "render.json")
    assert json.loads((tmp_path / "render.json").read_text())["rows"] == doc["rows"]


def test_default_graph_is_the_shipped_layout():
    from ear3d.bench.render import _graph

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    label, pos, layer, names, edges, weights, activity = _graph("default", parser.parse_args([]), Config())
    assert label == "default (layout.npz)" and names[0] == "scalogram" and len(names) == layer.max() + 1
    assert pos.shape[1] == len(layer) == activity.shape[0] == 15_560 and len(edges) == len(weights) > 1_800_000


def _baseline_and_lines(ctx, phase):
    """The same small scene drawn by the baseline and by lines mode: two (64, 64, 3) images."""
    from ear3d.bench.render_baseline import NaiveEdgePass, draw_baseline
    from ear3d.config import RenderConfig
    from ear3d.gfx.camera import OrbitCamera
    from ear3d.gfx.offscreen import OffscreenTarget
    from ear3d.gfx.scene import Scene
    from ear3d.palette import load_palette

    rng = np.random.default_rng(1)
    frames = rng.uniform(-0.7, 0.7, (3, 12, 3)).astype(np.float32)
    edges, weights = rng.integers(0, 12, (40, 2)), rng.normal(size=40)
    activity = rng.random((12, 5)).astype(np.float32)
    cfg = RenderConfig(width=64, height=64, background="#000000", sphere_radius=0.02, samples=0, edge_mode="lines",
                       edge_gain=0.5, bloom=0.0, fog=0.0)
    scene = Scene(ctx, frames, np.arange(12) % 3, load_palette("default"), cfg, edges, weights)
    naive = NaiveEdgePass(ctx, scene.network, scene.edge_set)
    try:
        scene.camera = OrbitCamera(glm.vec3(0.0), distance=2.0, yaw=0.0, pitch=0.0, fov_y=60.0, near=0.1, far=10.0)
        scene.set_activity(activity)
        with OffscreenTarget(ctx, 64, 64, samples=0) as target:
            scene.draw(target.fbo, phase)
            lines = target.read_rgb().astype(np.float32) / 255
            draw_baseline(scene, target.fbo, phase, activity, naive)
            baseline = target.read_rgb().astype(np.float32) / 255
    finally:
        naive.release()
        scene.release()
    return baseline, lines


def test_baseline_draws_the_picture_lines_mode_draws(gl_context):
    for phase in (0.0, 0.37):  # between key frames and between activity steps
        baseline, lines = _baseline_and_lines(gl_context, phase)
        assert lines.sum() > 20  # something was drawn
        assert np.abs(baseline - lines).max() < 3 / 255


def test_render_bench_times_display_modes_against_flat():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--graphs", "custom", "--neurons", "200", "--edges", "2000", "--sizes", "96x48",
                              "--frames", "1", "--paths", "lines", "--divisor", "1", "--modes", "sbs,dome,equirect"])
    cases = {(r.case, r.metric) for r in run(args, Config())}
    assert ("custom 96x48 lines display flat", "frame_time") in cases
    for name in ("96x48 lines display sbs", "96x48 lines display dome", "96x48 lines display equirect"):
        assert (f"custom {name}", "vs_flat") in cases and (f"custom {name}", "edge_time") in cases
