"""The on-screen controls in the live window (ear3d.live_window.LiveWindow on moderngl-window's
headless EGL window) over the live app (tiny model): widgets driven through ImGui's input queue
change parameters that reach the worker and the picture; MIDI learn from a widget's menu;
every panel draws with and without sound, and while the model loads."""

import dataclasses
import time

import mido
import numpy as np
import pytest

from ear3d.app import LiveApp
from ear3d.config import load
from ear3d.control.params import Parameters, ParamSpec
from ear3d.live_window import LiveWindow
from ear3d.messages import Command
from ear3d.ui.gui import Gui
from ear3d.ui.panels import inspector
from ear3d.ui.state import Rates, neuron_at

W, H = 960, 540


@pytest.fixture(scope="module")
def window():
    cfg = load(None, ["model.preset=tiny", "render.adaptive=false", f"render.width={W}", f"render.height={H}",
                      "audio.device=no-such-device",
                      "control.midi_input=", "control.osc=false"])
    w = LiveWindow(cfg, backend="headless")
    w.loading_picture = draw(w, 2)  # the loading card, before the model is ready (ImGui sizes it in frame 1)
    w.app.wait_until_ready()
    w.gui.expand_all()
    draw(w)
    yield w
    w.close()


def draw(w, frames: int = 1) -> np.ndarray:
    for _ in range(frames):
        w.draw(1 / 30)
    return np.frombuffer(w.wnd.fbo.read(components=3), np.uint8).reshape(H, W, 3)[::-1]


def click(w, x: float, y: float, button: int = 1) -> None:
    """A click as the window hands it over (press and release in separate frames);
    ``button``: moderngl-window's (1 left, 2 right)."""
    w._on_move(x, y, 0, 0)
    draw(w)
    w._on_press(x, y, button)
    draw(w)
    w._on_release(x, y, button)
    draw(w)


def toggle(w, action: str) -> None:
    w.app.command(Command(f"app:{action}"))


def scene_only(w) -> np.ndarray:
    """A frame with the panels hidden (performance mode)."""
    toggle(w, "performance")
    try:
        return draw(w, 2)
    finally:
        toggle(w, "performance")


def test_loading_card_is_drawn_while_the_model_loads(window):
    img = window.loading_picture
    card = img[H // 2 + 24:H // 2 + 120, W // 2 - 200:W // 2 + 200]  # below the app's swinging bar
    assert (card.max(axis=2) > 150).sum() > 300  # the text on the card


def test_panels_draw_over_the_scene_and_hide(window):
    with_panels = draw(window, 2)
    for name in ("target_layer", "channel_pos", "exposure", "sphere_scale", "volume", "mix_origin", "time_jitter",
                 "minimise", "audio_device"):
        assert name in window.gui.rects, f"no widget for {name}"
    only_scene = scene_only(window)
    assert window.gui.rects == {}  # performance mode: only the picture
    left = slice(20, 300)  # the left column
    assert np.abs(with_panels[:, left].astype(int) - only_scene[:, left]).sum() > 0
    toggle(window, "help")  # F1: the help table over the panels
    with_help = draw(window, 2)
    toggle(window, "help")
    middle = slice(W // 2 - 60, W // 2 + 60)
    assert np.abs(with_help[:, middle].astype(int) - with_panels[:, middle]).sum() > 0
    toggle(window, "panels")  # TAB
    hidden = draw(window, 2)
    toggle(window, "panels")
    assert window.gui.rects == {}
    assert hidden[:, left].astype(int).sum() < with_panels[:, left].astype(int).sum()


def test_exposure_slider_brightens_the_picture(window):
    app: LiveApp = window.app
    app.command(Command("exposure", 1.0))
    draw(window)
    background = scene_only(window)[0, 0].astype(int)
    before = (scene_only(window).astype(int) - background).clip(0).sum()  # light above the background
    window.gui.expand_only("Look", "Status")
    draw(window)
    x0, y0, x1, y1 = window.gui.rects["exposure"]
    click(window, x0 + 0.9 * (x1 - x0), (y0 + y1) / 2)  # a click on a slider sets the value there
    spec = app.params.spec("exposure")
    assert spec.to_normalized(app.params.get("exposure")) > 0.75  # along the slider's (log) scale
    assert (scene_only(window).astype(int) - background).clip(0).sum() > before * 1.2


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


def test_display_combo_switches_to_the_dome_and_back(window):
    from ear3d.config import DISPLAY_MODES

    app: LiveApp = window.app
    dome, flat = DISPLAY_MODES.index("dome"), DISPLAY_MODES.index("flat")
    window.gui.expand_only("Look")
    draw(window)
    try:
        for want in (dome, flat):
            draw(window)  # the panels back after a picture without them
            x0, y0, x1, y1 = window.gui.rects["display"]
            click(window, (x0 + x1) / 2, (y0 + y1) / 2)  # opens the list
            draw(window)
            x0, y0, x1, y1 = window.gui.rects[f"display#{want}"]
            click(window, (x0 + x1) / 2, (y0 + y1) / 2)
            assert app.params.get("display") == want
            draw(window)  # the change is applied at the start of the next frame
            assert app.session.scene.display_mode == DISPLAY_MODES[want]
            corner = scene_only(window)[:8, :8]
            if want == dome:
                assert corner.max() == 0  # outside the domemaster's circle: black
            else:
                assert corner.max() > 0  # the flat view's background reaches the corner
    finally:
        app.command(Command("display", flat))
        draw(window)


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
    while "no/such/clip.wav" not in app.status()["last_error"] and time.time() < deadline:
        draw(window)
        time.sleep(0.05)
    # the typed path was tried as the origin: the status line says it cannot be read
    assert "no/such/clip.wav" in app.status()["last_error"] and app.origin != "no/such/clip.wav"


def test_new_parameter_gets_a_widget_without_gui_code(window, monkeypatch):
    app: LiveApp = window.app
    extra = ParamSpec("grain", 0.0, 8.0, 1.0, "a test parameter in the look group", group="look")
    extra_log = ParamSpec("grain_size", 0.001, 10.0, 0.1, "a log-scale test parameter", scale="log", group="view")
    params = Parameters(app.params.specs.values())
    monkeypatch.setattr(app, "params", Parameters((*params.specs.values(), extra, extra_log)))
    window.gui.expand_only("Look", "Views")
    draw(window, 2)
    assert "grain" in window.gui.rects and "grain_size" in window.gui.rects

    x0, y0, x1, y1 = window.gui.rects["grain"]
    click(window, x0 + 0.5 * (x1 - x0), (y0 + y1) / 2)
    assert app.params.get("grain") == pytest.approx(4.0, abs=0.5)
    x0, y0, x1, y1 = window.gui.rects["grain_size"]
    click(window, x0 + 0.5 * (x1 - x0), (y0 + y1) / 2)
    assert app.params.get("grain_size") == pytest.approx(0.1, rel=0.5)  # the middle of a log slider


def test_make_target_selects_exactly_the_inspected_neuron(window):
    app: LiveApp = window.app
    layers = tuple(app.session.table.layers)
    info = max(layers, key=lambda i: min(i.channels, i.pitches))  # a layer with both axes
    neuron = neuron_at(layers, info.offset + info.pitches * (info.channels // 3) + info.pitches // 2)
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


def test_widget_menu_learns_a_midi_control_and_forgets_it(window):
    app: LiveApp = window.app
    port = mido.ports.EchoPort()
    device = app.control.add_port(port, name="Learn Test")
    try:
        window.gui.expand_only("Look")
        draw(window)
        x0, y0, x1, y1 = window.gui.rects["bloom"]
        click(window, (x0 + x1) / 2, (y0 + y1) / 2, button=2)  # right click: the widget's menu
        x0, y0, x1, y1 = window.gui.rects["bloom:learn"]
        click(window, (x0 + x1) / 2, (y0 + y1) / 2)
        assert app.control.learn.learning == "bloom"
        port.send(mido.Message("control_change", control=21, value=100))  # a knob nothing else uses
        deadline = time.time() + 5
        while app.control.learn.learning is not None and time.time() < deadline:
            app._next_control_drain = 0.0
            draw(window)
            time.sleep(0.01)
        assert app.control.learn.bindings_for("bloom") == ["Learn Test: CC 21 ch 1"]
        for value in (0, 127, 32):  # the learned knob drives bloom
            port.send(mido.Message("control_change", control=21, value=value))
        deadline = time.time() + 5
        spec = app.params.spec("bloom")
        want = spec.from_normalized(32 / 127)
        while app.params.get("bloom") != pytest.approx(want, rel=1e-3) and time.time() < deadline:
            app._next_control_drain = 0.0
            draw(window)
            time.sleep(0.01)
        assert app.params.get("bloom") == pytest.approx(want, rel=1e-3)
        x0, y0, x1, y1 = window.gui.rects["bloom"]
        click(window, (x0 + x1) / 2, (y0 + y1) / 2, button=2)
        x0, y0, x1, y1 = window.gui.rects["bloom:unlearn"]
        click(window, (x0 + x1) / 2, (y0 + y1) / 2)
        assert app.control.learn.bindings_for("bloom") == []
    finally:
        device.detach()
        app.control.extra.remove(device)


def test_click_on_a_sphere_shows_it_in_the_inspector(window):
    app: LiveApp = window.app
    scene = app.session.scene
    # Hold the picture still: no orbit, no new activations (a new table resizes the spheres),
    # and the loop position fixed (it moves the key-frame positions and the sphere sizes while
    # the click's frames are drawn, so a point on a sphere's rim could change neuron).
    app.orbit_paused = True
    app.session.worker.send(Command("pause"))
    app.playback.phase = lambda: 0.25  # an instance attribute over the method, deleted below
    try:
        draw(window, 3)
        hit = next(((x, y) for y in range(60, H - 60, 6) for x in range(360, W - 360, 6)
                    if scene.pick(x + 0.5, y + 0.5, (W, H)) is not None), None)  # between the columns
        assert hit is not None, "no sphere between the panels"
        x, y = hit[0] + 0.5, hit[1] + 0.5
        expected = scene.pick(x, y, (W, H))
        click(window, x, y)
        assert app.picked == expected
        layers = tuple(app.session.table.layers)
        assert window.gui.inspected == neuron_at(layers, expected)
    finally:
        del app.playback.phase
        app.orbit_paused = False
        app.session.worker.send(Command("resume"))


def test_output_device_choice_reopens_playback_there(window):
    app: LiveApp = window.app
    app.command(Command("app:audio_device", "another-missing-device"))
    assert app.config.audio.device == "another-missing-device"
    assert app.playback.output is None and "another-missing-device" in app.playback.problem
    app.command(Command("app:audio_device", "no-such-device"))
    assert "no-such-device" in app.playback.problem


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
