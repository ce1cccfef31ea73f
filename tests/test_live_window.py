"""The live window under a virtual X server, through the same entry point as `make run`
(`python -m ear3d … live`): it opens, draws the network with the on-screen controls, real X
input (xdotool) changes parameters by key and by panel slider, moves the camera, picks a
sphere, opens the help and hides the panels, and a session round-trips through the file."""

from __future__ import annotations

import json
import os
import re
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
W, H = 960, 540  # the panels take the sides; the middle shows the network
BASE_ARGS = ["--set", "model.preset=tiny", "--set", f"render.width={W}", "--set", f"render.height={H}",
             "--set", "audio.device=no-such-device", "--set", "render.orbit_speed=0",
             "--set", "optimize.time_jitter=7", "--set", "render.camera_smoothing=0", "--set", "render.adaptive=false",
             "-v"]
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

    def wait_for(self, text: str, timeout: float, after: int = 0) -> str:
        """The first log line from line ``after`` on that contains ``text``."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.lines[after:] if text in line), None)
            if found is not None:
                return found
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                log = "".join(self.lines)[-3000:]
                pytest.fail(f"no {text!r} in the log of ear3d (exit {self.proc.poll()}):\n{log}")
            time.sleep(0.1)

    def rects(self, after: int, need: str, timeout: float = 60.0) -> dict[str, list[int]]:
        """The GUI's widget rectangles (window units) from the first "gui rects" log line
        from line ``after`` on that has widget ``need``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if "gui rects: " in line:
                    rects = json.loads(line.split("gui rects: ", 1)[1])
                    if need in rects:
                        return rects
            time.sleep(0.1)
        pytest.fail(f"no widget {need!r} in the GUI's log:\n{''.join(self.lines)[-3000:]}")

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
                         timeout=20, check=False)
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
    assert f"WIDTH={W}" in geometry and f"HEIGHT={H}" in geometry
    xdotool(xvfb_display, "mousemove", "--window", window, str(W // 2), str(H // 2))  # focus follows the pointer
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
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 2
    assert "params.exposure" in out.stderr and "bad.toml" in out.stderr and "Traceback" not in out.stderr


def screenshot(app: Ear3d, display: str) -> np.ndarray:
    """The window as ear3d draws it (F12: the app's own screenshot key), (H, W, 3) uint8."""
    mark = len(app.lines)
    xdotool(display, "key", "F12")
    line = app.wait_for("screenshot: ", 60, after=mark)
    return np.asarray(Image.open(line.split("screenshot: ", 1)[1].strip()).convert("RGB"))


def test_panels_take_real_clicks_and_the_scene_takes_the_rest(xvfb_display, tmp_path):  # noqa: F811
    session = tmp_path / "session.toml"
    app = Ear3d(xvfb_display, ["live", "--session", str(session), "--save-at-exit", "--out", str(tmp_path)])
    ready = app.lines.index(app.wait_for("ready after", READY_TIMEOUT_S))
    rects = app.rects(ready, "channel_width")
    window = xdotool(xvfb_display, "search", "--sync", "--name", "^ear3d").split()[0]
    left_edge = max(r[2] for r in rects.values())  # right edge of the left column's widgets
    mid_x, mid_y = (left_edge + W) // 2 - 60, H // 2  # between the columns
    xdotool(xvfb_display, "mousemove", "--window", window, str(mid_x), str(mid_y))

    # A click on a sphere picks it (the brightest pixel between the panels is a sphere).
    picture = screenshot(app, xvfb_display).astype(int).max(axis=2)
    x0, x1 = left_edge + 30, W - 360
    y, x = np.unravel_index(picture[40:H - 40, x0:x1].argmax(), (H - 80, x1 - x0))
    mark = len(app.lines)
    xdotool(xvfb_display, "mousemove", "--window", window, str(x + x0), str(y + 40))
    xdotool(xvfb_display, "click", "1")
    picked = app.wait_for("picked", 60, after=mark)
    assert re.search(r"picked neuron \d+: layer \S+, channel \d+, pitch \d+", picked), picked

    # A click on a panel slider sets the parameter there and does not turn the camera.
    x0, y0, x1, y1 = rects["channel_width"]
    mark = len(app.lines)
    xdotool(xvfb_display, "mousemove", "--window", window, str(int(x0 + 0.9 * (x1 - x0))), str((y0 + y1) // 2))
    xdotool(xvfb_display, "click", "1")
    app.wait_for("parameters: channel_width", 60, after=mark)

    # A drag between the panels turns the camera.
    xdotool(xvfb_display, "mousemove", "--window", window, str(mid_x), str(mid_y))
    xdotool(xvfb_display, "mousedown", "1")
    for _ in range(6):
        xdotool(xvfb_display, "mousemove_relative", "--", "12", "0")
        time.sleep(0.05)
    xdotool(xvfb_display, "mouseup", "1")

    # F1 puts the help over the middle of the window; F1 again takes it away; TAB hides the panels.
    before = screenshot(app, xvfb_display).astype(int)
    xdotool(xvfb_display, "key", "F1")
    screenshot(app, xvfb_display)  # ImGui sizes a new window in its first frame, shows it in the next
    with_help = screenshot(app, xvfb_display).astype(int)
    middle = (slice(H // 2 - 100, H // 2 + 100), slice(W // 2 - 100, W // 2 + 100))
    assert np.abs(with_help[middle] - before[middle]).mean() > 10
    xdotool(xvfb_display, "key", "F1")
    mark = len(app.lines)
    xdotool(xvfb_display, "key", "Tab")
    app.wait_for("gui rects: {}", 60, after=mark)
    xdotool(xvfb_display, "key", "Escape")
    log = app.finish()

    saved = tomllib.loads(session.read_text())
    spec_hi = 1.0  # channel_width runs 0–1
    assert saved["params"]["channel_width"] > 0.8 * spec_hi
    assert abs(saved["camera"]["yaw"] - HOME_YAW) > 0.2  # the drag turned the camera (orbit_speed = 0)
    assert "Traceback" not in log


def test_f3_switches_the_display_mode_live_and_the_pixels_follow(xvfb_display, tmp_path):  # noqa: F811
    """A real F3 key turns the anaglyph into a dome: black outside the image circle (which fills
    the window's height), the network inside it; a click there says why it does not pick."""
    app = Ear3d(xvfb_display, ["live", "--display", "anaglyph-dubois", "--out", str(tmp_path)])
    ready = app.lines.index(app.wait_for("ready after", READY_TIMEOUT_S))
    app.rects(ready, "channel_width")
    window = xdotool(xvfb_display, "search", "--sync", "--name", "^ear3d").split()[0]
    xdotool(xvfb_display, "mousemove", "--window", window, str(W // 2), str(H // 2))
    mark = len(app.lines)
    xdotool(xvfb_display, "key", "Tab")  # the panels away: the whole window is the output
    app.wait_for("gui rects: {}", 60, after=mark)
    before = screenshot(app, xvfb_display).astype(int)

    mark = len(app.lines)
    xdotool(xvfb_display, "key", "F3")  # anaglyph-dubois → dome (the next of config.DISPLAY_MODES)
    app.wait_for("parameters: display = 6", 60, after=mark)
    dome = screenshot(app, xvfb_display).astype(int)
    ys, xs = np.mgrid[0:H, 0:W]
    radius = np.hypot(xs + 0.5 - W / 2, ys + 0.5 - H / 2) / (H / 2)  # 1 at the image circle
    outside, inside = radius > 1.02, radius < 0.98
    assert dome[outside].max() == 0  # a projector must not light the dome's surroundings
    assert before[outside].max(axis=1).mean() > dome[outside].max(axis=1).mean() + 1  # the anaglyph drew there
    lit = (dome.max(axis=2) > 40) & inside
    columns = np.flatnonzero(lit.any(axis=0))
    # From the dome's home near the network (not the flat view's, where it is a dot at the
    # zenith, a third of the circle across) it spans most of the image circle.
    assert columns[-1] - columns[0] > 0.45 * H, (columns[0], columns[-1])
    for half in (xs < W / 2, xs >= W / 2):  # on both sides of the centre
        assert (lit & half).sum() > 200

    mark = len(app.lines)
    xdotool(xvfb_display, "click", "1")
    app.wait_for("no picking in the dome display", 60, after=mark)
    xdotool(xvfb_display, "key", "Escape")
    assert "Traceback" not in app.finish()
