"""Live parameters, MIDI mapping files and MIDI routing, with real mido messages and ports."""

from __future__ import annotations

import dataclasses
import logging
import math
import threading

import mido
import pytest

from ear3d.control.mapping import MidiMapping, available_mappings, load_mapping, mapping_for_port
from ear3d.control.midi import MidiRouter, parse_bytes
from ear3d.control.params import ALL_PARAMS, LIVE_PARAMS, ControlError, Parameters, ParamSpec
from ear3d.messages import Command

JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"


def cc(control: int, value: int, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", control=control, value=value, channel=channel)


def note(n: int, velocity: int = 100, channel: int = 0) -> mido.Message:
    return mido.Message("note_on", note=n, velocity=velocity, channel=channel)


def apply_all(params: Parameters, commands: list[Command]) -> None:
    for command in commands:
        assert params.apply(command), command


def without_pickup(mapping: MidiMapping) -> MidiMapping:
    """``mapping`` with soft takeover off everywhere (values apply at once)."""
    for b in list(mapping.bindings()):
        mapping = mapping.with_binding(dataclasses.replace(b, pickup=False))
    return mapping


@pytest.fixture
def generic() -> MidiRouter:
    return MidiRouter(without_pickup(load_mapping("generic")))


def write(tmp_path, text: str):
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- parameters -------------------------------------------------------------------------


def test_live_params_defaults() -> None:
    p = Parameters(LIVE_PARAMS)
    values = p.snapshot()
    assert {k: values[k] for k in ("volume", "orbit_speed", "sphere_scale", "exposure", "highlight_layer")} == {
        "volume": 0.8, "orbit_speed": 0.06, "sphere_scale": 1.0, "exposure": 1.0, "highlight_layer": -1}
    assert isinstance(p.get("highlight_layer"), int)
    assert [s.name for s in LIVE_PARAMS] == list(p.specs)
    assert [s.name for s in ALL_PARAMS] == list(Parameters().specs)


def test_set_clamps_rounds_and_validates() -> None:
    p = Parameters()
    assert p.set("volume", 2.5) == 1.0
    assert p.set("volume", -1) == 0.0
    assert p.set("highlight_layer", 2.6) == 3 and isinstance(p.get("highlight_layer"), int)
    assert p.set("highlight_layer", 1000) == 63
    for bad in (math.nan, math.inf, -math.inf, "0.5", None, True):
        with pytest.raises(ControlError, match="volume"):
            p.set("volume", bad)
    assert p.get("volume") == 0.0  # rejected values change nothing
    with pytest.raises(ControlError) as e:
        p.set("volumes", 0.5)
    assert "'volumes'" in str(e.value) and "orbit_speed" in str(e.value) and "highlight_layer" in str(e.value)
    with pytest.raises(ControlError, match="nope"):
        p.get("nope")


def test_set_normalized_step_reset() -> None:
    p = Parameters()
    assert p.set_normalized("orbit_speed", 0.0) == -1.0
    assert p.set_normalized("orbit_speed", 1.0) == 1.0
    assert p.set_normalized("orbit_speed", 7.0) == 1.0
    assert p.set_normalized("highlight_layer", 0.5) == 31
    with pytest.raises(ControlError):
        p.set_normalized("volume", math.nan)
    assert p.reset("highlight_layer") == -1
    assert p.step("highlight_layer", 1) == 0
    assert p.step("highlight_layer", -5) == -1  # clamped at the bottom
    assert p.step("volume", 1) == pytest.approx(0.8 + 1 / 16)


def test_changed_since_reports_only_changes() -> None:
    p = Parameters()
    v0, changed = p.changed_since(0)
    assert v0 == 0 and changed == {}
    p.set("volume", 0.5)
    p.set("exposure", 2.0)
    v1, changed = p.changed_since(v0)
    assert changed == {"volume": 0.5, "exposure": 2.0}
    assert p.changed_since(v1) == (v1, {})
    p.set("exposure", 2.0)  # same value: no change
    assert p.changed_since(v1) == (v1, {})
    p.set("exposure", 3.0)
    assert p.changed_since(v1)[1] == {"exposure": 3.0}


def test_apply_commands() -> None:
    p = Parameters()
    assert p.apply(Command("volume", 0.25)) and p.get("volume") == 0.25
    assert p.apply(Command("highlight_layer:next")) and p.get("highlight_layer") == 0
    assert p.apply(Command("highlight_layer:prev")) and p.get("highlight_layer") == -1
    p.set("exposure", 3)
    assert p.apply(Command("exposure:reset")) and p.get("exposure") == 1.0
    assert not p.apply(Command("load_clip", "x.wav"))  # not a parameter: left to the caller
    with pytest.raises(ControlError, match="unknown action"):
        p.apply(Command("volume:louder"))
    with pytest.raises(ControlError):
        p.apply(Command("volume", math.nan))


def test_parameters_thread_safe() -> None:
    p = Parameters()
    def worker(k: int) -> None:
        for i in range(500):
            p.set("volume", (i % 100) / 100)
            p.step("highlight_layer", 1 if k % 2 else -1)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = p.snapshot()
    assert 0 <= snap["volume"] <= 1 and -1 <= snap["highlight_layer"] <= 63


def test_paramspec_rejects_bad_ranges() -> None:
    with pytest.raises(ControlError):
        ParamSpec("x", 1.0, 0.0, 0.5, "inverted")
    with pytest.raises(ControlError):
        ParamSpec("x", 0.0, 1.0, 2.0, "default outside")


# --- mapping files ----------------------------------------------------------------------


def test_shipped_mappings_load() -> None:
    assert {"generic", "bcf2000", "nanokontrol2", "apcmini"} <= set(available_mappings())
    known = {s.name for s in ALL_PARAMS} | {"app"}
    for name in available_mappings():
        m = load_mapping(name)
        assert m.cc or m.notes
        for b in m.bindings():
            assert (b.param or b.action.param) in known
    bcf = load_mapping("bcf2000")
    assert set(range(81, 89)) <= set(bcf.cc) and set(range(1, 9)) <= set(bcf.cc)
    assert bcf.cc[81].param == "learning_rate" and bcf.cc[88].param == "time_width"
    assert all(b.feedback and not b.pickup for b in bcf.cc.values() if b.param)  # motor faders follow
    assert bcf.program is not None and bcf.program.action.verb == "recall_scene"
    sonification = {s.name for s in ALL_PARAMS if s.group in ("target", "origin", "optimizer")}
    for name in available_mappings():  # all map the sonification, not only the look
        mapped = {b.param or b.action.param for b in load_mapping(name).bindings()}
        assert len(mapped & sonification) >= 8, name
    for name, port in (("bcf2000", "BCF2000:BCF2000 Port 1 20:0"),
                       ("nanokontrol2", "nanoKONTROL2:nanoKONTROL2 _ CTRL 24:0"),
                       ("apcmini", "APC MINI:APC MINI MIDI 1 28:0"), ("generic", "Some Keyboard:Port 1 32:0")):
        assert mapping_for_port(port).name == name
    assert all(b.pickup for b in load_mapping("nanokontrol2").cc.values() if b.param)  # no motors


def test_mapping_from_path_with_short_and_long_forms(tmp_path) -> None:
    path = write(tmp_path, """
name = "mine"
[cc]
1 = "volume"
20 = "highlight_layer:3"
[cc.74]
param = "sphere_scale"
channel = 2
min = 2.0
max = 0.5
[note]
36 = "highlight_layer:next"
[note.38]
action = "highlight_layer:reset"
channel = 9
""")
    m = load_mapping(path)
    assert m.name == "mine" and m.source == path
    assert m.cc[74].channel == 2 and (m.cc[74].lo, m.cc[74].hi) == (2.0, 0.5)
    assert m.cc[20].action.verb == "set" and m.cc[20].action.value == 3
    assert m.notes[38].channel == 9
    assert load_mapping(str(path)).cc.keys() == m.cc.keys()


@pytest.mark.parametrize("text, expected", [
    ("[cc\n1 = 'volume'", "not valid TOML"),
    ("[cc]\n128 = 'volume'", "CC number 128 is out of range"),
    ("[cc]\n-1 = 'volume'", "out of range"),
    ("[cc]\nmod = 'volume'", "'mod' is not a CC number"),
    ("[cc]\n7 = 'loudness'", "unknown parameter 'loudness'; known parameters: target_layer, channel_pos"),
    ("[cc.7]\nparam = 'volume'\nchanel = 1", "unknown key 'chanel' in [cc.7]"),
    ("[cc.7]\nparam = 'volume'\nchannel = 16", "channel must be an integer 0–15"),
    ("[cc.7]\nparam = 'volume'\naction = 'volume:reset'", "exactly one of 'param' or 'action'"),
    ("[cc.7]\nparam = 'volume'\nmax = 3.0", "max = 3.0 is outside 'volume'"),
    ("[cc.7]\naction = 'volume:reset'\ntrigger = 'hold'", "trigger must be one of"),
    ("[cc]\n7 = 5", "[cc.7] must be a table"),
    ("colour = 'red'", "unknown key 'colour' in top level; allowed keys: name, description, ports"),
    ("cc = 3", "[cc] must be a table"),
    ("[note]\n36 = 'highlight_layer:sideways'", "unknown action 'sideways'"),
    ("[note.36]\nparam = 'mute'\nmode = 'hold'", "mode must be one of trigger, momentary, toggle"),
    ("[cc.7]\nparam = 'volume'\nmode = 'relative'", "mode must be one of absolute, twos_complement"),
    ("[cc.7]\nparam = 'volume'\ncurve = 'cubic'", "curve must be one of linear, log, exp"),
    ("[cc.40]\nparam = 'volume'\nbits = 14", "14-bit CC pair needs an absolute CC 0–31"),
    ("[nrpn]\n20000 = 'volume'", "NRPN number 20000 is out of range"),
    ("[pitchbend]\n16 = 'volume'", "MIDI channel 16 is out of range"),
    ("[cc]\n7 = 'app:launch'", "unknown app action 'launch'"),
    ("[cc.7]\naction = 'app:recall_scene'\nvalue = 0", "needs a scene number from 1"),
    ("[program]\noffset = 'one'", "offset must be an integer"),
    ("pickup = 'yes'", "pickup must be true or false"),
    ("[note]\n36 = 'highlight_layer:99'", "outside 'highlight_layer'"),
    ("[note]\n200 = 'volume:reset'", "note number 200 is out of range"),
    ("[note.36]\nchannel = 1", "give exactly one of 'param' or 'action'"),
    ("name = 3", "name must be a string"),
])
def test_mapping_errors_are_clear(tmp_path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ControlError) as e:
        load_mapping(path)
    assert expected in str(e.value)
    assert str(path) in str(e.value)


def test_mapping_errors_name_the_line(tmp_path) -> None:
    path = write(tmp_path, """name = "x"
[cc]
7 = "volume"
8 = { param = "volume", max = 0.9 }

[cc.74]
param = "exposure"

channel = 99
""")
    with pytest.raises(ControlError, match=r"line 9: \[cc\] 74: channel must be an integer 0–15"):
        load_mapping(path)
    path.write_text('[note]\n36 = "mute"\n[cc]\n8 = { param = "volume", max = 9.0 }\n')
    with pytest.raises(ControlError, match=r"m.toml, line 4: \[cc\] 8: max = 9.0 is outside"):
        load_mapping(path)


def test_missing_mapping_is_named() -> None:
    with pytest.raises(ControlError) as e:
        load_mapping("no-such-controller")
    message = str(e.value)
    assert "'no-such-controller' not found" in message and "no-such-controller.toml" in message
    assert "generic" in message  # lists what exists
    with pytest.raises(ControlError, match="no MIDI mapping named"):
        load_mapping("")


def test_mapping_validated_against_given_specs(tmp_path) -> None:
    path = write(tmp_path, "[cc]\n7 = 'warp'")
    with pytest.raises(ControlError, match="unknown parameter 'warp'"):
        load_mapping(path)
    specs = (*LIVE_PARAMS, ParamSpec("warp", 0.0, 10.0, 0.0, "test"))
    router = MidiRouter(load_mapping(path, specs), Parameters(specs))
    router.handle(cc(7, 127))
    assert router.drain() == [Command("warp", 10.0)]


# --- router ---------------------------------------------------------------------------


def test_cc_maps_onto_the_range(generic: MidiRouter) -> None:
    def value(msg):
        generic.handle(msg)
        (command,) = generic.drain()
        return command
    assert value(cc(7, 127)) == Command("volume", 1.0)
    assert value(cc(7, 0)) == Command("volume", 0.0)
    assert value(cc(82, 0)) == Command("mix_origin", 0.0)
    assert value(cc(28, 0)) == Command("highlight_layer", -1)
    assert value(cc(28, 127)) == Command("highlight_layer", 63)
    lr = value(cc(81, 64))  # a log-scale parameter: the middle is the geometric mean
    spec = next(s for s in ALL_PARAMS if s.name == "learning_rate")
    assert lr.name == "learning_rate" and lr.value == pytest.approx(spec.lo * (spec.hi / spec.lo) ** (64 / 127))
    assert value(cc(1, 127)) == Command("orbit_speed", 1.0)  # min/max sub-range 0..1
    assert value(cc(1, 0)) == Command("orbit_speed", 0.0)
    assert generic.drain() == []


def test_channel_filter(tmp_path) -> None:
    router = MidiRouter(load_mapping(write(tmp_path, "[cc.7]\nparam = 'volume'\nchannel = 3")))
    assert not router.handle(cc(7, 127, channel=0))
    assert router.handle(cc(7, 127, channel=3))
    assert router.drain() == [Command("volume", 1.0)]


def test_coalescing_keeps_newest_value(generic: MidiRouter) -> None:
    for i in range(100):
        generic.handle(cc(7, i))
    generic.handle(cc(83, 127))
    assert generic.drain() == [Command("volume", 99 / 127), Command("channel_pos", 1.0)]
    assert generic.drain() == []
    assert generic.counts["received"] == 101 and generic.counts["mapped"] == 101


def test_coalescing_keeps_actions_in_order(generic: MidiRouter) -> None:
    p = generic.params
    generic.handle(note(37))
    generic.handle(note(37))
    generic.handle(cc(28, 0))  # absolute value: supersedes the earlier actions on that parameter
    generic.handle(note(37))
    commands = generic.drain()
    assert commands == [Command("highlight_layer", -1), Command("highlight_layer:next")]
    apply_all(p, commands)
    assert p.get("highlight_layer") == 0


def test_actions_are_rate_limited_not_merged(tmp_path) -> None:
    router = MidiRouter(load_mapping(write(tmp_path, "[note]\n37 = 'highlight_layer:next'")), actions_per_drain=4)
    for _ in range(10):
        router.handle(note(37))
    assert [len(router.drain()) for _ in range(4)] == [4, 4, 2, 0]


def test_note_actions(generic: MidiRouter) -> None:
    p = generic.params
    for n, expected in ((37, 0), (37, 1), (36, 0), (38, -1)):
        generic.handle(note(n))
        apply_all(p, generic.drain())
        assert p.get("highlight_layer") == expected
    assert not generic.handle(note(37, velocity=0))  # note-on with velocity 0 is a note-off
    assert not generic.handle(mido.Message("note_off", note=37))
    assert not generic.handle(note(99))


def test_cc_buttons(tmp_path) -> None:
    router = MidiRouter(load_mapping(write(tmp_path, """
[cc]
65 = "highlight_layer:next"
66 = { action = "highlight_layer:prev", trigger = "change" }
67 = "highlight_layer:7"
68 = { action = "app:recall_scene", value = 2 }
""")))
    def run(msg):
        router.handle(msg)
        return router.drain()
    assert run(cc(65, 127)) == [Command("highlight_layer:next")]
    assert run(cc(65, 0)) == []  # release
    assert run(cc(66, 0)) == [Command("highlight_layer:prev")]
    assert run(cc(67, 127)) == [Command("highlight_layer", 7)]
    assert run(cc(68, 127)) == [Command("app:recall_scene", 2)]


def test_odd_messages_are_ignored(generic: MidiRouter) -> None:
    odd = [
        mido.Message("sysex", data=[1, 2, 3]),
        mido.Message("clock"),
        mido.Message("aftertouch", value=3),
        mido.Message("polytouch", note=37, value=3),
        mido.Message("songpos", pos=10),
        mido.Message("pitchwheel", pitch=1000, channel=5),  # generic binds pitch bend on channel 0 only
        mido.MetaMessage("track_name", name="x"),
        None,
        "not a message",
        cc(50, 3),  # unmapped CC
    ]
    for msg in odd:
        assert not generic.handle(msg)
    assert generic.drain() == []
    assert generic.counts["ignored"] == len(odd)


# --- raw bytes ----------------------------------------------------------------------------


@pytest.mark.parametrize("data, n_messages, n_problems", [
    (b"\xb0\x07\x7f", 1, 0),
    (b"\xb0\x07", 0, 1),                      # truncated
    (b"\x07\x40\xb0\x07\x7f", 1, 2),          # stray data bytes before any status
    (b"\xb0\x07\x90\x3c\x40", 1, 1),          # a status byte where a data byte belongs
    (b"\xb0\x07\x10\x07\x20", 2, 0),          # running status
    (b"\xb0\x07\xf8\x7f", 2, 0),              # real-time clock inside a message
    (b"\xf0\x01\x02\xf7", 1, 0),              # sysex
    (b"\xf0\x01\x02", 0, 1),                  # unterminated sysex
    (b"\xf0\x01\x90\x3c\x40", 1, 1),          # sysex cut short
    (b"\xf7\xf4\xfd\xb0\x07\x7f", 1, 3),      # stray end of sysex, undefined status bytes
    (b"\xf6\x40", 1, 1),                      # no running status after system common
    (b"", 0, 0),
])
def test_parse_bytes_counts_malformed(data: bytes, n_messages: int, n_problems: int, caplog) -> None:
    problems: list[str] = []
    with caplog.at_level(logging.WARNING, logger="ear3d.control.midi"):
        messages = parse_bytes(data, problems)
    assert len(messages) == n_messages and all(isinstance(m, mido.Message) for m in messages)
    assert len(problems) == n_problems, problems
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == (1 if n_problems else 0)
    if n_problems:
        assert f"skipped {n_problems} malformed" in warnings[0].getMessage()


def test_parse_bytes_matches_mido() -> None:
    stream = b"".join(m.bin() for m in (cc(7, 1), note(60), mido.Message("pitchwheel", pitch=-300, channel=5),
                                        mido.Message("sysex", data=[9, 8]), mido.Message("program_change", program=3)))
    assert parse_bytes(stream) == mido.parse_all(stream)


def test_router_feed_bytes_counts(generic: MidiRouter) -> None:
    assert generic.feed_bytes(b"\x07\xb0\x07\x7f\xb0\x07") == 1
    assert generic.counts["malformed"] == 2
    assert generic.drain() == [Command("volume", 1.0)]


