"""The live app on a real moderngl-window headless window (EGL): frames render, keys and
MIDI change what is drawn, bad commands never stop the loop."""

import time

import mido
import moderngl_window as mglw
import numpy as np
import pytest

from ear3d.app import LiveApp, window_class
from ear3d.config import load
from ear3d.control.midi import MidiInput
from ear3d.messages import Command


@pytest.fixture(scope="module")
def window():
    cfg = load(None, ["model.preset=tiny", "render.width=320", "render.height=192", "audio.device=no-such-device"])
    w = mglw.create_window_config_instance(window_class(cfg), args=["--window", "headless", "--backend", "egl"])
    yield w
    w.on_close()
    w.wnd.destroy()


def draw(w) -> np.ndarray:
    w.on_render(0.0, 1 / 30)
    return np.frombuffer(w.wnd.fbo.read(components=3), np.uint8).reshape(192, 320, 3)


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
    app.midi.close()
    app.midi = MidiInput.from_port(port, app.midi_router)
    port.send(mido.Message("control_change", control=74, value=0))  # generic mapping: CC 74 → exposure
    deadline = time.time() + 2
    while app.params.get("exposure") != app.params.spec("exposure").lo and time.time() < deadline:
        app._next_midi_apply = 0.0
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
