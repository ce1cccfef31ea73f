"""`ear3d bench render` on a tiny graph: every path is timed side by side and the rows have
the bench format (values are not asserted: they are timings on a shared machine)."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pyglm import glm

from ear3d.bench import report
from ear3d.bench.render import add_arguments, run
from ear3d.config import Config

ROOT = Path(__file__).resolve().parents[1]


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
def _tiny_args(*extra):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["--graphs", "custom", "--neurons", "200", "--edges", "2000", "--sizes", "80x48",
                              "--frames", "1", "--paths", "none", *extra])


def test_vispy_peer_row_and_breakdown_beside_ear3d():
    from ear3d.bench.render_peer import peer_status
    from ear3d.gfx.pass_timer import PASSES

    if not peer_status()[0]:
        pytest.skip("vispy is not installed (pip install 'ear3d[bench]')")
    rows = run(_tiny_args(), Config())
    value = {(r.case, r.metric): r.value for r in rows}
    for metric in ("frame_time", "cpu_time"):
        assert value[("custom 80x48 vispy all edges", metric)] > 0
        assert value[("custom 80x48 ear3d full quality", metric)] > 0
    ratio = value[("custom 80x48 ear3d full quality", "speedup_vs_vispy")]
    assert ratio == pytest.approx(value[("custom 80x48 vispy all edges", "frame_time")]
                                  / value[("custom 80x48 ear3d full quality", "frame_time")])
    assert [m for (c, m) in value if c == "custom 80x48 breakdown"] == [f"{p}_time" for p in PASSES]
    for mode in ("sprites", "quads"):
        assert value[(f"custom 80x48 breakdown neurons as {mode}", "neurons_time")] > 0
    assert value[("custom 80x48 breakdown neurons as sprites", "speedup_vs_quads")] > 0


def test_without_vispy_the_row_says_why(tmp_path):
    # vispy stays installed: a package of that name that refuses to import stands in front of it.
    blocker = tmp_path / "vispy"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('vispy blocked by the test')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "ear3d", "bench", "render", "--graphs", "custom", "--neurons", "100",
                           "--edges", "500", "--sizes", "64x48", "--frames", "1", "--paths", "lines",
                           "--no-breakdown", "--json", str(out)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no vispy row: vispy is not installed" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    absent = [r for r in rows if r["case"] == "custom 64x48 vispy all edges"]
    assert [r["metric"] for r in absent] == ["absent"] and "vispy blocked by the test" in absent[0]["unit"]
    assert any(r["case"] == "custom 64x48 lines" and r["metric"] == "frame_time" for r in rows)  # the rest still runs
