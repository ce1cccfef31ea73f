"""What the optimisation aims at: regions of neurons and objectives that add and scale.

A :class:`Selection` names a layer and, along each of its axes (channel, pitch, time), a
region given as a position and a width in 0–1, as faders drive them. For an axis of N
entries the region holds ``n = clamp(round(width·N), 1, N)`` entries starting at
``round(position·(N − n))`` (= position·(1 − width)·N when width·N is whole): position 0 is
the low end, 1 the high end, and the region never leaves the axis.

An :class:`Objective` maps normalised activations ``name → (B, C, F, T)`` to one value per
batch item (B,), to be *maximised*. Objectives add, subtract, negate and scale like those
of feature-visualisation libraries (Lucid, torch-lucent)::

    objective = region("enc3", channel=(0.2, 0.1)) - 0.5 * region("ar8", time=(0.0, 0.25))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

Activations = Mapping[str, torch.Tensor]

AXES = ("channel", "pitch", "time")
MODES = ("max", "min")


class SelectionError(ValueError):
    """A selection names a layer that does not exist, or a region outside 0–1."""


@dataclass(frozen=True)
class Region:
    """A stretch of one axis: ``position`` and ``width`` in 0–1 (width 1 = the whole axis)."""

    position: float = 0.5
    width: float = 1.0

    def __post_init__(self) -> None:
        for key in ("position", "width"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0.0 <= v <= 1.0:
                raise SelectionError(f"region {key} must be a number from 0 to 1, got {v!r}")

    def bounds(self, n: int) -> tuple[int, int]:
        """[start, stop) of this region on an axis of ``n`` entries (never empty)."""
        count = min(n, max(1, round(self.width * n)))
        start = round(self.position * (n - count))
        return start, start + count

    @classmethod
    def parse(cls, value: Any, axis: str) -> Region:
        """A Region, a (position, width) pair or {"position", "width"} → Region."""
        if isinstance(value, Region):
            return value
        try:
            if isinstance(value, Mapping):
                return cls(**value)
            position, width = value
            return cls(position, width)
        except SelectionError as e:
            raise SelectionError(f"{axis}: {e}") from None
        except (TypeError, ValueError):
            raise SelectionError(f"{axis} region must be (position, width) in 0–1, got {value!r}") from None


@dataclass(frozen=True)
class Selection:
    """Neurons of ``layer`` inside a region per axis, to push up (``mode="max"``) or down ("min").

    ``weight`` scales this selection's share of the objective.
    """

    layer: str
    channel: Region = field(default_factory=Region)
    pitch: Region = field(default_factory=Region)
    time: Region = field(default_factory=Region)
    mode: str = "max"
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.layer, str) or not self.layer:
            raise SelectionError(f"layer must be a layer name, got {self.layer!r}")
        if self.mode not in MODES:
            raise SelectionError(f"mode must be 'max' or 'min', got {self.mode!r}")
        w = self.weight
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise SelectionError(f"weight must be a finite number, got {w!r}")
        for axis in AXES:
            if not isinstance(getattr(self, axis), Region):
                raise SelectionError(f"{axis} must be a Region (use Selection.parse for pairs)")

    @classmethod
    def parse(cls, value: Any) -> Selection:
        """A Selection, or a mapping {"layer", "channel", "pitch", "time", "mode", "weight"}
        whose regions are Regions, (position, width) pairs or mappings."""
        if isinstance(value, Selection):
            return value
        if not isinstance(value, Mapping):
            kind = type(value).__name__
            raise SelectionError(f"a selection must be a Selection or a mapping with 'layer', got {kind}")
        allowed = {"layer", "mode", "weight", *AXES}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise SelectionError(f"unknown selection key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
        if "layer" not in value:
            raise SelectionError("a selection needs a 'layer'")
        regions = {a: Region.parse(value[a], a) for a in AXES if a in value}
        return cls(layer=value["layer"], mode=value.get("mode", "max"), weight=value.get("weight", 1.0), **regions)

    def slices(self, shape: tuple[int, int, int]) -> tuple[slice, slice, slice]:
        """(channel, pitch, time) slices of a layer whose activations are (C, F, T)."""
        return tuple(slice(*getattr(self, a).bounds(n)) for a, n in zip(AXES, shape, strict=True))  # type: ignore[return-value]

    def check(self, shapes: Mapping[str, tuple[int, int, int]]) -> None:
        """Raise SelectionError when the layer is unknown (``shapes``: name → (C, F, T))."""
        if self.layer not in shapes:
            raise SelectionError(f"unknown layer {self.layer!r}; layers: {', '.join(shapes)}")

    def value(self, acts: Activations) -> torch.Tensor:
        """Mean normalised activation of the region per item (B,), signed by the mode, weighted."""
        a = acts[self.layer]
        c, f, t = self.slices((a.shape[1], a.shape[2], a.shape[3]))
        sign = 1.0 if self.mode == "max" else -1.0
        return (sign * self.weight) * a[:, c, f, t].float().mean(dim=(1, 2, 3))


class Objective:
    """A quantity to maximise: ``fn(acts) → (B,)``. Built from selections or any function.

    ``selections`` lists the selections it contains (for highlighting), ``uses`` further
    layers it reads (checked to exist like the selections' layers); ``name`` describes it.
    """

    def __init__(
        self,
        fn: Callable[[Activations], torch.Tensor],
        name: str,
        selections: tuple[Selection, ...] = (),
        uses: tuple[str, ...] = (),
    ):
        self.fn = fn
        self.name = name
        self.selections = tuple(selections)
        self.uses = tuple(uses)

    def __call__(self, acts: Activations) -> torch.Tensor:
        return self.fn(acts)

    def __repr__(self) -> str:
        return f"Objective({self.name})"

    @property
    def layers(self) -> list[str]:
        """Every layer this objective reads."""
        return list(dict.fromkeys([s.layer for s in self.selections] + list(self.uses)))

    def check(self, shapes: Mapping[str, tuple[int, int, int]]) -> None:
        """Raise SelectionError when a layer it reads does not exist (``shapes``: name → (C, F, T))."""
        for name in self.layers:
            if name not in shapes:
                raise SelectionError(f"unknown layer {name!r}; layers: {', '.join(shapes)}")

    def _join(self, other: Objective) -> dict:
        return {"selections": self.selections + other.selections, "uses": tuple(dict.fromkeys(self.uses + other.uses))}

    def _same(self) -> dict:
        return {"selections": self.selections, "uses": self.uses}

    def __add__(self, other: Objective | float) -> Objective:
        if isinstance(other, Objective):
            return Objective(lambda a: self(a) + other(a), f"{self.name} + {other.name}", **self._join(other))
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return Objective(lambda a: self(a) + other, f"{self.name} + {other:g}", **self._same())
        return NotImplemented

    def __radd__(self, other: Objective | float) -> Objective:
        if isinstance(other, (int, float)) and other == 0:  # sum([...]) starts at 0
            return self
        return self.__add__(other)

    def __neg__(self) -> Objective:
        return Objective(lambda a: -self(a), f"-({self.name})", **self._same())

    def __sub__(self, other: Objective | float) -> Objective:
        return self + (-other)

    def __rsub__(self, other: float) -> Objective:
        return (-self) + other

    def __mul__(self, k: float) -> Objective:
        if isinstance(k, bool) or not isinstance(k, (int, float)):
            return NotImplemented
        return Objective(lambda a: k * self(a), f"{k:g}·({self.name})", **self._same())

    __rmul__ = __mul__

    def __truediv__(self, k: float) -> Objective:
        if isinstance(k, bool) or not isinstance(k, (int, float)):
            return NotImplemented
        return self * (1.0 / k)

    def recorded(self, into: dict[str, torch.Tensor], key: str) -> Objective:
        """This objective, also keeping each value it computes as ``into[key]``: the parts of a
        composed objective can be reported without evaluating them twice."""

        def fn(acts: Activations) -> torch.Tensor:
            into[key] = value = self(acts)
            return value

        return Objective(fn, self.name, **self._same())


def selection(sel: Selection) -> Objective:
    """The objective of one selection (its mode and weight included)."""
    return Objective(sel.value, f"{sel.mode} {sel.layer}[{_describe(sel)}]", (sel,))


def region(
    layer: str,
    channel: tuple[float, float] = (0.5, 1.0),
    pitch: tuple[float, float] = (0.5, 1.0),
    time: tuple[float, float] = (0.5, 1.0),
) -> Objective:
    """Maximise the mean normalised activation of a region; each axis as (position, width) in 0–1."""
    return selection(Selection.parse({"layer": layer, "channel": channel, "pitch": pitch, "time": time}))


def neuron(layer: str, channel: int, pitch: int | None = None, time: int | None = None) -> Objective:
    """Maximise one channel at an exact pitch row and time step (None = mean over that axis)."""

    def fn(acts: Activations) -> torch.Tensor:
        a = acts[layer][:, channel]
        a = a[:, pitch : pitch + 1] if pitch is not None else a
        a = a[..., time : time + 1] if time is not None else a
        return a.float().mean(dim=(1, 2))

    return Objective(fn, f"max {layer}[c{channel}, f{pitch}, t{time}]", uses=(layer,))


def index_region(index: int, n: int) -> tuple[float, float]:
    """(position, width) that selects exactly entry ``index`` of an axis of ``n`` entries."""
    if not 0 <= index < n:
        raise SelectionError(f"index {index} is outside an axis of {n} entries")
    return (index / (n - 1) if n > 1 else 0.5), 1.0 / n


def combine(selections: list[Selection]) -> Objective | None:
    """The sum of the selections' objectives, or None when there is none."""
    if not selections:
        return None
    return sum((selection(s) for s in selections), start=0)  # type: ignore[return-value]


def selected_mask(selections: tuple[Selection, ...], shapes: Mapping[str, tuple[int, int, int]]) -> dict:
    """name → (C, F, T) bool numpy mask of the neurons the selections cover (selected layers only)."""
    import numpy as np

    out: dict[str, np.ndarray] = {}
    for s in selections:
        if s.layer not in shapes:
            continue
        m = out.setdefault(s.layer, np.zeros(shapes[s.layer], dtype=bool))
        m[s.slices(shapes[s.layer])] = True
    return out


def _describe(sel: Selection) -> str:
    return ", ".join(f"{a[0]} {getattr(sel, a).position:.2f}/{getattr(sel, a).width:.2f}" for a in AXES)
