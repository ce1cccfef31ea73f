"""The live app on a real headless GL context (EGL): frames render, keys and MIDI change what
is drawn, bad commands never stop the loop, the config's [optimize] values survive the start."""

import time
from types import SimpleNamespace

import mido
import numpy as np
import pytest

from ear3d.app import LiveApp
from ear3d.config import load
from ear3d.gfx.context import headless_context
from ear3d.gfx.offscreen import OffscreenTarget
from ear3d.messages import Command

#: [optimize] values unlike the defaults: a live session must start with these.
USER_OPTIMIZE = {"learning_rate": 0.003, "time_jitter": 7.0, "hf_penalty": 2.5, "parametrization": "raw",
                 "pitch_width": 0.2}


@pytest.fixture(scope="module")
def window():
    cfg = load(None, ["model.preset=tiny", "render.adaptive=false", "render.width=320", "render.height=192",
                      "audio.device=no-such-device",
                      *(f"optimize.{k}={v!r}" if isinstance(v, str) else f"optimize.{k}={v}"
                        for k, v in USER_OPTIMIZE.items())])
    ctx = headless_context()
    target = OffscreenTarget(ctx, 320, 192, samples=0)
    app = LiveApp(cfg, ctx)
    first = draw(SimpleNamespace(app=app, target=target))  # the loading screen, at once
    app.wait_until_ready()
    yield SimpleNamespace(app=app, target=target, first=first)
    app.close()
    target.release()
    ctx.release()


def draw(w) -> np.ndarray:
    w.app.frame(w.target.fbo, 1 / 30)
    return w.target.read_rgb()


def test_loading_screen_is_drawn_before_the_model_is_ready(window):
    assert window.first.shape == (192, 320, 3) and window.first.max() > 100  # the sweeping bar


def test_config_optimize_values_survive_session_start(window):
    app: LiveApp = window.app
    for _ in range(3):
        draw(window)
    assert app.params.get("learning_rate") == pytest.approx(0.003)
    assert app.params.get("time_jitter") == 7.0
    assert app.params.spec("time_jitter").hi >= 7.0
    assert app.params.spec("parametrization").choice(app.params.get("parametrization")) == "raw"
    assert app.params.get("pitch_width") == 0.2
    worker = app.session.worker.config.optimize  # what the worker optimizes with
    assert (worker.learning_rate, worker.time_jitter, worker.hf_penalty, worker.parametrization) == (
        0.003, 7.0, 2.5, "raw")
    assert app.params.spec("target_layer").hi == len(app.layer_names) - 1  # sized by the model
    assert app.params.spec("highlight_layer").hi == len(app.layer_names) - 1


def test_learning_rate_key_reaches_the_worker(window):
    app: LiveApp = window.app
    app.key("UP", shift=True)
    draw(window)
    raised = app.params.get("learning_rate")
    assert raised > 0.003
    deadline = time.time() + 30
    while time.time() < deadline and app.session.worker.config.optimize.learning_rate != pytest.approx(raised):
        draw(window)
        time.sleep(0.02)
    assert app.session.worker.config.optimize.learning_rate == pytest.approx(raised)


def lit_pixels(img: np.ndarray) -> int:
    return int((img.max(axis=2) > 40).sum())


def test_frames_show_the_network(window):
    img = draw(window)
    assert lit_pixels(img) > 50  # spheres and edges
    assert (img[0, 0] < 20).all()  # background


def test_missing_audio_device_falls_back_to_wall_clock(window):
    app: LiveApp = window.app
    assert app.playback.output is None and "no-such-device" in app.playback.problem
    p0 = app.playback.phase()
    time.sleep(0.05)
    assert app.playback.phase() != p0  # the picture still moves with time


def test_keys_change_parameters(window):
    app: LiveApp = window.app
    app.key("RIGHT_BRACKET")
    app.key("RIGHT_BRACKET")
    draw(window)
    assert app.session.highlight_layer == 1
    before = draw(window).astype(int).sum()
    app.key("UP")  # exposure up
    assert draw(window).astype(int).sum() > before
    app.key("BACKSPACE")
    draw(window)
    assert app.session.highlight_layer == -1


def test_midi_message_reaches_the_picture(window):
    app: LiveApp = window.app
    port = mido.ports.EchoPort()
    app.control.add_port(port, name="Some Keyboard")  # generic mapping: CC 74 → exposure, soft takeover
    for value in (127, 0):  # the knob sweeps past the current value (taking it over), then drives it down
        port.send(mido.Message("control_change", control=74, value=value))
    deadline = time.time() + 2
    while app.params.get("exposure") != app.params.spec("exposure").lo and time.time() < deadline:
        app._next_control_drain = 0.0
        draw(window)
        time.sleep(0.01)
    assert app.params.get("exposure") == app.params.spec("exposure").lo


def test_bad_commands_never_stop_the_loop(window):
    app: LiveApp = window.app
    before = lit_pixels(draw(window))
    errors = app.errors
    for bad in (Command("volume", float("nan")), Command("no_such_param", 1), Command("app:explode"),
                Command("exposure:sideways"), Command("volume", "loud")):
        app.command(bad)
    assert app.errors == errors + 5
    assert lit_pixels(draw(window)) > 0.5 * before > 0  # still drawing (the camera orbits on)


def test_session_starts_sonifying_and_controls_steer_the_worker(window):
    app: LiveApp = window.app
    layer = app.layer_names.index(app.config.optimize.start_target)
    assert app.params.get("target_layer") == layer and app.params.get("sonify") == 1
    deadline = time.time() + 60
    while time.time() < deadline and not app.session.frame.optimizing:
        draw(window)
    frame = app.session.frame
    assert frame.optimizing and frame.step > 0 and list(frame.selected) == [app.layer_names[layer]]
    assert app.session._targets.any()  # the targets are highlighted
    app.key("T")  # next target layer
    draw(window)
    deadline = time.time() + 60
    while time.time() < deadline and list(app.session.frame.selected) != [app.layer_names[layer + 1]]:
        draw(window)
        time.sleep(0.05)
    assert list(app.session.frame.selected) == [app.layer_names[layer + 1]]
    assert app.playback.latest.serial == app.session.frame.clip.serial  # new clips reach the loop


def test_held_fly_keys_move_the_camera_while_the_orbit_is_paused(window):
    app: LiveApp = window.app
    rig = app.session.scene.rig
    app.command(Command("app:pause_orbit"))
    try:
        assert app.orbit_paused
        draw(window)
        eye = rig.goal.eye
        app.key_held("W", True)
        for _ in range(5):
            draw(window)
        app.key_held("W", False)
        moved = rig.goal.eye - eye
        assert float((moved.x ** 2 + moved.y ** 2 + moved.z ** 2) ** 0.5) > 0.01 * rig.home.distance
        still = rig.goal.eye
        draw(window)
        assert rig.goal.eye == still  # released: it stops
    finally:
        app.command(Command("app:pause_orbit"))


def test_mouse_drag_orbits_right_drag_pans_and_the_wheel_zooms(window):
    app: LiveApp = window.app
    rig = app.session.scene.rig
    app.set_view_size(320, 192)
    yaw, target, distance = rig.goal.yaw, rig.goal.target, rig.goal.distance
    app.mouse_press(160, 96, 1)
    app.mouse_move(200, 96)
    app.mouse_release(200, 96, 1)
    assert rig.goal.yaw != pytest.approx(yaw)  # left drag: orbit
    app.mouse_press(160, 96, 2)
    app.mouse_move(160, 130)
    app.mouse_release(160, 130, 2)
    assert rig.goal.target != target  # right drag: pan
    app.scroll(2.0, 160, 96)
    assert rig.goal.distance < distance  # wheel away: zoom in
    app.mouse_move(250, 20)  # no button held: the camera stays
    assert rig.goal.distance < distance
    app.command(Command("app:reset_camera"))
