"""A thread-safe registry of live parameters that keyboard and MIDI controllers change.

Each parameter is described by a :class:`ParamSpec` (range, default, integer or not).
:class:`Parameters` holds the current values; every write is validated (unknown names and
non-finite or non-numeric values raise :class:`ControlError`, out-of-range values are
clamped, integers rounded). Each change bumps a version so the render loop can ask
``changed_since(version)`` once a frame and get only what moved.

Commands (``ear3d.messages.Command``) address parameters in two ways, both understood by
:meth:`Parameters.apply`:

* ``Command("volume", 0.5)``: set a value (in the parameter's own units);
* ``Command("highlight_layer:next")`` (also ``:prev`` and ``:reset``): an action.
"""

from __future__ import annotations

import math
import numbers
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ear3d.messages import Command


class ControlError(ValueError):
    """A control parameter, value, action or mapping is unknown or invalid."""


ACTIONS = ("next", "prev", "reset")


@dataclass(frozen=True)
class ParamSpec:
    """A live parameter: inclusive range ``lo``–``hi``, default, and whether it is an integer."""

    name: str
    lo: float
    hi: float
    default: float
    doc: str
    integer: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and self.lo < self.hi):
            raise ControlError(f"parameter {self.name!r}: range {self.lo}–{self.hi} is not a finite lo < hi")
        if not self.lo <= self.default <= self.hi:
            raise ControlError(f"parameter {self.name!r}: default {self.default} is outside {self.lo}–{self.hi}")

    @property
    def step(self) -> float:
        """The increment of one ``next``/``prev`` action: 1 for integers, 1/16 of the range otherwise."""
        return 1.0 if self.integer else (self.hi - self.lo) / 16.0

    def clamp(self, value: float) -> float:
        """``value`` clamped into the range (and rounded for integer parameters); assumes it is finite."""
        value = min(max(float(value), self.lo), self.hi)
        return int(round(value)) if self.integer else value

    def from_normalized(self, x01: float) -> float:
        """0–1 mapped linearly onto the range (clamped, rounded for integers)."""
        x = min(max(float(x01), 0.0), 1.0)
        return self.clamp(self.lo + x * (self.hi - self.lo))


LIVE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("volume", 0.0, 1.0, 0.8, "output gain, linear"),
    ParamSpec("orbit_speed", -1.0, 1.0, 0.06, "camera orbit speed in radians per second"),
    ParamSpec("sphere_scale", 0.25, 4.0, 1.0, "multiplier of the neuron sphere radius"),
    ParamSpec("exposure", 0.25, 4.0, 1.0, "brightness multiplier of the rendered image"),
    ParamSpec("highlight_layer", -1, 63, -1, "index of the highlighted layer (-1 = none)", integer=True),
)


#: The sonification, steered live (translated into worker commands by control.sonify).
SONIFY_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("target_layer", 0, 63, 0, "layer of the target neurons (index in the model's layer order)", integer=True),
    ParamSpec("channel_pos", 0.0, 1.0, 0.5, "target region along channels: position"),
    ParamSpec("channel_width", 0.0, 1.0, 0.1, "target region along channels: width"),
    ParamSpec("pitch_pos", 0.0, 1.0, 0.5, "target region along pitch: position"),
    ParamSpec("pitch_width", 0.0, 1.0, 0.3, "target region along pitch: width"),
    ParamSpec("time_pos", 0.0, 1.0, 0.0, "target region along the loop: position"),
    ParamSpec("time_width", 0.0, 1.0, 1.0, "target region along the loop: width"),
    ParamSpec("learning_rate_log10", -5.0, 0.0, -2.0, "log10 of the waveform change per step"),
    ParamSpec("mix_origin", 0.0, 1.0, 0.0, "pull back towards the origin clip after each step"),
    ParamSpec("time_jitter", 0.0, 4.0, 0.5, "largest circular shift of the shifted copies, seconds"),
    ParamSpec("time_mask", 0.0, 1.0, 0.1, "fraction of time masked in the shifted copies"),
    ParamSpec("pitch_mask", 0.0, 1.0, 0.1, "fraction of pitch masked in the shifted copies"),
    ParamSpec("activity_penalty", 0.0, 10.0, 0.0, "penalty on total activity"),
    ParamSpec("noise_penalty", 0.0, 10.0, 0.0, "penalty on noise (mean scalogram level)"),
    ParamSpec("hf_penalty", 0.0, 10.0, 0.0, "penalty on high frequencies"),
    ParamSpec("sonify", 0, 1, 1, "1 = optimise towards the target, 0 = pause", integer=True),
)

#: Everything keyboard and MIDI can change.
ALL_PARAMS: tuple[ParamSpec, ...] = LIVE_PARAMS + SONIFY_PARAMS


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

    def __init__(self, specs: Iterable[ParamSpec] = LIVE_PARAMS) -> None:
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
        return self._store(spec, spec.clamp(_finite_number(f"value of {name!r}", value)))

    def set_normalized(self, name: str, x01: float) -> float:
        """Set ``name`` from a 0–1 position along its range (clamped); returns the value stored."""
        spec = self.spec(name)
        return self._store(spec, spec.from_normalized(_finite_number(f"normalized value of {name!r}", x01)))

    def step(self, name: str, steps: int = 1) -> float:
        """Move ``name`` by ``steps`` × its step (clamped at the ends); returns the value stored."""
        spec = self.spec(name)
        with self._lock:
            value = spec.clamp(self._values[name] + steps * spec.step)
            return self._store_locked(spec, value)

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
        else:
            raise ControlError(f"unknown action {action!r} for parameter {param!r}; actions: {', '.join(ACTIONS)}")
        return True

    def _store(self, spec: ParamSpec, value: float) -> float:
        with self._lock:
            return self._store_locked(spec, value)

    def _store_locked(self, spec: ParamSpec, value: float) -> float:
        if self._values[spec.name] != value:
            self._version += 1
            self._values[spec.name] = value
            self._changed_at[spec.name] = self._version
        return value
