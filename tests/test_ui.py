"""The on-screen controls on a real headless moderngl-window window (EGL) over the live app
(tiny model): widgets driven through ImGui's input queue change parameters that reach the
worker and the picture; every panel draws with and without sound."""

import dataclasses
import time

import moderngl_window as mglw
import numpy as np
import pytest

from ear3d.app import LiveApp, window_class
from ear3d.config import load
from ear3d.control.params import ALL_PARAMS, ParamSpec, Parameters
from ear3d.messages import Command
from ear3d.ui.gui import Gui
from ear3d.ui.panels import inspector
from ear3d.ui.state import Rates, neuron_at

W, H = 960, 540


@pytest.fixture(scope="module")
def window():
    cfg = load(None, ["model.preset=tiny", f"render.width={W}", f"render.height={H}", "audio.device=no-such-device"])
    w = mglw.create_window_config_instance(window_class(cfg), args=["--window", "headless", "--backend", "egl"])
    w.gui.expand_all()
    w.on_render(0.0, 1 / 30)
    yield w
    w.on_close()
    w.wnd.destroy()


def draw(w, frames: int = 1) -> np.ndarray:
    for _ in range(frames):
        w.on_render(0.0, 1 / 30)
    return np.frombuffer(w.wnd.fbo.read(components=3), np.uint8).reshape(H, W, 3)[::-1]


def click(w, x: float, y: float) -> None:
    """A left click through ImGui's input queue (press and release in separate frames)."""
    io = w.gui.io
    w.gui._use()
    io.add_mouse_pos_event(x, y)
    draw(w)
    io.add_mouse_button_event(0, True)
    draw(w)
    io.add_mouse_button_event(0, False)
    draw(w)


def scene_only(w) -> np.ndarray:
    """A frame with the panels hidden (performance mode)."""
    w.gui.key("F10")
    try:
        return draw(w, 2)
    finally:
        w.gui.key("F10")


def test_panels_draw_over_the_scene_and_hide(window):
    with_panels = draw(window, 2)
    only_scene = scene_only(window)
    left = slice(20, 300)  # the left column
    assert np.abs(with_panels[:, left].astype(int) - only_scene[:, left]).sum() > 0
    for name in ("target_layer", "channel_pos", "exposure", "sphere_scale", "volume", "mix_origin", "time_jitter"):
        assert name in window.gui.rects, f"no widget for {name}"
    window.gui.key("F1")  # the help table over the panels
    with_help = draw(window, 2)
    window.gui.key("F1")
    middle = slice(W // 2 - 60, W // 2 + 60)
    assert np.abs(with_help[:, middle].astype(int) - with_panels[:, middle]).sum() > 0
    window.gui.key("TAB")
    hidden = draw(window, 2)
    window.gui.key("TAB")
    assert window.gui.rects == {} or hidden[:, left].astype(int).sum() < with_panels[:, left].astype(int).sum()


def test_exposure_slider_brightens_the_picture(window):
    app: LiveApp = window.app
    app.command(Command("exposure", 1.0))
    draw(window)
    before = scene_only(window).astype(int).sum()
    window.gui.expand_only("Look", "Status")
    draw(window)
    x0, y0, x1, y1 = window.gui.rects["exposure"]
    click(window, x0 + 0.9 * (x1 - x0), (y0 + y1) / 2)  # a click on a slider sets the value there
    spec = app.params.spec("exposure")
    assert app.params.get("exposure") > spec.lo + 0.75 * (spec.hi - spec.lo)
    assert scene_only(window).astype(int).sum() > before * 1.2


def test_target_combo_aims_the_worker_at_another_layer(window):
    app: LiveApp = window.app
    names = app.layer_names
    current = int(app.params.get("target_layer"))
    want = current - 1 if current > 0 else current + 1  # a neighbour: visible in the list around the current one
    window.gui.expand_only("Target")
    draw(window)
    x0, y0, x1, y1 = window.gui.rects["target_layer"]
    click(window, (x0 + x1) / 2, (y0 + y1) / 2)  # opens the list
    draw(window)  # the list has scrolled to the current layer
    assert f"target_layer#{want}" in window.gui.rects
    x0, y0, x1, y1 = window.gui.rects[f"target_layer#{want}"]
    click(window, (x0 + x1) / 2, (y0 + y1) / 2)
    assert app.params.get("target_layer") == want
    deadline = time.time() + 60
    while names[want] not in app.session.frame.selected and time.time() < deadline:
        draw(window)
        time.sleep(0.05)
    assert set(app.session.frame.selected) == {names[want]}  # the worker's selection moved there


def test_typed_path_reaches_the_worker(window):
    app: LiveApp = window.app
    window.gui.expand_only("Origin")
    draw(window)
    x0, y0, x1, y1 = window.gui.rects["origin_path"]
    click(window, (x0 + x1) / 2, (y0 + y1) / 2)  # focus the field
    assert window.gui.want_capture_keyboard
    io = window.gui.io
    for ch in "no/such/clip.wav":
        io.add_input_character(ord(ch))
    draw(window)
    from imgui_bundle import imgui

    io.add_key_event(imgui.Key.enter, True)
    draw(window)
    io.add_key_event(imgui.Key.enter, False)
    deadline = time.time() + 30
    while "no/such/clip.wav" not in str(app.session.worker.errors.peek()[1]) and time.time() < deadline:
        draw(window)
        time.sleep(0.05)
    assert "no/such/clip.wav" in str(app.session.worker.errors.peek()[1])  # the worker tried to read it


def test_new_parameter_gets_a_widget_without_gui_code(window, monkeypatch):
    app: LiveApp = window.app
    extra = ParamSpec("edge_gain", 0.0, 8.0, 1.0, "brightness of the edges")
    extra_log = dataclasses.replace(ALL_PARAMS[0], name="grain_size", lo=0.001, hi=10.0, default=0.1, doc="a test")
    params = Parameters(ALL_PARAMS + (extra, extra_log))
    monkeypatch.setattr(app, "params", params)
    window.gui.expand_only("Look", "Views")
    draw(window, 2)
    assert "edge_gain" in window.gui.rects and "grain_size" in window.gui.rects  # look; no group: views

    x0, y0, x1, y1 = window.gui.rects["edge_gain"]
    click(window, x0 + 0.5 * (x1 - x0), (y0 + y1) / 2)
    assert params.get("edge_gain") == pytest.approx(4.0, abs=0.5)


def test_make_target_selects_exactly_the_inspected_neuron(window):
    app: LiveApp = window.app
    layers = tuple(app.session.table.layers)
    info = max(layers, key=lambda i: min(i.channels, i.pitches))  # a layer with both axes
    neuron = neuron_at(layers, info.offset + info.pitches * (info.channels // 3) + info.pitches // 2)
    window.gui.inspected = neuron
    draw(window)
    for command in inspector.target_commands(neuron, info.channels, info.pitches):
        app.command(command)
    deadline = time.time() + 60
    while time.time() < deadline:
        draw(window)
        sel = app.session.frame.selected.get(neuron.layer)
        if sel is not None and sel.any(axis=2).sum() == 1:
            break
        time.sleep(0.05)
    cells = np.argwhere(app.session.frame.selected[neuron.layer].any(axis=2))
    assert cells.tolist() == [[neuron.channel, neuron.pitch]]


def test_every_panel_draws_with_sound(window, jack_server):
    app: LiveApp = window.app
    app.playback.config = dataclasses.replace(app.playback.config, device="")
    assert app.playback.reopen()
    try:
        window.gui.expand_all()
        draw(window, 3)
        assert window.gui.rects  # panels drawn
        from ear3d.ui.panels import PanelInput, status
        from ear3d.ui.state import snapshot

        state = snapshot(app, window.gui.rates, ())
        assert state.audio.device and state.audio.problem is None
        rows = dict(status.rows(PanelInput(app.params.specs, app.params.snapshot(), state, [], window.gui.images)))
        assert "underruns" in rows["sound"]
    finally:
        app.playback.close()


def test_gui_on_a_bare_context_draws_into_a_framebuffer(window):
    ctx = window.wnd.ctx
    fbo = ctx.simple_framebuffer((400, 300))
    fbo.use()
    fbo.clear(0, 0, 0, 1)
    gui = Gui(ctx, window.app, size=(400, 300))
    try:
        for _ in range(2):
            gui.render(1 / 30, fbo)
        img = np.frombuffer(fbo.read(components=3), np.uint8)
        assert (img > 30).mean() > 0.05  # panels drawn
    finally:
        gui.release()
        fbo.release()


def test_rates_count_frames_and_steps():
    rates = Rates(window=10.0)
    for i in range(11):
        rates.tick(0.02, step=3 * i, now=i * 0.1)
    assert rates.fps == pytest.approx(10.0)
    assert rates.frame_ms == pytest.approx(20.0)
    assert rates.steps_per_s == pytest.approx(30.0)
