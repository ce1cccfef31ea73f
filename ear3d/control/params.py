"""The one registry of live parameters that the GUI, keyboard, MIDI and session files change.

Each parameter is defined once in :data:`DEFINITIONS`; where a config key exists its range,
doc and scale come from config.py's field and its start value from the loaded config
(:func:`live_specs`), so a live session starts with the user's ``[optimize]`` values.
Each parameter is described by a :class:`ParamSpec` (range, scale, default, group, choices).
:class:`Parameters` holds the current values; every write is validated (unknown names and
non-finite or non-numeric values raise :class:`ControlError`, out-of-range values are
clamped, integers rounded). Each change bumps a version so the render loop can ask
``changed_since(version)`` once a frame and get only what moved.

Commands (``ear3d.messages.Command``) address parameters in two ways, both understood by
:meth:`Parameters.apply`:

* ``Command("volume", 0.5)``: set a value (in the parameter's own units);
* ``Command("highlight_layer:next")`` (also ``:prev``, ``:reset`` and ``:toggle``): an action.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import threading
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ear3d.config import Config
from ear3d.messages import Command


class ControlError(ValueError):
    """A control parameter, value, action or mapping is unknown or invalid."""


ACTIONS = ("next", "prev", "reset", "toggle")
SCALES = ("linear", "log")
GROUPS = ("target", "origin", "optimizer", "look", "sound", "view")
#: The kinds of value a parameter stands for: a number, a switch (0/1), or one of ``choices``.
VALUE_TYPES = ("number", "bool", "choice")
#: Layer parameters' range before the model is known (then sized by :func:`live_specs`).
MAX_LAYERS = 64
#: Steps of a ``next``/``prev`` action across a continuous range.
STEPS_PER_RANGE = 16


@dataclass(frozen=True)
class ParamSpec:
    """A live parameter: inclusive range ``lo``–``hi``, default, and how it moves.

    ``scale`` is "linear" or "log" (then 0 < lo: faders, sliders and steps move it by
    ratios); ``group`` one of GROUPS (the GUI's panel); ``choices`` names the values lo,
    lo + 1, …, hi of an integer parameter (e.g. layer names, "spectral"/"raw");
    ``config_key`` is the "section.key" of the config value it starts from ('' = live only);
    ``value_type`` says what the config holds: a number, a bool (0/1) or a choice (a string).
    """

    name: str
    lo: float
    hi: float
    default: float
    doc: str
    integer: bool = False
    scale: str = "linear"
    group: str = "look"
    choices: tuple[str, ...] = ()
    config_key: str = ""
    value_type: str = "number"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo < self.hi):
            raise ControlError(f"parameter {self.name!r}: range {self.lo}–{self.hi} is not a finite lo < hi")
        if not self.lo <= self.default <= self.hi:
            raise ControlError(f"parameter {self.name!r}: default {self.default} is outside {self.lo}–{self.hi}")
        if self.scale not in SCALES or (self.scale == "log" and self.lo <= 0):
            raise ControlError(f"parameter {self.name!r}: scale {self.scale!r} needs one of {SCALES} (log: lo > 0)")
        if self.group not in GROUPS:
            raise ControlError(f"parameter {self.name!r}: group {self.group!r} is not one of {', '.join(GROUPS)}")
        if self.choices and (not self.integer or len(self.choices) != int(self.hi - self.lo) + 1):
            raise ControlError(f"parameter {self.name!r}: {len(self.choices)} choices for the integers "
                               f"{self.lo}–{self.hi}")
        if self.value_type not in VALUE_TYPES:
            raise ControlError(f"parameter {self.name!r}: value type {self.value_type!r} is not one of {VALUE_TYPES}")

    @property
    def step(self) -> float:
        """The increment of one ``next``/``prev`` action on a linear scale: 1 for integers,
        1/16 of the range otherwise (a log scale steps by 1/16 of its ratio, see :meth:`stepped`)."""
        return 1.0 if self.integer else (self.hi - self.lo) / STEPS_PER_RANGE

    def stepped(self, value: float, steps: int) -> float:
        """``value`` moved by ``steps`` steps along the scale (clamped, rounded for integers)."""
        if self.integer or self.scale == "linear":
            return self.clamp(value + steps * self.step)
        ratio = (self.hi / self.lo) ** (1.0 / STEPS_PER_RANGE)
        return self.clamp(max(value, self.lo) * ratio**steps)

    def clamp(self, value: float) -> float:
        """``value`` clamped into the range (and rounded for integer parameters); assumes it is finite."""
        value = min(max(float(value), self.lo), self.hi)
        return int(round(value)) if self.integer else value

    def between(self, a: float, b: float, x01: float) -> float:
        """The point a fraction ``x01`` (clamped to 0–1) of the way from ``a`` to ``b`` along the
        scale (geometric on a log scale), clamped into the range."""
        x = min(max(float(x01), 0.0), 1.0)
        if self.scale == "log" and a > 0 and b > 0:
            return self.clamp(a * (b / a) ** x)
        return self.clamp(a + x * (b - a))

    def from_normalized(self, x01: float) -> float:
        """0–1 mapped onto the range along the scale (clamped, rounded for integers)."""
        return self.between(self.lo, self.hi, x01)

    def to_normalized(self, value: float) -> float:
        """Where ``value`` lies along the range, 0–1 (the inverse of from_normalized)."""
        value = min(max(float(value), self.lo), self.hi)
        if self.scale == "log":
            return math.log(value / self.lo) / math.log(self.hi / self.lo)
        return (value - self.lo) / (self.hi - self.lo)

    def choice(self, value: float) -> str:
        """The name of ``value`` for a parameter with choices."""
        return self.choices[int(self.clamp(value) - self.lo)]

    def parse(self, value: Any) -> float:
        """A value as written in a session file or a command: a number, true/false for a
        switch, or a choice's name; ControlError naming the parameter otherwise."""
        if isinstance(value, bool) and self.value_type == "bool":
            return int(value)
        if isinstance(value, str) and self.choices:
            if value not in self.choices:
                raise ControlError(f"{value!r} is not a choice of {self.name!r}; choose one of "
                                   f"{', '.join(self.choices)}")
            return self.lo + self.choices.index(value)
        return self.clamp(_finite_number(f"value of {self.name!r}", value))

    def written(self, value: float) -> Any:
        """``value`` as a session file writes it: a choice's name (layers by name), an int or a float."""
        if self.choices:
            return self.choice(value)
        return int(value) if self.integer else float(value)

    def config_value(self, value: float) -> Any:
        """``value`` in the type of its config key (str for choices, bool, int or float)."""
        if self.value_type == "choice":
            return self.choice(value)
        if self.value_type == "bool":
            return bool(value)
        return int(value) if self.integer else float(value)


@dataclass(frozen=True)
class _Def:
    """One live parameter's definition: from a config key (range, doc, scale and default
    come from config.py's field) or, for live-only ones, given here."""

    name: str
    group: str
    config: str = ""  # "section.key"
    lo: float = 0.0
    hi: float = 1.0
    default: float = 0.0
    doc: str = ""
    integer: bool = False
    choices: tuple[str, ...] = ()
    scale: str = "linear"


_SWITCH = ("off", "on")

#: Every live parameter, once. Layer parameters (target_layer, highlight_layer) are sized by
#: the model in :func:`live_specs`.
DEFINITIONS: tuple[_Def, ...] = (
    # What the ear aims at (the worker's "select").
    _Def("target_layer", "target", doc="layer of the target neurons (index in the model's layer order)", integer=True),
    _Def("channel_pos", "target", "optimize.channel_pos"),
    _Def("channel_width", "target", "optimize.channel_width"),
    _Def("pitch_pos", "target", "optimize.pitch_pos"),
    _Def("pitch_width", "target", "optimize.pitch_width"),
    _Def("time_pos", "target", "optimize.time_pos"),
    _Def("time_width", "target", "optimize.time_width"),
    _Def("minimise", "target", "optimize.minimise", choices=("maximise", "minimise")),
    _Def("sonify", "target", lo=0, hi=1, default=1, doc="run the optimisation (off = pause it)", integer=True,
         choices=("paused", "running")),
    # Where the sound starts from and returns to.
    _Def("mix_origin", "origin", "optimize.mix_origin"),
    _Def("input_noise", "origin", "optimize.input_noise"),
    # The optimizer ([optimize] keys the worker takes while running).
    _Def("learning_rate", "optimizer", "optimize.learning_rate"),
    _Def("batch", "optimizer", "optimize.batch"),
    _Def("parametrization", "optimizer", "optimize.parametrization"),
    _Def("spectral_decay", "optimizer", "optimize.spectral_decay"),
    _Def("grad_norm", "optimizer", "optimize.grad_norm"),
    _Def("time_jitter", "optimizer", "optimize.time_jitter"),
    _Def("time_mask", "optimizer", "optimize.time_mask"),
    _Def("pitch_mask", "optimizer", "optimize.pitch_mask"),
    _Def("activity_penalty", "optimizer", "optimize.activity_penalty"),
    _Def("noise_penalty", "optimizer", "optimize.noise_penalty"),
    _Def("hf_penalty", "optimizer", "optimize.hf_penalty"),
    _Def("max_amplitude", "optimizer", "optimize.max_amplitude"),
    _Def("relu_redirect", "optimizer", "optimize.relu_redirect"),
    # The picture.
    _Def("sphere_scale", "look", "render.sphere_scale"),
    _Def("exposure", "look", "render.exposure"),
    _Def("edge_gain", "look", "render.edge_gain"),
    _Def("bloom", "look", "render.bloom"),
    _Def("fog", "look", "render.fog"),
    _Def("highlight_layer", "look", doc="index of the highlighted layer (-1 = none)", integer=True),
    # The sound.
    _Def("volume", "sound", "audio.volume"),
    _Def("mute", "sound", lo=0, hi=1, default=0, doc="silence the output (the loop goes on)", integer=True,
         choices=_SWITCH),
    # The view and the window.
    _Def("orbit_speed", "view", "render.orbit_speed"),
    _Def("fov", "view", "render.fov"),
    _Def("render_scale", "view", "render.scale"),
    _Def("adaptive", "view", "render.adaptive"),
    _Def("target_fps", "view", "render.target_fps"),
    _Def("display", "view", "render.display"),
    _Def("eye_separation", "view", "render.eye_separation"),
    _Def("convergence", "view", "render.convergence"),
)

#: Parameters that only the keyboard, GUI or sessions change (not from a config key).
LAYER_PARAMS = ("target_layer", "highlight_layer")


def _config_field(config: Config, key: str) -> tuple[dataclasses.Field, Any, type]:
    section_name, _, name = key.partition(".")
    section = getattr(config, section_name)
    fields = {f.name: f for f in dataclasses.fields(section)}
    return fields[name], getattr(section, name), typing.get_type_hints(type(section))[name]


def _from_config(d: _Def, config: Config) -> ParamSpec:
    """The spec of a parameter with a config key: range, doc and scale from config.py's field,
    the default from ``config`` (a value outside the field's live range widens it)."""
    f, value, tp = _config_field(config, d.config)
    meta = f.metadata
    common = dict(doc=meta.get("doc", ""), group=d.group, config_key=d.config)
    if tp is bool:
        choices = d.choices or _SWITCH
        return ParamSpec(d.name, 0, 1, int(value), integer=True, choices=choices, value_type="bool", **common)
    if "choices" in meta:
        choices = tuple(meta["choices"])
        return ParamSpec(d.name, 0, len(choices) - 1, choices.index(value), integer=True, choices=choices,
                         value_type="choice", **common)
    lo, hi = meta.get("live", meta["range"])
    lo, hi = min(lo, value), max(hi, value)
    return ParamSpec(d.name, lo, hi, value, integer=tp is int, scale=meta.get("scale", "linear"), **common)


def live_specs(config: Config | None = None, layer_names: Sequence[str] | None = None) -> tuple[ParamSpec, ...]:
    """Every live parameter, seeded from ``config`` (the defaults when None) and sized by the
    model's ``layer_names`` (without them, layer indices run to MAX_LAYERS − 1)."""
    config = config if config is not None else Config()
    specs = []
    for d in DEFINITIONS:
        if d.config:
            specs.append(_from_config(d, config))
        elif d.name in LAYER_PARAMS:
            specs.append(_layer_spec(d, config, layer_names))
        else:
            specs.append(ParamSpec(d.name, d.lo, d.hi, d.default, d.doc, d.integer, d.scale, d.group, d.choices))
    specs = [_start_sonify(s, config) if s.name == "sonify" else s for s in specs]
    return tuple(specs)


def _layer_spec(d: _Def, config: Config, names: Sequence[str] | None) -> ParamSpec:
    count = len(names) if names else MAX_LAYERS
    if d.name == "highlight_layer":
        choices = ("none", *names) if names else ()
        return ParamSpec(d.name, -1, count - 1, -1, d.doc, True, group=d.group, choices=choices)
    start = config.optimize.start_target
    default = list(names).index(start) if names and start in names else 0
    return ParamSpec(d.name, 0, max(count - 1, 1), default, d.doc, True, group=d.group,
                     choices=tuple(names) if names and count > 1 else ())


def _start_sonify(spec: ParamSpec, config: Config) -> ParamSpec:
    """Sessions whose config names no start target only listen."""
    return dataclasses.replace(spec, default=1 if config.optimize.start_target else 0)


#: Everything keyboard, MIDI and the GUI can change, with the default config (layers unsized).
ALL_PARAMS: tuple[ParamSpec, ...] = live_specs()
#: The look, sound and view parameters.
LIVE_PARAMS: tuple[ParamSpec, ...] = tuple(s for s in ALL_PARAMS if s.group in ("look", "sound", "view"))
#: The sonification, steered live (translated into worker commands by control.sonify).
SONIFY_PARAMS: tuple[ParamSpec, ...] = tuple(s for s in ALL_PARAMS if s.group in ("target", "origin", "optimizer"))


def _finite_number(what: str, value: Any) -> float:
    """``value`` as a float, or ControlError when it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ControlError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ControlError(f"{what} must be finite, got {value!r}")
    return value


class Parameters:
    """Current values of a set of live parameters; every method is thread-safe."""

    def __init__(self, specs: Iterable[ParamSpec] = ALL_PARAMS) -> None:
        self._specs: dict[str, ParamSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ControlError(f"parameter {spec.name!r} is defined twice")
            self._specs[spec.name] = spec
        self._lock = threading.Lock()
        self._values: dict[str, float] = {s.name: s.clamp(s.default) for s in self._specs.values()}
        self._changed_at: dict[str, int] = {name: 0 for name in self._specs}
        self._version = 0

    @property
    def specs(self) -> Mapping[str, ParamSpec]:
        """name → ParamSpec, in definition order."""
        return dict(self._specs)

    def spec(self, name: str) -> ParamSpec:
        """The ParamSpec of ``name``; ControlError listing the known names when unknown."""
        try:
            return self._specs[name]
        except (KeyError, TypeError):
            known = ", ".join(self._specs)
            raise ControlError(f"unknown parameter {name!r}; known parameters: {known}") from None

    @property
    def version(self) -> int:
        """Increases with every change of any value (0 = nothing changed since creation)."""
        with self._lock:
            return self._version

    def get(self, name: str) -> float:
        """The current value of ``name`` (an int for integer parameters)."""
        self.spec(name)
        with self._lock:
            return self._values[name]

    def snapshot(self) -> dict[str, float]:
        """All current values."""
        with self._lock:
            return dict(self._values)

    def changed_since(self, version: int) -> tuple[int, dict[str, float]]:
        """(current version, values changed after ``version``); pass the returned version next time."""
        with self._lock:
            if version >= self._version:
                return self._version, {}
            changed = {n: self._values[n] for n, at in self._changed_at.items() if at > version}
            return self._version, changed

    def set(self, name: str, value: float) -> float:
        """Set ``name`` to ``value`` (clamped into range, rounded for integers); returns the value stored."""
        spec = self.spec(name)
        return self._store(spec, spec.parse(value))

    def set_normalized(self, name: str, x01: float) -> float:
        """Set ``name`` from a 0–1 position along its range (clamped); returns the value stored."""
        spec = self.spec(name)
        return self._store(spec, spec.from_normalized(_finite_number(f"normalized value of {name!r}", x01)))

    def step(self, name: str, steps: int = 1) -> float:
        """Move ``name`` by ``steps`` × its step (clamped at the ends); returns the value stored."""
        spec = self.spec(name)
        with self._lock:
            value = spec.stepped(self._values[name], steps)
            return self._store_locked(spec, value)

    def toggle(self, name: str) -> float:
        """A switch flips between its ends: hi when at lo, else lo; returns the value stored."""
        spec = self.spec(name)
        with self._lock:
            return self._store_locked(spec, spec.clamp(spec.hi if self._values[name] == spec.lo else spec.lo))

    def reset(self, name: str) -> float:
        """Set ``name`` back to its default; returns the value stored."""
        spec = self.spec(name)
        return self._store(spec, spec.clamp(spec.default))

    def apply(self, command: Command) -> bool:
        """Apply a parameter command; False (and nothing done) when it names no parameter of this set.

        ``Command(param, number)`` sets a value; ``Command("param:next" | ":prev" | ":reset")``
        runs an action. A known parameter with a bad value or unknown action raises ControlError.
        """
        name = command.name
        if not isinstance(name, str):
            return False
        param, sep, action = name.partition(":")
        if param not in self._specs:
            return False
        if not sep:
            self.set(param, command.value)
        elif action == "next":
            self.step(param, +1)
        elif action == "prev":
            self.step(param, -1)
        elif action == "reset":
            self.reset(param)
        elif action == "toggle":
            self.toggle(param)
        else:
            raise ControlError(f"unknown action {action!r} for parameter {param!r}; actions: {', '.join(ACTIONS)}")
        return True

    def update_specs(self, specs: Iterable[ParamSpec]) -> None:
        """Replace the specs of known parameters (e.g. layer ranges once the model is known);
        current values are clamped into the new ranges."""
        with self._lock:
            for spec in specs:
                if spec.name not in self._specs:
                    raise ControlError(f"cannot update unknown parameter {spec.name!r}")
                self._specs[spec.name] = spec
                self._store_locked(spec, spec.clamp(self._values[spec.name]))

    def _store(self, spec: ParamSpec, value: float) -> float:
        with self._lock:
            return self._store_locked(spec, value)

    def _store_locked(self, spec: ParamSpec, value: float) -> float:
        if self._values[spec.name] != value:
            self._version += 1
            self._values[spec.name] = value
            self._changed_at[spec.name] = self._version
        return value
