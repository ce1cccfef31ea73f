"""The soak bench, short: the live window under Xvfb with the optimizer, sound into a JACK
dummy server, MIDI, OSC, the camera and parameters moving, while faults are injected. Every
fault is survived (the picture keeps drawing, the session's state is kept), no frame raises,
and GL objects, threads and file descriptors are the same at the end as at the start.
`ear3d bench soak` runs 30 minutes by default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.xvfb_server import xvfb_display  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["-v", "--set", "model.preset=tiny", "--set", "render.width=320", "--set", "render.height=180"]


def soak(tmp_path: Path, display: str | None, minutes: float, faults: str) -> dict[tuple[str, str], float]:
    """Run the bench in its own process; its rows as {(case, metric): value}."""
    out = tmp_path / "soak.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("DISPLAY", None)
    if display:
        env["DISPLAY"] = display
    run = subprocess.run([sys.executable, "-m", "ear3d", *ARGS, "bench", "soak", "--minutes", str(minutes),
                          "--faults", faults, "--no-progress", "--json", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, failure_report(run)
    rows = json.loads(out.read_text())["rows"]
    return {(r["case"], r["metric"]): r["value"] for r in rows}


def failure_report(run: subprocess.CompletedProcess[str]) -> str:
    """What a failed soak left: its exit, a fatal error's first lines (a native crash dumps
    every thread's stack after them), the soak's own log of faults and steps, stderr's tail."""
    err = run.stderr
    fatal = err.find("Fatal Python error")
    story = [line for line in err.splitlines() if "soak" in line and not line.lstrip().startswith("File ")]
    return "\n".join([f"exit {run.returncode}", err[fatal:fatal + 300] if fatal >= 0 else "",
                      "… the soak's log:", *story[-30:], "… stdout and stderr's ends:", run.stdout[-1500:],
                      err[-2500:]])


def survived(rows: dict[tuple[str, str], float], fault: str) -> bool:
    return rows.get((f"fault {fault}", "survived")) == 1.0


def check_the_show_went_on(rows: dict[tuple[str, str], float]) -> None:
    """The figures are those of the running show (sound and MIDI were up when they started)."""
    assert not [k for k in rows if k[1].startswith("not up")], rows[("run", "show up after")]
    assert rows[("frames", "crashes (frames that raised)")] == 0
    assert rows[("frames", "frames")] > 20
    assert rows[("gl", "objects end")] == rows[("gl", "objects start")]
    assert rows[("process", "threads end")] == rows[("process", "threads start")]
    assert rows[("process", "fds end")] == rows[("process", "fds start")], [k[1] for k in rows if "fds " in k[1]]
    assert rows[("osc", "received")] > 0 and rows[("midi", "received")] > 0


def test_short_soak_in_a_real_window_survives_the_faults(tmp_path, xvfb_display):  # noqa: F811  (fixture)
    faults = ["osc_garbage", "session_corrupt", "origin_unreadable", "midi_unplug", "window", "disk_full"]
    rows = soak(tmp_path, xvfb_display, 0.7, ",".join(faults))
    assert rows[("window", "real window (Xvfb/X11)")] == 1
    check_the_show_went_on(rows)
    failed = [f for f in faults if not survived(rows, f)]
    assert not failed, [k for k in rows if k[0].startswith("fault") and k[1].startswith(("lost", "skipped"))]


def test_short_soak_headless_survives_the_audio_server_dying_and_a_failing_worker(tmp_path):
    faults = ["audio_server", "worker_raise", "worker_nan", "worker_kill"]  # the worker process: the default
    rows = soak(tmp_path, None, 1.2, ",".join(faults))
    assert rows[("window", "headless EGL")] == 1
    check_the_show_went_on(rows)
    failed = [f for f in faults if not survived(rows, f)]
    assert not failed, [k for k in rows if k[0].startswith("fault") and k[1].startswith(("lost", "skipped"))]
    assert rows[("audio", "sound at the end")] == 1
    assert rows[("audio", "underruns outside faults")] == 0


def test_unknown_fault_is_one_line_error():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "ear3d", "bench", "soak", "--faults", "meteor"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode != 0 and "unknown fault 'meteor'" in run.stderr


@pytest.mark.parametrize("started_again", [False, True], ids=["killed", "killed-and-started-again"])
def test_the_jack_server_a_bench_owns_leaves_jacks_shared_state_as_it_was(started_again):
    """The soak's audio-server fault kills jackd (and starts it again), and a killed jackd cleans
    up nothing: its /dev/shm files stay, and so does its slot in JACK's server registry (eight per
    machine, then no server starts at all). Closing the server frees both and leaves no jackd
    running, whether or not it was started again (real jackd, real files)."""
    import time

    from ear3d.bench.jack_dummy import JackDummy, JackUnavailable

    name = f"ear3d-jack-dummy-{os.getpid()}"  # not the jack_server fixture's name: both may run in this process
    registry = Path("/dev/shm/jack-shm-registry")
    try:
        server = JackDummy(name).start()
    except JackUnavailable as e:
        pytest.skip(str(e))
    pids = [server.pid]
    try:
        server.kill()
        assert list(Path("/dev/shm").glob(f"jack*{name}*"))  # a killed server leaves its files…
        assert name.encode() in registry.read_bytes()  # …and its registry slot
        if started_again:  # as the fault does
            server.launch()
            pids.append(server.pid)
            deadline = time.monotonic() + 15
            while not server.ready():
                assert time.monotonic() < deadline, "jackd did not start again"
                time.sleep(0.1)
    finally:
        server.close()
    assert not list(Path("/dev/shm").glob(f"jack*{name}*"))
    assert name.encode() not in registry.read_bytes()
    running = subprocess.run(["pgrep", "-f", f"jackd .*-n {name} "], capture_output=True, text=True, check=False)
    assert running.stdout == "", f"a jackd named {name} is still running: {running.stdout}"
