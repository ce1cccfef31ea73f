"""`ear3d bench live` on the tiny preset: every row is there, from one short run of the whole
live app (EGL), and the launch times come in order (values are timings on a shared machine:
only their presence and sense are asserted)."""

import json

import pytest

from ear3d.bench.live import CASES, GIL_HELD, NO_RENDERING, WORKER_LOADS
from ear3d.cli import main


@pytest.mark.slow  # a whole live app with a model: ~30-60 s on 2 shared cores
def test_bench_live_produces_every_row(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "live.json"
    shot = tmp_path / "shot.png"
    code = main(["--set", "model.preset=tiny", "--set", "audio.device=no-such-device", "--set", "control.osc=false",
                 "--set", "control.midi_input=", "bench", "live", "--json", str(out), "--size", "160x96",
                 "--seconds", "0.5", "--rounds", "1", "--warmup", "0.2", "--settle", "2", "--screenshot", str(shot)])
    assert code == 0
    rows = {(r["case"], r["metric"]): r["value"] for r in json.loads(out.read_text())["rows"]}
    launch = [rows[("launch", m)] for m in ("to first frame drawn", "to first frame of the network",
                                           "to first sonified clip")]
    assert 0 < launch[0] <= launch[1] <= launch[2]
    assert rows[("launch", "frames drawn while the model loads")] >= 1
    for name, running, _ in CASES:
        assert rows[(name, "frames")] >= 1
        assert 0 < rows[(name, "frame time median")] <= rows[(name, "frame time p99")] <= rows[(name, "frame time max")]
        assert rows[(name, "frames/s (1 / median)")] == pytest.approx(1e3 / rows[(name, "frame time median")])
        assert 0 <= rows[(name, "adaptive level")] and 0 < rows[(name, "render scale")] <= 1
        assert (name, "load average (1 min)") in rows
        assert ((name, "optimization steps/s") in rows) == running
    assert rows[("worker idle, adaptive off", "adaptive level")] == 0  # off is full quality
    assert rows[(NO_RENDERING, "optimization steps/s")] >= 0
    # the process worker (auto on the CPU): the app waits for GL with the GIL released, the
    # bench also measures it held
    assert rows[(GIL_HELD, "frames")] >= 1 and (GIL_HELD, "optimization steps/s") in rows
    assert rows[("GIL released vs held while GL draws", "frame time median, worker running, adaptive on")] > 0
    for case, metric in (("worker running vs idle", "frame time median, adaptive off"),
                         ("adaptive on vs off", "frames/s, worker running")):
        assert rows[(case, metric)] > 0
    for kind in ("thread", "process"):  # the two workers side by side, each under every load
        for load in WORKER_LOADS:
            assert rows[(f"{kind} worker, {load}", "optimization steps/s")] >= 0
            assert (f"{kind} worker, {load}", "load average (1 min)") in rows
    assert rows[("process vs thread worker", f"frame time median, {WORKER_LOADS[0]}")] > 0
    for kind in ("full", "adaptive"):  # the pictures of the running cases, at the window's size
        from PIL import Image

        assert Image.open(tmp_path / f"shot-{kind}.png").size == (160, 96)
