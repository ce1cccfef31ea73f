"""The live window under a virtual X server, through the same entry point as `make run`
(`python -m ear3d … live`): it opens, draws the network, real X input (xdotool) changes a
parameter and moves the camera, and a session round-trips through the file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.xvfb_server import xvfb_display  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
BASE_ARGS = ["--set", "model.preset=tiny", "--set", "render.width=320", "--set", "render.height=192",
             "--set", "audio.device=no-such-device", "--set", "render.orbit_speed=0",
             "--set", "optimize.time_jitter=7", "--set", "render.camera_smoothing=0", "-v"]
READY_TIMEOUT_S = 240.0
HOME_YAW = 0.45  # OrbitCamera.framing's viewpoint


class Ear3d:
    """``python -m ear3d`` on ``display``, its log collected line by line."""

    def __init__(self, display: str, args: list[str]):
        env = {**os.environ, "DISPLAY": display, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        env.pop("WAYLAND_DISPLAY", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "ear3d", *BASE_ARGS, *args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"no {text!r} in the log of ear3d (exit {self.proc.poll()}):\n{''.join(self.lines)[-3000:]}")
            time.sleep(0.1)

    def finish(self, timeout: float = 120.0) -> str:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"ear3d did not quit:\n{''.join(self.lines)[-3000:]}")
        self._reader.join(5)
        log = "".join(self.lines)
        assert rc == 0, log[-3000:]
        return log


def xdotool(display: str, *args: str) -> str:
    out = subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True,
                         timeout=20)
    assert out.returncode == 0, out.stderr
    return out.stdout


def lit_pixels(path: Path) -> int:
    img = np.asarray(Image.open(path).convert("RGB"))
    return int((img.max(axis=2) > 40).sum())


@pytest.fixture(scope="module", autouse=True)
def need_xdotool():
    if shutil.which("xdotool") is None:
        pytest.fail("xdotool not found: run `make test` (or apt-get install -y xvfb xdotool)")


def test_window_draws_takes_real_input_and_round_trips_a_session(xvfb_display, tmp_path):  # noqa: F811
    session = tmp_path / "session.toml"
    shot = tmp_path / "shot.png"
    app = Ear3d(xvfb_display, ["live", "--quit-after", "10", "--session", str(session), "--save-at-exit",
                               "--screenshot", str(shot), "--out", str(tmp_path)])
    app.wait_for("ready after", READY_TIMEOUT_S)
    window = xdotool(xvfb_display, "search", "--sync", "--name", "^ear3d").split()[0]
    geometry = xdotool(xvfb_display, "getwindowgeometry", "--shell", window)
    assert "WIDTH=320" in geometry and "HEIGHT=192" in geometry
    xdotool(xvfb_display, "mousemove", "--window", window, "160", "96")  # keyboard focus follows the pointer
    xdotool(xvfb_display, "key", "--delay", "100", "Up", "Up")  # exposure up twice
    xdotool(xvfb_display, "mousedown", "1")
    for _ in range(6):  # a drag to the right: orbit
        xdotool(xvfb_display, "mousemove_relative", "--", "12", "0")
        time.sleep(0.05)
    xdotool(xvfb_display, "mouseup", "1")
    log = app.finish()

    assert "parameters: exposure" in log
    saved = tomllib.loads(session.read_text())
    assert saved["params"]["exposure"] > 1.2  # two steps up from 1.0
    assert saved["params"]["time_jitter"] == 7.0  # the config's [optimize] value, kept from the start
    assert abs(saved["camera"]["yaw"] - HOME_YAW) > 0.2  # the drag turned the camera (orbit_speed = 0)
    assert lit_pixels(shot) > 100  # the network, not a blank frame

    # The session comes back: a second run loads it and saves it again unchanged.
    again = Ear3d(xvfb_display, ["live", "--frames", "5", "--session", str(session), "--save-at-exit",
                                 "--out", str(tmp_path)])
    again.wait_for("ready after", READY_TIMEOUT_S)
    again.finish()
    reloaded = tomllib.loads(session.read_text())
    assert reloaded["params"] == saved["params"]
    assert reloaded["camera"]["yaw"] == pytest.approx(saved["camera"]["yaw"])
    assert reloaded["camera"]["distance"] == pytest.approx(saved["camera"]["distance"])


def test_malformed_session_file_is_one_line_naming_the_key(xvfb_display, tmp_path):  # noqa: F811
    bad = tmp_path / "bad.toml"
    bad.write_text("[params]\nexposure = 'bright'\n")
    env = {**os.environ, "DISPLAY": xvfb_display, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "ear3d", "--set", "model.preset=tiny", "live", "--session", str(bad)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "params.exposure" in out.stderr and "bad.toml" in out.stderr and "Traceback" not in out.stderr
