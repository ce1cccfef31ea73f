"""`ear3d bench control` on the tiny preset: real frames under MIDI and OSC floods; every row is
there, messages arrive and are coalesced to at most one change per parameter per frame (the
frame times are timings on a shared machine: only their presence is asserted)."""

import json

import pytest

from ear3d.bench.control import CASES, FLOODS, UNHEARD
from ear3d.cli import main


@pytest.mark.slow  # a whole live app with a model and two sender processes: ~60 s on 2 shared cores
def test_bench_control_floods_are_received_and_coalesced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "control.json"
    code = main(["--set", "model.preset=tiny", "--set", "audio.device=no-such-device", "bench", "control",
                 "--json", str(out), "--size", "160x96", "--seconds", "0.6", "--rounds", "1", "--warmup", "0.2",
                 "--rate", "3000"])
    assert code == 0
    rows = {(r["case"], r["metric"]): r["value"] for r in json.loads(out.read_text())["rows"]}
    for case in CASES:
        assert rows[(case, "frames")] >= 1 and rows[(case, "frame time median")] > 0
    for case in FLOODS:
        assert rows[(case, "messages received")] > 0
        assert rows[(case, "changes applied")] > 0
        assert rows[(case, "messages coalesced away")] > 0
        assert rows[(case, "most changes of one parameter in one frame")] == 1
        assert rows[(case, "malformed")] == 0
        assert rows[(f"{case} vs quiet", "frame time median")] > 0
        assert rows[(f"{case}: heard vs unheard", "frame time median")] > 0
        assert (case + UNHEARD, "messages received") not in rows  # nobody listened
