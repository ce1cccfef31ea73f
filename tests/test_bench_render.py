"""`ear3d bench render` on a tiny graph: every path is timed side by side and the rows have
the bench format (values are not asserted: they are timings on a shared machine)."""

import argparse
import json

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
    label, pos, layer, edges, weights, activity = _graph("default", parser.parse_args([]), Config())
    assert label == "default (layout.npz)"
    assert pos.shape[1] == len(layer) == activity.shape[0] == 15_560 and len(edges) == len(weights) > 1_800_000
