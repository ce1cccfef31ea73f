"""MIDI mapping files: which controller messages change which live parameters.

A mapping is a TOML file ``assets/midi/NAME.toml``::

    name = "generic"                 # optional, defaults to the file name
    description = "..."              # optional

    [cc]
    7 = "volume"                     # CC 7, any channel: 0–127 spread over volume's range
    65 = "highlight_layer:next"      # CC as a button: the action fires on values >= 64

    [cc.74]                          # the long form of one CC binding
    param = "sphere_scale"           # either param ...
    # action = "sphere_scale:reset"  # ... or action
    channel = 0                      # optional: only MIDI channel 0–15 (default: any)
    min = 0.5                        # optional sub-range for CC 0 and CC 127 (min > max inverts)
    max = 2.0
    # trigger = "change"             # actions only: fire on every value, not just on >= 64

    [note]
    36 = "highlight_layer:prev"      # note-on (velocity > 0) runs the action
    [note.38]
    action = "highlight_layer:reset"
    channel = 9

Actions are ``"<param>:next"``, ``"<param>:prev"``, ``"<param>:reset"``, ``"<param>:toggle"`` or
``"<param>:<number>"`` (set to that value, e.g. a pad that selects layer 3).
Everything is checked when the file loads; each problem raises ControlError naming the file
and the key.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ear3d import paths
from ear3d.control.params import ACTIONS, ALL_PARAMS, ControlError, ParamSpec

_TOP_KEYS = ("name", "description", "cc", "note")
_CC_KEYS = ("param", "action", "channel", "min", "max", "trigger")
_NOTE_KEYS = ("action", "channel")
_TRIGGERS = ("press", "change")


@dataclass(frozen=True)
class Action:
    """What a button does: ``verb`` is next, prev, reset or set (then ``value`` is the target)."""

    param: str
    verb: str
    value: float | None = None

    @property
    def text(self) -> str:
        """The action as written in a mapping file."""
        return f"{self.param}:{self.value if self.verb == 'set' else self.verb}"


@dataclass(frozen=True)
class CCBinding:
    """One control-change number: either a continuous ``param`` over ``lo``–``hi``, or an ``action``."""

    control: int
    channel: int | None = None
    param: str | None = None
    lo: float = 0.0
    hi: float = 1.0
    action: Action | None = None
    trigger: str = "press"


@dataclass(frozen=True)
class NoteBinding:
    """One note number whose note-on runs ``action``."""

    note: int
    action: Action
    channel: int | None = None


@dataclass(frozen=True)
class MidiMapping:
    """A validated mapping: CC number → CCBinding and note number → NoteBinding."""

    name: str
    cc: dict[int, CCBinding] = field(default_factory=dict)
    notes: dict[int, NoteBinding] = field(default_factory=dict)
    description: str = ""
    source: Path | None = None


def mapping_dir() -> Path:
    """The folder of named mappings (``assets/midi``)."""
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
    return parse_mapping(data, specs, source=path)


def parse_mapping(
    data: dict[str, Any], specs: Sequence[ParamSpec] = ALL_PARAMS, source: Path | None = None
) -> MidiMapping:
    """Validate already-parsed TOML data (see the module docstring for the format)."""
    return _Parser({s.name: s for s in specs}, source).mapping(data)


class _Parser:
    def __init__(self, specs: dict[str, ParamSpec], source: Path | None) -> None:
        self.specs = specs
        self.source = source

    def fail(self, message: str) -> ControlError:
        where = f"MIDI mapping {self.source}" if self.source else "MIDI mapping"
        return ControlError(f"{where}: {message}")

    def mapping(self, data: dict[str, Any]) -> MidiMapping:
        self.keys("top level", data, _TOP_KEYS)
        name = data.get("name", self.source.stem if self.source else "mapping")
        description = data.get("description", "")
        for key, value in (("name", name), ("description", description)):
            if not isinstance(value, str):
                raise self.fail(f"{key} must be a string, got {type(value).__name__} {value!r}")
        cc = {}
        for key, value in self.table("cc", data.get("cc", {})).items():
            number = self.number("cc", key)
            cc[number] = self.cc_binding(number, value)
        notes = {}
        for key, value in self.table("note", data.get("note", {})).items():
            number = self.number("note", key)
            notes[number] = self.note_binding(number, value)
        return MidiMapping(name=name, cc=cc, notes=notes, description=description, source=self.source)

    def keys(self, where: str, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
        unknown = [k for k in table if k not in allowed]
        if unknown:
            raise self.fail(f"unknown key {unknown[0]!r} in {where}; allowed keys: {', '.join(allowed)}")

    def table(self, where: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"[{where}] must be a table, got {type(value).__name__} {value!r}")
        return value

    def number(self, section: str, key: str) -> int:
        what = "CC number" if section == "cc" else "note number"
        try:
            number = int(key, 10)
        except ValueError:
            raise self.fail(f"[{section}] key {key!r} is not a {what}; use 0–127") from None
        if not 0 <= number <= 127:
            raise self.fail(f"[{section}] key {key!r}: {what} {number} is out of range; use 0–127")
        return number

    def param(self, where: str, name: Any) -> ParamSpec:
        if not isinstance(name, str) or name not in self.specs:
            raise self.fail(f"{where}: unknown parameter {name!r}; known parameters: {', '.join(self.specs)}")
        return self.specs[name]

    def action(self, where: str, text: Any) -> Action:
        if not isinstance(text, str) or ":" not in text:
            raise self.fail(
                f"{where}: {text!r} is not an action; use '<param>:next', ':prev', ':reset' or ':<number>'"
            )
        name, _, verb = text.partition(":")
        spec = self.param(where, name)
        verb = verb.strip()
        if verb in ACTIONS:
            return Action(spec.name, verb)
        try:
            value = float(verb)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise self.fail(f"{where}: unknown action {verb!r} for {name!r}; use next, prev, reset or a number")
        if not spec.lo <= value <= spec.hi:
            raise self.fail(f"{where}: value {value} is outside {name!r}'s range {spec.lo}–{spec.hi}")
        return Action(spec.name, "set", spec.clamp(value))

    def channel(self, where: str, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 15:
            raise self.fail(f"{where}: channel must be an integer 0–15, got {value!r}")
        return value

    def bound(self, where: str, key: str, spec: ParamSpec, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(f"{where}: {key} must be a finite number, got {value!r}")
        if not spec.lo <= value <= spec.hi:
            raise self.fail(f"{where}: {key} = {value} is outside {spec.name!r}'s range {spec.lo}–{spec.hi}")
        return float(value)

    def cc_binding(self, number: int, value: Any) -> CCBinding:
        where = f"[cc] {number}"
        if isinstance(value, str):
            value = {"action": value} if ":" in value else {"param": value}
        table = self.table(f"cc.{number}", value)
        self.keys(f"[cc.{number}]", table, _CC_KEYS)
        channel = self.channel(where, table.get("channel"))
        if ("param" in table) == ("action" in table):
            raise self.fail(f"{where}: give exactly one of 'param' or 'action'")
        if "action" in table:
            for key in ("min", "max"):
                if key in table:
                    raise self.fail(f"{where}: {key!r} applies to 'param' bindings, not actions")
            trigger = table.get("trigger", "press")
            if trigger not in _TRIGGERS:
                raise self.fail(f"{where}: trigger must be one of {', '.join(_TRIGGERS)}, got {trigger!r}")
            return CCBinding(number, channel, action=self.action(where, table["action"]), trigger=trigger)
        if "trigger" in table:
            raise self.fail(f"{where}: 'trigger' applies to 'action' bindings, not 'param'")
        spec = self.param(where, table["param"])
        lo = self.bound(where, "min", spec, table.get("min", spec.lo))
        hi = self.bound(where, "max", spec, table.get("max", spec.hi))
        return CCBinding(number, channel, param=spec.name, lo=lo, hi=hi)

    def note_binding(self, number: int, value: Any) -> NoteBinding:
        where = f"[note] {number}"
        if isinstance(value, str):
            value = {"action": value}
        table = self.table(f"note.{number}", value)
        self.keys(f"[note.{number}]", table, _NOTE_KEYS)
        if "action" not in table:
            raise self.fail(f"{where}: missing 'action'")
        return NoteBinding(number, self.action(where, table["action"]), self.channel(where, table.get("channel")))
