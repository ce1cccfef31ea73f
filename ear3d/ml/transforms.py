"""Batch augmentations of the sonification step: how the B items a step hears are made from
the loop. Item 0 is always the clean loop (the one shown and heard); the others are varied
so that the clip that excites the target is robust, not an adversarial pattern tied to one
alignment or one pitch.

Each transform is a small callable of a fixed stage, applied in this order (the draws from
the step's generator happen in this order too, so a seed replays a run):

* :class:`TimeJitter`: the batch's circular shifts in samples, ``(B, generator, device) → (B,)
  int64`` (the loop-aware ear plays the items with them and aligns their activations back);
* waveform transforms, ``(played (B, N) float32, generator) → (B, N) float32``:
  :class:`InputNoise`;
* scalogram transforms, ``(scalogram (B, C, F, T) float32, generator) → (B, C, F, T)``:
  :class:`ScalogramMasks`.

:func:`augmentations` builds the set the ``[optimize]`` settings ask for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ear3d.config import OptimizeConfig

WaveformTransform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
ScalogramTransform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]

#: What each scalogram channel holds for silence: log power 0; phase advance 0.5 (as expected).
SILENT_CHANNELS = (0.0, 0.5)


def sample_shifts(batch: int, max_shift: int, n_samples: int, generator: torch.Generator | None,
                  device: torch.device) -> torch.Tensor:
    """(B,) int64 circular shifts in samples: item 0 is 0, the others uniform in [−max_shift, max_shift].

    Shifts are taken modulo the loop length ``n_samples``: a shift by the whole loop is none.
    """
    max_shift = max(0, min(int(max_shift), n_samples))
    shifts = torch.randint(-max_shift, max_shift + 1, (batch,), generator=generator, device=device)
    shifts[0] = 0
    return torch.remainder(shifts, n_samples)


def sample_masks(batch: int, n_pitch: int, n_time: int, window: tuple[int, int], time_fraction: float,
                 pitch_fraction: float, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """(B, 1, F, T) float32 masks: 0 inside one random time block and one random pitch block, else 1.

    ``window`` = (first step, steps) of the loop inside the T steps (the time block lies in
    it); blocks span round(fraction · axis) entries; item 0 is never masked.
    """
    w0, wn = window
    t_len = min(wn, round(time_fraction * wn))
    f_len = min(n_pitch, round(pitch_fraction * n_pitch))
    u = torch.rand((batch, 2), generator=generator, device=device)
    t_start = w0 + torch.floor(u[:, 0] * (wn - t_len + 1)).long()
    f_start = torch.floor(u[:, 1] * (n_pitch - f_len + 1)).long()
    t = torch.arange(n_time, device=device)
    f = torch.arange(n_pitch, device=device)
    in_t = (t[None] >= t_start[:, None]) & (t[None] < (t_start + t_len)[:, None])  # (B, T)
    in_f = (f[None] >= f_start[:, None]) & (f[None] < (f_start + f_len)[:, None])  # (B, F)
    masked = in_t[:, None, :] | in_f[:, :, None]  # (B, F, T)
    masked[0] = False
    return (~masked).float().unsqueeze(1)


def apply_masks(scalogram: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """(B, C, F, T) scalogram, (B, 1, F, T) masks → the scalogram with masked entries set to
    silence (per channel, see SILENT_CHANNELS). No gradient reaches a masked entry."""
    silent = torch.tensor(SILENT_CHANNELS[: scalogram.shape[1]], device=scalogram.device).view(1, -1, 1, 1)
    return scalogram * masks + silent * (1.0 - masks)


@dataclass(frozen=True)
class TimeJitter:
    """Circular shifts of the loop, one per item: ``(batch, generator, device) → (B,) int64``
    in [0, n_samples), item 0 unshifted, the others at most ``max_shift`` samples either way
    (taken modulo the loop: a shifted loop is still the loop)."""

    max_shift: int
    n_samples: int

    def __call__(self, batch: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        return sample_shifts(batch, self.max_shift, self.n_samples, generator, device)


@dataclass(frozen=True)
class InputNoise:
    """White noise of standard deviation ``level`` added to every played item, the clean one
    included: ``(B, N) float32 → (B, N) float32``. Exact silence then has a gradient."""

    level: float

    def __call__(self, played: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return played + self.level * torch.randn(played.shape, generator=generator, device=played.device)


@dataclass(frozen=True)
class ScalogramMasks:
    """One random time block and one random pitch block of each item but the clean one set
    to silence: ``(B, C, F, T) float32 → (B, C, F, T)``; no gradient reaches a masked entry.

    window: (first step, steps) of the loop inside the T steps of context + loop (the time
    block lies in the loop); the blocks span ``time_fraction`` of the loop's steps and
    ``pitch_fraction`` of the F pitch rows. A batch of one is returned as it is (no draw).
    """

    window: tuple[int, int]
    time_fraction: float
    pitch_fraction: float

    def __call__(self, scalogram: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        batch, _, n_pitch, n_time = scalogram.shape
        if batch == 1:
            return scalogram
        masks = sample_masks(batch, n_pitch, n_time, self.window, self.time_fraction, self.pitch_fraction, generator,
                             scalogram.device)
        return apply_masks(scalogram, masks)


@dataclass(frozen=True)
class Augmentations:
    """The transforms of one step, by stage (see the module doc)."""

    jitter: TimeJitter
    waveform: tuple[WaveformTransform, ...] = ()
    scalogram: tuple[ScalogramTransform, ...] = ()

    def played(self, played: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Apply the waveform transforms in order to (B, N) played items."""
        for transform in self.waveform:
            played = transform(played, generator)
        return played

    def heard(self, scalogram: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Apply the scalogram transforms in order to a (B, C, F, T) scalogram."""
        for transform in self.scalogram:
            scalogram = transform(scalogram, generator)
        return scalogram


def augmentations(settings: OptimizeConfig, sample_rate: int, n_samples: int, window: tuple[int, int]
                  ) -> Augmentations:
    """The transforms ``settings`` ask for (``time_jitter`` s, ``input_noise``, ``time_mask`` and
    ``pitch_mask``) for a loop of ``n_samples`` at ``sample_rate`` Hz whose scalogram holds the
    loop at ``window`` = (first step, steps)."""
    waveform: tuple[WaveformTransform, ...] = (InputNoise(settings.input_noise),) if settings.input_noise > 0 else ()
    scalogram: tuple[ScalogramTransform, ...] = ()
    if settings.time_mask > 0 or settings.pitch_mask > 0:
        scalogram = (ScalogramMasks(window, settings.time_mask, settings.pitch_mask),)
    return Augmentations(TimeJitter(round(settings.time_jitter * sample_rate), n_samples), waveform, scalogram)
