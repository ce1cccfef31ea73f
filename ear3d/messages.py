"""What crosses threads: clips, activation frames, commands, and a latest-value mailbox."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

_serials = itertools.count(1)


def next_serial() -> int:
    """A process-wide increasing id for clips and frames."""
    return next(_serials)


@dataclass(frozen=True)
class Clip:
    """A mono audio clip.

    samples: (S,) float32 in [-1, 1]; sample_rate in Hz; serial increases with each new clip.
    """

    samples: np.ndarray
    sample_rate: int
    serial: int = field(default_factory=next_serial)

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class ActivationFrame:
    """Activations of every named layer for one clip.

    layers: name → (C, F, T) float32 in the model's layer order (F = 1 without a pitch axis).

    From the sonification worker (defaults otherwise): ``step`` optimisation steps since the
    origin; ``loss`` and ``target`` of the step that produced this clip (target = the
    objective on the clean item in normalised units, higher = nearer the aim; NaN when
    only listening); ``loss_history`` / ``target_history`` (N,) float32, oldest first;
    ``scalogram`` (F, T) float32 of the clean item and ``scalogram_grad`` (F, T) the loss's
    gradient with respect to it (first input channel); ``selected`` name → (C, F, T) bool of
    the targeted neurons (selected layers only); ``recoveries`` non-finite steps undone so
    far; ``optimizing`` whether steps are running; ``terms`` the loss's parts;
    ``device_layers`` name → (C, F, T) torch tensors on the GPU (CUDA only, else None).
    """

    clip: Clip
    layers: dict[str, np.ndarray]
    serial: int = field(default_factory=next_serial)
    step: int = 0
    loss: float = float("nan")
    target: float = float("nan")
    loss_history: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    target_history: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    scalogram: np.ndarray | None = None
    scalogram_grad: np.ndarray | None = None
    selected: dict[str, np.ndarray] = field(default_factory=dict)
    recoveries: int = 0
    optimizing: bool = False
    terms: dict[str, float] = field(default_factory=dict)
    device_layers: Any = None


@dataclass(frozen=True)
class Command:
    """A request to a worker or the app: a name and a value (validated by the receiver)."""

    name: str
    value: Any = None


T = TypeVar("T")


class Mailbox(Generic[T]):
    """Holds only the newest value: a producer never waits, stale values are dropped."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._value: T | None = None
        self._version = 0

    def put(self, value: T) -> None:
        with self._cond:
            self._value = value
            self._version += 1
            self._cond.notify_all()

    def peek(self) -> tuple[int, T | None]:
        """(version, newest value); version 0 means nothing was ever put."""
        with self._cond:
            return self._version, self._value

    def wait_newer(self, version: int, timeout: float | None = None) -> tuple[int, T | None]:
        """Block until a value newer than ``version`` arrives (or timeout); returns peek()."""
        with self._cond:
            self._cond.wait_for(lambda: self._version > version, timeout)
            return self._version, self._value
