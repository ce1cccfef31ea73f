"""Every kind of binding, soft takeover, feedback, echo suppression and MIDI learn, through real
mido messages and mido's own ports (EchoPort) where no MIDI backend exists."""

from __future__ import annotations

import mido
import pytest
from waiting import wait_for

from ear3d.config import ControlConfig
from ear3d.control.mapping import load_mapping, mapping_to_toml, parse_mapping
from ear3d.control.midi import MidiRouter, relative_ticks
from ear3d.control.params import Parameters
from ear3d.control.surfaces import ControlSurfaces
from ear3d.messages import Command

MAPPING = """
name = "all kinds"
[cc]
7 = "volume"
[cc.16]
param = "highlight_layer"
mode = "twos_complement"
[cc.17]
param = "volume"
mode = "sign_magnitude"
step = 0.25
[cc.1]
param = "exposure"
bits = 14
[cc.20]
param = "volume"
curve = "exp"
[cc.21]
param = "volume"
pickup = true
[nrpn.1024]
param = "sphere_scale"
[pitchbend.2]
param = "orbit_speed"
[program]
action = "app:recall_scene"
[note.40]
param = "mute"
mode = "toggle"
[note.41]
param = "volume"
mode = "momentary"
on = 0.9
off = 0.1
"""


def cc(control: int, value: int, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", control=control, value=value, channel=channel)


@pytest.fixture
def router(tmp_path) -> MidiRouter:
    path = tmp_path / "all.toml"
    path.write_text(MAPPING)
    return MidiRouter(load_mapping(path), Parameters())


def run(router: MidiRouter, *messages) -> list[Command]:
    for m in messages:
        router.handle(m)
    commands = router.drain()
    for c in commands:
        if not c.name.startswith("app:"):
            router.params.apply(c)
    return commands


def test_relative_codings() -> None:
    assert [relative_ticks(v, "twos_complement") for v in (1, 3, 127, 125)] == [1, 3, -1, -3]
    assert [relative_ticks(v, "binary_offset") for v in (65, 64, 63)] == [1, 0, -1]
    assert [relative_ticks(v, "sign_magnitude") for v in (1, 65, 66)] == [1, -1, -2]


def test_encoders_step_and_sum_within_a_frame(router: MidiRouter) -> None:
    p = router.params
    run(router, cc(16, 1), cc(16, 1), cc(16, 1))  # integer parameter: one per tick, summed
    assert p.get("highlight_layer") == 2
    run(router, cc(16, 127))
    assert p.get("highlight_layer") == 1
    p.set("volume", 0.5)
    run(router, cc(17, 65))  # sign-magnitude: one tick down, a quarter of the travel
    assert p.get("volume") == pytest.approx(0.25)


def test_14bit_nrpn_pitchbend_program(router: MidiRouter) -> None:
    p = router.params
    spec = p.spec("exposure")
    run(router, cc(1, 64), cc(33, 0))
    assert p.get("exposure") == pytest.approx(spec.from_normalized(8192 / 16383))
    run(router, cc(1, 127), cc(33, 127))
    assert p.get("exposure") == spec.hi
    run(router, cc(99, 8), cc(98, 0), cc(6, 127), cc(38, 127))  # NRPN 8·128 + 0 = 1024
    assert p.get("sphere_scale") == p.spec("sphere_scale").hi
    run(router, cc(96, 0))  # data decrement... no: 96 is increment; at the top it stays there
    assert p.get("sphere_scale") == p.spec("sphere_scale").hi
    run(router, cc(97, 0))
    assert p.get("sphere_scale") < p.spec("sphere_scale").hi
    run(router, mido.Message("pitchwheel", pitch=8191, channel=2))
    assert p.get("orbit_speed") == p.spec("orbit_speed").hi
    assert run(router, mido.Message("pitchwheel", pitch=0, channel=0)) == []  # other channel
    assert run(router, mido.Message("program_change", program=4)) == [Command("app:recall_scene", 5)]


def test_notes_toggle_and_momentary(router: MidiRouter) -> None:
    p = router.params
    run(router, mido.Message("note_on", note=40, velocity=100))
    assert p.get("mute") == 1
    run(router, mido.Message("note_off", note=40))
    assert p.get("mute") == 1
    run(router, mido.Message("note_on", note=40, velocity=1))
    assert p.get("mute") == 0
    run(router, mido.Message("note_on", note=41, velocity=100))
    assert p.get("volume") == pytest.approx(0.9)
    run(router, mido.Message("note_on", note=41, velocity=0))
    assert p.get("volume") == pytest.approx(0.1)


def test_curve_bends_the_travel(router: MidiRouter) -> None:
    run(router, cc(20, 64))
    assert 0.05 < router.params.get("volume") < 0.2  # exp: mid-travel is low
    run(router, cc(20, 127))
    assert router.params.get("volume") == 1.0


def test_pickup_waits_until_the_knob_passes_the_value(router: MidiRouter) -> None:
    p = router.params
    p.set("volume", 0.5)
    assert run(router, cc(21, 10)) == []  # far below: no jump
    assert router.pickup_state("volume") == (pytest.approx(10 / 127), False)
    assert run(router, cc(21, 40)) == []
    assert run(router, cc(21, 50), cc(21, 70)) == [Command("volume", 70 / 127)]  # passed 0.5 within one frame
    assert router.pickup_state("volume") == (pytest.approx(70 / 127), True)
    assert run(router, cc(21, 60)) == [Command("volume", 60 / 127)]  # engaged: follows
    p.set("volume", 0.1)  # changed elsewhere: lets go
    assert run(router, cc(21, 61)) == []
    assert run(router, cc(21, 5)) == [Command("volume", 5 / 127)]  # swept through 0.1


def test_feedback_encodes_and_its_echo_is_ignored(router: MidiRouter) -> None:
    out = router.feedback({"volume": 1.0, "exposure": router.params.spec("exposure").hi, "mute": 1})
    sent = {tuple(m.bytes()) for m in out}
    assert (0xB0, 7, 127) in sent and (0xB0, 1, 127) in sent and (0xB0, 33, 127) in sent  # 14-bit pair
    assert (0x90, 40, 127) in sent  # the mute pad lights
    assert router.feedback({"volume": 1.0}) == []  # already shown
    router.params.set("volume", 0.2)
    for m in out:  # the motor fader reports the position it was sent to: no change
        router.handle(m)
    assert router.drain() == [] and router.counts["echoes"] == len(out)
    router.handle(cc(7, 127))  # the same value again, now from a hand: applies
    assert router.drain() == [Command("volume", 1.0)]
    assert router.feedback({"volume": 1.0}) == []  # a control is not told what it set itself


def test_mapping_round_trips_through_toml(router: MidiRouter) -> None:
    def bindings(m):
        return sorted(m.bindings(), key=lambda b: (b.source, b.number))
    assert bindings(parse_mapping(mapping_to_toml(router.mapping))) == bindings(router.mapping)
    for name in ("bcf2000", "nanokontrol2", "apcmini", "generic"):
        m = load_mapping(name)
        assert bindings(parse_mapping(mapping_to_toml(m))) == bindings(m), name


@pytest.fixture
def surfaces(tmp_path, monkeypatch):
    monkeypatch.setenv("EAR3D_CONFIG_DIR", str(tmp_path / "config"))
    params = Parameters()
    s = ControlSurfaces(ControlConfig(midi_input="", osc=False), params)
    yield s
    s.close()


def test_learn_binds_saves_reloads_and_unlearns(surfaces: ControlSurfaces, tmp_path) -> None:
    port, out = mido.ports.EchoPort(), mido.ports.EchoPort()
    device = surfaces.add_port(port, name="Knobby:Knobby MIDI 1", output=out)
    surfaces.learn.begin("sphere_scale")
    assert surfaces.learn.learning == "sphere_scale"
    port.send(cc(50, 3, channel=4))  # unmapped in generic
    assert wait_for(lambda: surfaces.learn.learning is None)
    assert surfaces.learn.bindings_for("sphere_scale") == ["Knobby:Knobby MIDI 1: CC 50 ch 5"]
    saved = tmp_path / "config" / "midi" / "Knobby-Knobby-MIDI-1.toml"
    assert wait_for(saved.exists)  # written on the MIDI thread right after binding
    reloaded = surfaces.mapping_for("Knobby:Knobby MIDI 1")
    assert reloaded.cc[50].param == "sphere_scale" and reloaded.cc[50].channel == 4
    surfaces.params.set("sphere_scale", surfaces.params.spec("sphere_scale").lo)
    port.send(cc(50, 0, channel=4))  # generic's soft takeover: the knob picks the value up at the bottom ...
    port.send(cc(50, 127, channel=4))  # ... and drives it from there
    assert wait_for(lambda: device.router.counts["mapped"] >= 3)
    for c in surfaces.drain():
        surfaces.params.apply(c)
    assert surfaces.params.get("sphere_scale") == surfaces.params.spec("sphere_scale").hi
    surfaces.learn.begin("app:screenshot")  # actions too
    port.send(mido.Message("note_on", note=99, velocity=90))
    assert wait_for(lambda: surfaces.learn.learning is None)
    assert surfaces.learn.bindings_for("app:screenshot") == ["Knobby:Knobby MIDI 1: note 99 ch 1"]
    assert surfaces.learn.unlearn("sphere_scale") == 1
    assert surfaces.learn.bindings_for("sphere_scale") == []
    assert 50 not in surfaces.mapping_for("Knobby:Knobby MIDI 1").cc


def test_keyboard_learn_needs_a_touched_parameter(surfaces: ControlSurfaces) -> None:
    with pytest.raises(Exception, match="touch a parameter first"):
        surfaces.learn_last_touched()
    surfaces.touched("exposure")
    surfaces.learn_last_touched()
    assert surfaces.learn.learning == "exposure"
    surfaces.learn_last_touched()  # again: cancel
    assert surfaces.learn.learning is None


def test_feedback_reaches_the_output_port_and_full_state_on_connect(surfaces: ControlSurfaces) -> None:
    port, out = mido.ports.EchoPort(), mido.ports.EchoPort()
    surfaces.add_port(port, name="BCF2000:BCF2000 Port 1", output=out)
    state = list(out.iter_pending())
    assert len(state) >= 16  # every fader and ring at once
    value = surfaces.params.set("time_width", 0.5)
    surfaces.feedback({"time_width": value})
    assert [tuple(m.bytes()) for m in out.iter_pending()] == [(0xB0, 88, 64)]


def test_flood_truncation_sysex_and_out_of_range(surfaces: ControlSurfaces) -> None:
    port = mido.ports.EchoPort()
    device = surfaces.add_port(port, name="Flood", mapping=load_mapping("bcf2000"))
    for i in range(3000):
        port.send(cc(81 + i % 8, i % 128))
        if i % 100 == 0:
            port.send(mido.Message("sysex", data=[0x7F] * 200))
    assert wait_for(lambda: device.router.counts["received"] >= 3030)
    commands = surfaces.drain()
    assert len(commands) == 8  # one per fader
    assert device.router.feed_bytes(b"\xb0\x51") == 0 and device.router.counts["malformed"] == 1  # truncated
    assert device.router.feed_bytes(b"\xb0\x51\x80") == 0  # a data byte out of range (a status byte)
    assert not device.router.handle(mido.Message("pitchwheel", pitch=8191, channel=15))  # unmapped, ignored
