"""The update rule of the sonification: the loop after one gradient step, and the way back
when a step goes wrong.

:meth:`LoopUpdate.propose` moves the loop x (S,) against the loss's gradient mapped to a
waveform (see :mod:`ear3d.ml.optimize`'s parametrizations):

    x' = bound(mix(x − learning_rate · normalise(direction), origin), max_amplitude)

where ``normalise`` divides by the standard deviation (``grad_norm = "std"``: the learning
rate is then the RMS change per sample), ``mix`` moves ``mix_origin`` of the way back to
the origin clip and ``bound`` scales the clip down to the peak bound.

NaN recovery: a step whose loss, target or new clip is not finite is rejected
(:meth:`LoopUpdate.reject`): the loop goes back to the last clip that evaluated cleanly;
after :data:`MAX_FAILURES_BEFORE_ORIGIN` rejections in a row, back to the origin.
"""

from __future__ import annotations

import logging

import torch

from ear3d.config import OptimizeConfig

log = logging.getLogger(__name__)

#: Consecutive non-finite steps after which the loop restarts from the origin clip.
MAX_FAILURES_BEFORE_ORIGIN = 3


def normalize_gradient(grad: torch.Tensor) -> torch.Tensor:
    """The gradient divided by its standard deviation, no host sync. All zeros stay zeros, and a
    gradient without a finite spread (NaN or inf in it) gives zeros: no move."""
    std = grad.std()
    return torch.where(std > 0, grad / std.clamp_min(torch.finfo(grad.dtype).tiny), torch.zeros_like(grad))


def bound_amplitude(x: torch.Tensor, peak: float) -> torch.Tensor:
    """Scale ``x`` down to ``peak`` when its largest |sample| exceeds it (keeps the spectrum)."""
    top = x.abs().max()
    return x * torch.clamp(peak / top.clamp_min(1e-12), max=1.0)


def mix_towards(x: torch.Tensor, origin: torch.Tensor, amount: float) -> torch.Tensor:
    """(1 − amount) · x + amount · origin."""
    return x if amount == 0 else torch.lerp(x, origin, amount)


class LoopUpdate:
    """The loop's state under the update rule: ``origin``, the current loop ``x`` and the last
    clip that evaluated cleanly, each (S,) float32 on one device; ``recoveries`` counts the
    rejected steps (never reset). Not thread-safe (the worker owns it)."""

    def __init__(self, origin: torch.Tensor):
        self.recoveries = 0
        self.restart(origin)

    def restart(self, origin: torch.Tensor | None = None) -> None:
        """Back to the origin (a new one when given); the failure streak is cleared."""
        if origin is not None:
            self.origin = origin
        self.x = self.origin.clone()
        self.last_good = self.x.clone()
        self.failures = 0

    def propose(self, wave: torch.Tensor, direction: torch.Tensor, settings: OptimizeConfig) -> torch.Tensor:
        """The next loop (S,) from the loop as evaluated ``wave`` (S,) and the descent
        ``direction`` (S,), the loss's gradient as a waveform (see the module doc). No state
        changes and no host sync: the caller checks the result and then accepts or rejects it."""
        with torch.no_grad():
            if settings.grad_norm == "std":
                direction = normalize_gradient(direction)
            new = wave.detach() - settings.learning_rate * direction
            new = mix_towards(new, self.origin, settings.mix_origin)
            return bound_amplitude(new, settings.max_amplitude)

    def accept(self, new: torch.Tensor) -> None:
        """The step evaluated cleanly: the loop it evaluated is the last good one, ``new`` the loop."""
        self.failures = 0
        self.last_good = self.x
        self.x = new.detach().float()

    def reject(self) -> None:
        """The step was not finite: back to the last good clip, or to the origin after a streak."""
        self.recoveries += 1
        self.failures += 1
        self.x = self.last_good.clone()
        if self.failures >= MAX_FAILURES_BEFORE_ORIGIN:
            self.x = self.origin.clone()
            self.last_good = self.x.clone()
        log.warning("non-finite step: restored the last good clip (%d recoveries so far)", self.recoveries)
