"""Regularisers of the sonification: what keeps gradient ascent on audio from producing
adversarial hiss. Each is differentiable where it enters the loss and has its own factor.

Batch augmentations (item 0 is always the clean loop, the one shown and heard):

* :func:`sample_shifts`: circular time shifts of the loop, in samples;
* :func:`sample_masks`: one random time block and one random pitch block of the scalogram
  set to silence (0) per item.

Loss terms, each (B,) per item, added with their factors:

* :func:`activity_penalty`: mean |normalised activation| over all neurons, layers weighted
  equally — less activity elsewhere, a cleaner answer to the target;
* :func:`noise_penalty`: mean scalogram level (the reference's "noise" term): energy that the
  objective does not need decays back to silence;
* :func:`high_frequency_penalty`: the power-weighted mean pitch of each frame (0 = lowest bin,
  1 = highest), averaged over frames: the brighter, the higher.

Update helpers: :func:`normalize_gradient`, :func:`bound_amplitude`, :func:`mix_towards`.
"""

from __future__ import annotations

from typing import Mapping

import torch

from ear3d.ml.cqt import LOG_RANGE


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


#: What each scalogram channel holds for silence: log power 0; phase advance 0.5 (as expected).
SILENT_CHANNELS = (0.0, 0.5)


def apply_masks(scalogram: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """(B, C, F, T) scalogram, (B, 1, F, T) masks → the scalogram with masked entries set to
    silence (per channel, see SILENT_CHANNELS). No gradient reaches a masked entry."""
    silent = torch.tensor(SILENT_CHANNELS[: scalogram.shape[1]], device=scalogram.device).view(1, -1, 1, 1)
    return scalogram * masks + silent * (1.0 - masks)


def normalize(acts: Mapping[str, torch.Tensor], stats: Mapping[str, tuple[torch.Tensor, torch.Tensor]]
              ) -> dict[str, torch.Tensor]:
    """name → (a − silence) / scale for every layer (B, C, F, T); see ear3d.ml.stats."""
    out = {}
    for name, a in acts.items():
        silence, inv_scale = stats[name]
        out[name] = (a.float() - silence) * inv_scale
    return out


def activity_penalty(normed: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """(B,) mean over layers of the mean |normalised activation| (the scalogram input excluded)."""
    terms = [a.abs().mean(dim=(1, 2, 3)) for name, a in normed.items() if name != "scalogram"]
    return torch.stack(terms).mean(0)


def noise_penalty(scalogram: torch.Tensor) -> torch.Tensor:
    """(B, C, F, T) scalogram → (B,) mean level of its log-power channel (≥ 0)."""
    return scalogram[:, 0].mean(dim=(1, 2))


def frequency_ramp(n_pitch: int, device: torch.device) -> torch.Tensor:
    """(F, 1) weights rising linearly from 0 (lowest bin) to 1 (highest bin)."""
    return torch.linspace(0.0, 1.0, n_pitch, device=device)[:, None]


def high_frequency_penalty(scalogram: torch.Tensor) -> torch.Tensor:
    """(B, C, F, T) scalogram → (B,) power-weighted mean pitch per frame, averaged over frames.

    Each frame's power distribution over the bins (recovered from the log-power channel by
    a softmax, exact up to the floor) weights a ramp from 0 (lowest bin) to 1 (highest): a
    spectral centroid on the CQT axis. It grows with the share of high-frequency energy,
    whatever the loudness. (The reference's mean of log power · ramp does not: spectral
    leakage of a low tone fills the log floor of the high bins, so a 110 Hz tone scored
    higher than an 880 Hz one.)
    """
    ramp = frequency_ramp(scalogram.shape[2], scalogram.device)  # (F, 1)
    share = torch.softmax(scalogram[:, 0].float() * LOG_RANGE, dim=1)  # (B, F, T): power share per bin
    return (share * ramp).sum(dim=1).mean(dim=1)


def normalize_gradient(grad: torch.Tensor) -> torch.Tensor:
    """The gradient divided by its standard deviation (all zeros stay zeros), no host sync."""
    std = grad.std()
    return torch.where(std > 0, grad / std.clamp_min(torch.finfo(grad.dtype).tiny), torch.zeros_like(grad))


def bound_amplitude(x: torch.Tensor, peak: float) -> torch.Tensor:
    """Scale ``x`` down to ``peak`` when its largest |sample| exceeds it (keeps the spectrum)."""
    top = x.abs().max()
    return x * torch.clamp(peak / top.clamp_min(1e-12), max=1.0)


def mix_towards(x: torch.Tensor, origin: torch.Tensor, amount: float) -> torch.Tensor:
    """(1 − amount) · x + amount · origin."""
    return x if amount == 0 else torch.lerp(x, origin, amount)
