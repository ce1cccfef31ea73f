"""Real rtmidi ports on the JACK dummy server: a virtual controller (an output looped into
ear3d's input, and an input that receives ear3d's feedback) is found by the port watcher,
learned, gets feedback, takes over softly, and is reconnected after being unplugged."""

from __future__ import annotations

import time

import mido

from ear3d.config import ControlConfig
from ear3d.control.params import Parameters
from ear3d.control.surfaces import ControlSurfaces

JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def cc(control: int, value: int) -> mido.Message:
    return mido.Message("control_change", control=control, value=value)


def test_jack_controller_learn_feedback_pickup_and_hot_plug(jack_server, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EAR3D_CONFIG_DIR", str(tmp_path))
    backend = mido.Backend(JACK_BACKEND)
    to_ear3d = backend.open_output("ctl", virtual=True)  # the controller's knobs
    from_ear3d = backend.open_input("ctl", virtual=True)  # its motor faders / LEDs
    params = Parameters()
    surfaces = ControlSurfaces(ControlConfig(midi_input="ctl", osc=False, hot_plug_s=0.2), params, backend=backend)
    try:
        assert wait_for(lambda: any(d.connected and d.output is not None for d in surfaces.devices))
        (device,) = surfaces.devices
        assert device.router.mapping.name == "generic"
        time.sleep(0.2)
        list(from_ear3d.iter_pending())  # the full state sent on connect
        # learn
        surfaces.learn.begin("edge_gain")
        to_ear3d.send(cc(60, 0))
        assert wait_for(lambda: surfaces.learn.learning is None), "the learn message never arrived"
        assert surfaces.learn.bindings_for("edge_gain") == ["RtMidiOut Client:ctl: CC 60 ch 1"]
        # feedback: a change made elsewhere reaches the controller's input port
        value = params.set("edge_gain", params.spec("edge_gain").hi)
        surfaces.feedback({"edge_gain": value})
        assert wait_for(lambda: any(m.type == "control_change" and m.control == 60 and m.value == 127
                                    for m in from_ear3d.iter_pending()))
        # pickup (generic has soft takeover): the knob far below does nothing, then passes the value
        to_ear3d.send(cc(60, 10))
        time.sleep(0.2)
        assert surfaces.drain() == [] and surfaces.pickup_state("edge_gain")[1] is False
        to_ear3d.send(cc(60, 126))  # (127 would be taken for the echo of the feedback just sent)
        assert wait_for(lambda: surfaces.drain() is not None and surfaces.pickup_state("edge_gain")[1])
        # hot-plug: unplug, keep going, plug back in: same mapping, state resent
        to_ear3d.close()
        from_ear3d.close()
        assert wait_for(lambda: not device.connected)
        to_ear3d = backend.open_output("ctl", virtual=True)
        from_ear3d = backend.open_input("ctl", virtual=True)
        assert wait_for(lambda: device.connected and device.output is not None)
        assert surfaces.learn.bindings_for("edge_gain") == ["RtMidiOut Client:ctl: CC 60 ch 1"]
        assert wait_for(lambda: any(m.type == "control_change" and m.control == 60 and m.value == 127
                                    for m in from_ear3d.iter_pending()))
    finally:
        surfaces.close()
        to_ear3d.close()
        from_ear3d.close()


def test_a_gui_change_in_the_live_app_reaches_the_controller_and_its_echo_changes_nothing(
        jack_server, gl_context, tiny_config, tmp_path, monkeypatch) -> None:
    """End to end: LiveApp opens the controller by itself (the port watcher on rtmidi's JACK
    backend), a parameter changed through ``LiveApp.command`` (as the GUI does) arrives on the
    controller's input port, and the motor fader's echo of it is not taken as a new change."""
    from ear3d.app import LiveApp
    from ear3d.gfx.offscreen import OffscreenTarget
    from ear3d.messages import Command

    monkeypatch.setenv("EAR3D_CONFIG_DIR", str(tmp_path))
    backend = mido.Backend(JACK_BACKEND)
    monkeypatch.setattr(mido, "backend", backend)  # the app's default backend: JACK's
    to_ear3d = backend.open_output("ctl", virtual=True)
    from_ear3d = backend.open_input("ctl", virtual=True)
    cfg = tiny_config.replace({"control": {"midi_input": ("ctl",), "osc": False, "hot_plug_s": 0.2},
                               "audio": {"device": "no-such-device"}})
    target = OffscreenTarget(gl_context, 160, 96, samples=0)
    app = LiveApp(cfg, gl_context, out_dir=tmp_path)
    try:
        assert wait_for(lambda: any(d.connected and d.output is not None for d in app.control.devices))
        (device,) = app.control.devices
        app.wait_until_ready()
        app.frame(target.fbo, 1 / 30)
        time.sleep(0.2)
        list(from_ear3d.iter_pending())  # the full state sent on connect and when the model was ready
        app.command(Command("exposure", 2.5))  # the GUI's path: CC 74 of the generic mapping spans 0.25-2.5
        app.frame(target.fbo, 1 / 30)
        got: list[mido.Message] = []
        assert wait_for(lambda: got.extend(from_ear3d.iter_pending()) or any(
            m.type == "control_change" and m.control == 74 and m.value == 127 for m in got)), got
        mapped = device.router.counts["mapped"]
        to_ear3d.send(cc(74, 127))  # a motor fader moving there echoes the value
        assert wait_for(lambda: device.router.counts["echoes"] >= 1)
        assert device.router.counts["mapped"] == mapped and app.control.drain() == []  # no new change
    finally:
        app.close()
        target.release()
        to_ear3d.close()
        from_ear3d.close()
