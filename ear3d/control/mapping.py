"""MIDI mapping files: which controls of a controller change which live parameters or run which actions.

A mapping is a TOML file (``assets/midi/NAME.toml``, or a learned one in the user config
folder, see control.user_config)::

    name = "mine"                    # optional, defaults to the file name
    description = "..."              # optional
    ports = ["nanoKONTROL2"]         # port-name substrings that pick this mapping automatically
    channel = 0                      # default channel filter of every binding (0–15; default: any)
    feedback = true                  # default: send values back to the controller (motor faders, LEDs)
    pickup = false                   # default: soft takeover (a control takes over once it passes the value)

    [cc]
    7 = "volume"                     # CC 7: 0–127 spread over volume's range
    65 = "highlight_layer:next"      # CC as a button: the action fires on values >= 64
    66 = "app:screenshot"            # an action of the app

    [cc.74]                          # the long form
    param = "exposure"               # either param ...
    # action = "exposure:reset"      # ... or action
    channel = 1                      # only MIDI channel 1 (0–15)
    min = 0.5                        # the value at CC 0 (min > max inverts) ...
    max = 2.0                        # ... and at CC 127
    curve = "exp"                    # linear (default) | exp (fine at the bottom) | log (fine at the top)
    mode = "absolute"                # absolute (default) or a relative encoder: twos_complement,
                                     # binary_offset, sign_magnitude
    step = 0.01                      # relative: travel per tick (integers: 1 per tick)
    bits = 14                        # CC 0–31 with its LSB on CC n + 32
    pickup = true                    # per binding
    feedback = false
    # trigger = "change"             # actions only: fire on every value, not just on >= 64

    [nrpn.1024]                      # NRPN 0–16383 (CC 99/98 then 6/38, or 96/97 to step)
    param = "volume"

    [pitchbend.0]                    # pitch bend of MIDI channel 0 (14-bit)
    param = "orbit_speed"

    [program]                        # program change N recalls scene N + offset
    action = "app:recall_scene"
    offset = 1

    [note]
    36 = "highlight_layer:prev"      # trigger: note-on runs the action
    [note.40]
    param = "mute"
    mode = "toggle"                  # trigger (default) | momentary (on while held) | toggle
    on = 1                           # optional values for on and off (default: the range's ends)
    off = 0
    feedback_on = 127                # velocities sent back for on and off (LED colours on some pads)
    feedback_off = 0

Actions are ``"<param>:next"``, ``":prev"``, ``":reset"``, ``":toggle"``, ``"<param>:<number>"``
(set that value) or ``"app:<name>"`` (an app action, see control.actions; ``value = N`` gives
one that needs a value, e.g. ``{ action = "app:recall_scene", value = 2 }``).
Everything is checked when the file loads; a problem raises ControlError naming the file, the
line and the key.
"""

from __future__ import annotations

import fnmatch
import math
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ear3d import paths
from ear3d.control.actions import APP_ACTION_VALUES, APP_ACTIONS
from ear3d.control.events import ControlEvent
from ear3d.control.params import ACTIONS, ALL_PARAMS, ControlError, ParamSpec
from ear3d.control.scaling import CURVES, Scaling
from ear3d.messages import Command

_TOP_KEYS = ("name", "description", "ports", "channel", "feedback", "pickup", "based_on",
             "cc", "note", "nrpn", "pitchbend", "program")
_SECTIONS = ("cc", "note", "nrpn", "pitchbend")
_CONTINUOUS_KEYS = ("param", "action", "value", "channel", "min", "max", "curve", "pickup", "feedback")
_KEYS = {
    "cc": (*_CONTINUOUS_KEYS, "mode", "step", "bits", "trigger"),
    "nrpn": (*_CONTINUOUS_KEYS, "step", "bits"),
    "pitchbend": _CONTINUOUS_KEYS,
    "note": ("param", "action", "value", "channel", "mode", "on", "off", "feedback", "feedback_on", "feedback_off"),
    "program": ("action", "channel", "offset"),
}
#: Modes of CC bindings: absolute, or the three common relative encoder codings.
CC_MODES = ("absolute", "twos_complement", "binary_offset", "sign_magnitude")
NOTE_MODES = ("trigger", "momentary", "toggle")
TRIGGERS = ("press", "change")
#: Relative travel per encoder tick when a binding gives no ``step``.
DEFAULT_STEP = 1.0 / 128


@dataclass(frozen=True)
class Action:
    """What a button does: ``param`` with verb next, prev, reset, toggle or set (then ``value``
    is the target), or an app action (``param`` = "app", ``verb`` its name, ``value`` its argument)."""

    param: str
    verb: str
    value: Any = None

    @property
    def text(self) -> str:
        """The action as written in a mapping file."""
        if self.param == "app":
            return f"app:{self.verb}"
        return f"{self.param}:{self.value if self.verb == 'set' else self.verb}"

    def command(self, value: Any = None) -> Command:
        """The command to run (``value`` replaces an app action's own, e.g. a program number)."""
        if self.param == "app":
            return Command(f"app:{self.verb}", self.value if value is None else value)
        if self.verb == "set":
            return Command(self.param, self.value)
        return Command(f"{self.param}:{self.verb}")


@dataclass(frozen=True)
class Binding:
    """One control of a controller and what it drives.

    ``source``: cc, nrpn, pitchbend, note or program; ``number``: CC, NRPN or note number (the
    channel for pitch bend, 0 for program); ``channel``: the only MIDI channel listened to
    (None = any). Continuous bindings drive ``param`` through ``scaling``; buttons run
    ``action`` (or, for notes, switch ``param`` between ``on`` and ``off``).
    """

    source: str
    number: int
    channel: int | None = None
    param: str | None = None
    action: Action | None = None
    scaling: Scaling = Scaling()
    mode: str = "absolute"
    bits: int = 7
    step: float = DEFAULT_STEP
    trigger: str = "press"
    on: float | None = None
    off: float | None = None
    offset: int = 1
    pickup: bool = False
    feedback: bool = True
    feedback_on: int = 127
    feedback_off: int = 0

    # the names the first mapping format used
    @property
    def control(self) -> int:
        return self.number

    @property
    def note(self) -> int:
        return self.number

    @property
    def lo(self) -> float | None:
        return self.scaling.lo

    @property
    def hi(self) -> float | None:
        return self.scaling.hi

    @property
    def target(self) -> str:
        """The parameter or action this binding drives, as the learn API names it."""
        return self.param if self.param is not None else self.action.text  # type: ignore[union-attr]

    @property
    def relative(self) -> bool:
        """A relative encoder (sends steps, not positions)."""
        return self.mode in CC_MODES[1:]

    def matches_channel(self, channel: int) -> bool:
        return self.channel is None or self.channel == channel

    def describe(self) -> str:
        """How people name the control: "CC 81", "note 36 ch 10", "pitch bend ch 1"."""
        channel = "" if self.channel is None else f" ch {self.channel + 1}"
        if self.source == "pitchbend":
            return f"pitch bend ch {self.number + 1}"
        if self.source == "program":
            return f"program change{channel}"
        what = {"cc": "CC14" if self.bits == 14 else "CC", "nrpn": "NRPN", "note": "note"}[self.source]
        return f"{what} {self.number}{channel}"


#: The names the first mapping format used.
CCBinding = NoteBinding = Binding


@dataclass(frozen=True)
class MidiMapping:
    """A validated mapping: one binding per control of each kind."""

    name: str
    cc: dict[int, Binding] = field(default_factory=dict)
    notes: dict[int, Binding] = field(default_factory=dict)
    nrpn: dict[int, Binding] = field(default_factory=dict)
    pitchbend: dict[int, Binding] = field(default_factory=dict)  # by channel
    program: Binding | None = None
    description: str = ""
    source: Path | None = None
    ports: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)  # top-level channel, feedback, pickup
    based_on: str = ""

    def bindings(self) -> Iterator[Binding]:
        """Every binding."""
        yield from self.cc.values()
        yield from self.notes.values()
        yield from self.nrpn.values()
        yield from self.pitchbend.values()
        if self.program is not None:
            yield self.program

    @property
    def pairs14(self) -> frozenset[int]:
        """MSB numbers of the 14-bit CC pairs (for control.events.EventDecoder)."""
        return frozenset(n for n, b in self.cc.items() if b.bits == 14)

    def lookup(self, event: ControlEvent) -> Binding | None:
        """The binding that ``event`` moves, or None."""
        kind = event.kind
        if kind == "cc":
            b = self.cc.get(event.number)
            b = b if b is not None and b.bits == 7 else None
        elif kind == "cc14":
            b = self.cc.get(event.number)
        elif kind in ("nrpn", "nrpn_step"):
            b = self.nrpn.get(event.number)
        elif kind == "pitchbend":
            b = self.pitchbend.get(event.channel)
        elif kind == "program":
            b = self.program
        else:
            b = self.notes.get(event.number)
        return b if b is not None and b.matches_channel(event.channel) else None

    def with_binding(self, binding: Binding) -> MidiMapping:
        """A copy where ``binding`` replaces whatever its control did."""
        return self._replace_tables(lambda b: b.source == binding.source and b.number == binding.number, binding)

    def without(self, target: str) -> MidiMapping:
        """A copy without the bindings that drive ``target`` (a parameter or an action's text)."""
        return self._replace_tables(lambda b: b.target == target or b.param == target, None)

    def _replace_tables(self, drop: Any, add: Binding | None) -> MidiMapping:
        tables: dict[str, dict[int, Binding]] = {s: {} for s in _SECTIONS}
        program = None
        for b in [*self.bindings(), *([add] if add is not None else [])]:
            if b is not add and drop(b):
                continue
            if b.source == "program":
                program = b
            else:
                tables[b.source][b.number] = b
        return replace(self, cc=tables["cc"], notes=tables["note"], nrpn=tables["nrpn"],
                       pitchbend=tables["pitchbend"], program=program)


def mapping_dir() -> Path:
    """The folder of shipped mappings (``assets/midi``)."""
    return paths.assets() / "midi"


def available_mappings() -> list[str]:
    """Names of the mapping files under ``assets/midi``."""
    folder = mapping_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def resolve_mapping_path(name_or_path: str | Path) -> Path:
    """A Path stays a path; a string with a slash or ending in .toml is a path; else ``assets/midi/NAME.toml``."""
    if isinstance(name_or_path, Path):
        return name_or_path
    text = str(name_or_path).strip()
    if not text:
        raise ControlError(f"no MIDI mapping named; available: {', '.join(available_mappings()) or 'none'}")
    if "/" in text or "\\" in text or text.endswith(".toml"):
        return Path(text)
    return mapping_dir() / f"{text}.toml"


def port_matches(pattern: str, port_name: str) -> bool:
    """A port-name pattern: a glob when it has * ? or [, else a substring; case-insensitive."""
    pattern, name = pattern.strip().lower(), port_name.lower()
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name, f"*{pattern}*")
    return bool(pattern) and pattern in name


def mapping_for_port(port_name: str, specs: Sequence[ParamSpec] = ALL_PARAMS) -> MidiMapping:
    """The shipped mapping whose ``ports`` match ``port_name``, else the generic one."""
    for name in available_mappings():
        mapping = load_mapping(name, specs)
        if any(port_matches(p, port_name) for p in mapping.ports):
            return mapping
    return load_mapping("generic", specs)


def load_mapping(name_or_path: str | Path, specs: Sequence[ParamSpec] = ALL_PARAMS) -> MidiMapping:
    """Read and validate a mapping file; parameter names are checked against ``specs``."""
    path = resolve_mapping_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ControlError(
            f"MIDI mapping {str(name_or_path)!r} not found: no file {path}; "
            f"available mappings: {', '.join(available_mappings()) or 'none'}"
        ) from None
    except OSError as e:
        raise ControlError(f"cannot read MIDI mapping {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ControlError(f"MIDI mapping {path} is not UTF-8 text: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ControlError(f"MIDI mapping {path} is not valid TOML: {e}") from None
    return _Parser({s.name: s for s in specs}, path, text).mapping(data)


def parse_mapping(
    data: dict[str, Any], specs: Sequence[ParamSpec] = ALL_PARAMS, source: Path | None = None
) -> MidiMapping:
    """Validate already-parsed TOML data (see the module docstring for the format)."""
    return _Parser({s.name: s for s in specs}, source, "").mapping(data)


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def _key_parts(text: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in text.split("."))


def key_line(text: str, path: Sequence[str]) -> int | None:
    """The 1-based line of ``text`` (TOML) that best locates the key ``path`` (e.g. ("cc", "74", "min")):
    the line defining the longest prefix of it; None when no line does. TOML parsers give line
    numbers only for syntax errors; this finds them for bad values."""
    target = tuple(str(p) for p in path)
    best, best_len = None, 0
    table: tuple[str, ...] = ()
    for i, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = _key_parts(header.group(1))
            here = table
        else:
            key = _KEY.match(line)
            if not key:
                continue
            here = table + _key_parts(key.group(1))
        n = len(here)
        if n > best_len and target[:n] == here:
            best, best_len = i, n
    return best


class _Parser:
    def __init__(self, specs: Mapping[str, ParamSpec], source: Path | None, text: str) -> None:
        self.specs = specs
        self.source = source
        self.text = text
        self.defaults: dict[str, Any] = {}

    def fail(self, path: Sequence[Any], message: str) -> ControlError:
        where = f"MIDI mapping {self.source}" if self.source else "MIDI mapping"
        line = key_line(self.text, [str(p) for p in path]) if self.text and path else None
        if line is not None:
            where += f", line {line}"
        return ControlError(f"{where}: {message}")

    def mapping(self, data: dict[str, Any]) -> MidiMapping:
        self.keys((), "top level", data, _TOP_KEYS)
        name = data.get("name", self.source.stem if self.source else "mapping")
        for key in ("name", "description", "based_on"):
            value = name if key == "name" else data.get(key, "")
            if not isinstance(value, str):
                raise self.fail((key,), f"{key} must be a string, got {type(value).__name__} {value!r}")
        ports = data.get("ports", [])
        if isinstance(ports, str):
            ports = [ports]
        if not isinstance(ports, list) or not all(isinstance(p, str) and p.strip() for p in ports):
            raise self.fail(("ports",), f"ports must be a list of port-name patterns, got {ports!r}")
        self.defaults = {"channel": self.channel(("channel",), "channel", data.get("channel")),
                         "feedback": self.flag(("feedback",), "feedback", data.get("feedback", True)),
                         "pickup": self.flag(("pickup",), "pickup", data.get("pickup", False))}
        tables: dict[str, dict[int, Binding]] = {}
        for section in _SECTIONS:
            tables[section] = {}
            for key, value in self.table((section,), f"[{section}]", data.get(section, {})).items():
                number = self.number(section, key)
                tables[section][number] = self.binding(section, number, key, value)
        program = None
        if "program" in data:
            program = self.binding("program", 0, None, data["program"])
        return MidiMapping(name=name, cc=tables["cc"], notes=tables["note"], nrpn=tables["nrpn"],
                           pitchbend=tables["pitchbend"], program=program, description=data.get("description", ""),
                           source=self.source, ports=tuple(ports), defaults=self.defaults,
                           based_on=data.get("based_on", ""))

    def keys(self, path: tuple, where: str, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
        unknown = [k for k in table if k not in allowed]
        if unknown:
            raise self.fail((*path, unknown[0]),
                            f"unknown key {unknown[0]!r} in {where}; allowed keys: {', '.join(allowed)}")

    def table(self, path: tuple, where: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"{where} must be a table, got {type(value).__name__} {value!r}")
        return value

    def number(self, section: str, key: str) -> int:
        what, top = {"cc": ("CC number", 127), "note": ("note number", 127), "nrpn": ("NRPN number", 16383),
                     "pitchbend": ("MIDI channel", 15)}[section]
        try:
            number = int(key, 10)
        except ValueError:
            raise self.fail((section, key), f"[{section}] key {key!r} is not a {what}; use 0–{top}") from None
        if not 0 <= number <= top:
            raise self.fail((section, key), f"[{section}] key {key!r}: {what} {number} is out of range; use 0–{top}")
        return number

    def param(self, path: tuple, where: str, name: Any) -> ParamSpec:
        if not isinstance(name, str) or name not in self.specs:
            raise self.fail(path, f"{where}: unknown parameter {name!r}; known parameters: {', '.join(self.specs)}")
        return self.specs[name]

    def action(self, path: tuple, where: str, text: Any, value: Any = None) -> Action:
        if not isinstance(text, str) or ":" not in text:
            raise self.fail(path, f"{where}: {text!r} is not an action; use '<param>:next', ':prev', ':reset', "
                                  f"':toggle', ':<number>' or 'app:<name>'")
        name, _, verb = text.partition(":")
        verb = verb.strip()
        if name == "app":
            return self.app_action(path, where, verb, value)
        spec = self.param(path, where, name)
        if verb in ACTIONS:
            return Action(spec.name, verb)
        try:
            number = float(verb)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise self.fail(path, f"{where}: unknown action {verb!r} for {name!r}; use next, prev, reset, toggle "
                                  f"or a number")
        if not spec.lo <= number <= spec.hi:
            raise self.fail(path, f"{where}: value {number} is outside {name!r}'s range {spec.lo}–{spec.hi}")
        return Action(spec.name, "set", spec.clamp(number))

    def app_action(self, path: tuple, where: str, name: str, value: Any) -> Action:
        if name not in APP_ACTIONS:
            raise self.fail(path, f"{where}: unknown app action {name!r}; known: {', '.join(APP_ACTIONS)}")
        kind = APP_ACTION_VALUES.get(name)
        if kind == "scene" and value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                                      or value < 1):
            raise self.fail(path, f"{where}: app:{name} needs a scene number from 1 as value, got {value!r}")
        if kind == "text" and value is not None and not isinstance(value, str):
            raise self.fail(path, f"{where}: app:{name} needs a text value, got {value!r}")
        if kind is None and value is not None:
            raise self.fail(path, f"{where}: app:{name} takes no value")
        return Action("app", name, value)

    def channel(self, path: tuple, where: str, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 15:
            raise self.fail(path, f"{where}: channel must be an integer 0–15, got {value!r}")
        return value

    def flag(self, path: tuple, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"{key} must be true or false, got {value!r}")
        return value

    def choice(self, path: tuple, where: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(path, f"{where}: {key} must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def real(self, path: tuple, where: str, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(path, f"{where}: {key} must be a finite number, got {value!r}")
        return float(value)

    def bound(self, path: tuple, where: str, key: str, spec: ParamSpec, value: Any) -> float:
        value = self.real(path, where, key, value)
        if not spec.lo <= value <= spec.hi:
            raise self.fail(path, f"{where}: {key} = {value} is outside {spec.name!r}'s range {spec.lo}–{spec.hi}")
        return value

    def binding(self, section: str, number: int, key: str | None, value: Any) -> Binding:
        where = f"[{section}] {key}" if key is not None else f"[{section}]"
        path: tuple = (section, key) if key is not None else (section,)
        if isinstance(value, str):
            value = {"action": value} if ":" in value or section == "program" else {"param": value}
        table = self.table(path, f"[{section}.{key}]" if key is not None else f"[{section}]", value)
        self.keys(path, f"[{section}.{key}]" if key is not None else f"[{section}]", table, _KEYS[section])
        at = lambda k: (*path, k)  # noqa: E731  (the path of one key, for the error's line)
        common: dict[str, Any] = {
            "channel": self.channel(at("channel"), where, table.get("channel", self.defaults["channel"])),
            "feedback": self.flag(at("feedback"), "feedback", table.get("feedback", self.defaults["feedback"])),
        }
        if section == "program":
            action = self.action(at("action"), where, table.get("action", "app:recall_scene"))
            offset = table.get("offset", 1)
            if isinstance(offset, bool) or not isinstance(offset, int):
                raise self.fail(at("offset"), f"{where}: offset must be an integer, got {offset!r}")
            return Binding("program", 0, action=action, offset=offset, **common)
        if section == "pitchbend":
            common["channel"] = number
        if ("param" in table) == ("action" in table):
            raise self.fail(path, f"{where}: give exactly one of 'param' or 'action'")
        if "action" in table:
            return self.action_binding(section, number, where, table, at, common)
        spec = self.param(at("param"), where, table["param"])
        if section == "note":
            return self.note_binding(number, where, table, at, spec, common)
        for k in ("trigger", "value"):
            if k in table:
                raise self.fail(at(k), f"{where}: {k!r} applies to 'action' bindings, not 'param'")
        lo = self.bound(at("min"), where, "min", spec, table["min"]) if "min" in table else None
        hi = self.bound(at("max"), where, "max", spec, table["max"]) if "max" in table else None
        curve = self.choice(at("curve"), where, "curve", table.get("curve", "linear"), CURVES)
        mode = self.choice(at("mode"), where, "mode", table.get("mode", "absolute"), CC_MODES)
        bits = table.get("bits", 14 if section in ("nrpn", "pitchbend") else 7)
        if bits not in (7, 14):
            raise self.fail(at("bits"), f"{where}: bits must be 7 or 14, got {bits!r}")
        if section == "cc" and bits == 14 and not (number < 32 and mode == "absolute"):
            raise self.fail(at("bits"), f"{where}: a 14-bit CC pair needs an absolute CC 0–31 (LSB on CC n + 32)")
        step = self.real(at("step"), where, "step", table.get("step", DEFAULT_STEP))
        if not 0 < step <= 1:
            raise self.fail(at("step"), f"{where}: step must be in (0, 1], a fraction of the travel, got {step:g}")
        pickup = self.flag(at("pickup"), "pickup", table.get("pickup", self.defaults["pickup"]))
        return Binding(section, number, param=spec.name, scaling=Scaling(lo, hi, curve), mode=mode, bits=bits,
                       step=step, pickup=pickup and mode == "absolute", **common)

    def action_binding(self, section: str, number: int, where: str, table: dict[str, Any], at: Any,
                       common: dict[str, Any]) -> Binding:
        for k in ("min", "max", "curve", "step", "bits", "pickup", "on", "off"):
            if k in table:
                raise self.fail(at(k), f"{where}: {k!r} applies to 'param' bindings, not actions")
        action = self.action(at("action"), where, table["action"], table.get("value"))
        if "value" in table and action.param != "app":
            raise self.fail(at("value"), f"{where}: 'value' applies to app actions; write '<param>:<number>'")
        trigger = self.choice(at("trigger"), where, "trigger", table.get("trigger", "press"), TRIGGERS)
        mode = table.get("mode", "trigger" if section == "note" else "absolute")
        if mode != ("trigger" if section == "note" else "absolute"):
            raise self.fail(at("mode"), f"{where}: an action binding is a trigger; mode {mode!r} needs a 'param'")
        return Binding(section, number, action=action, trigger=trigger, mode=mode, channel=common["channel"],
                       feedback=False)

    def note_binding(self, number: int, where: str, table: dict[str, Any], at: Any, spec: ParamSpec,
                     common: dict[str, Any]) -> Binding:
        mode = self.choice(at("mode"), where, "mode", table.get("mode", "toggle"), NOTE_MODES)
        on = self.bound(at("on"), where, "on", spec, table["on"]) if "on" in table else None
        off = self.bound(at("off"), where, "off", spec, table["off"]) if "off" in table else None
        velocities: dict[str, int] = {}
        for k in ("feedback_on", "feedback_off"):
            v = table.get(k, 127 if k == "feedback_on" else 0)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 127:
                raise self.fail(at(k), f"{where}: {k} must be a velocity 0–127, got {v!r}")
            velocities[k] = v
        return Binding("note", number, param=spec.name, mode=mode, on=on, off=off,
                       feedback_on=velocities["feedback_on"], feedback_off=velocities["feedback_off"], **common)


def binding_to_toml(b: Binding) -> dict[str, Any]:
    """One binding in the long form of the file format (only what differs from the defaults)."""
    out: dict[str, Any] = {}
    if b.param is not None:
        out["param"] = b.param
    else:
        out["action"] = b.action.text  # type: ignore[union-attr]
        if b.action.param == "app" and b.action.value is not None and b.source != "program":  # type: ignore
            out["value"] = b.action.value  # type: ignore[union-attr]
    if b.channel is not None and b.source != "pitchbend":
        out["channel"] = b.channel
    if b.scaling.lo is not None:
        out["min"] = b.scaling.lo
    if b.scaling.hi is not None:
        out["max"] = b.scaling.hi
    if b.scaling.curve != "linear":
        out["curve"] = b.scaling.curve
    if b.source == "cc" and b.mode != "absolute" or b.source == "note" and b.param is not None:
        out["mode"] = b.mode
    if b.source == "cc" and b.bits == 14 or b.source == "nrpn" and b.bits == 7:
        out["bits"] = b.bits
    if b.step != DEFAULT_STEP and b.param is not None and b.source in ("cc", "nrpn"):
        out["step"] = b.step
    if b.trigger != "press":
        out["trigger"] = b.trigger
    for k in ("on", "off"):
        if getattr(b, k) is not None:
            out[k] = getattr(b, k)
    if b.source == "note" and b.param is not None:
        out.update(feedback_on=b.feedback_on, feedback_off=b.feedback_off)
    if b.source == "program":
        out["offset"] = b.offset
    if b.param is not None:
        out["feedback"] = b.feedback
        if b.source != "note":
            out["pickup"] = b.pickup
    return out


def mapping_to_toml(mapping: MidiMapping) -> dict[str, Any]:
    """The whole mapping as TOML data that :func:`parse_mapping` reads back into an equal mapping."""
    out: dict[str, Any] = {"name": mapping.name}
    if mapping.description:
        out["description"] = mapping.description
    if mapping.ports:
        out["ports"] = list(mapping.ports)
    if mapping.based_on:
        out["based_on"] = mapping.based_on
    for section, table in (("cc", mapping.cc), ("note", mapping.notes), ("nrpn", mapping.nrpn),
                           ("pitchbend", mapping.pitchbend)):
        if table:
            out[section] = {str(n): binding_to_toml(b) for n, b in sorted(table.items())}
    if mapping.program is not None:
        out["program"] = binding_to_toml(mapping.program)
    return out
