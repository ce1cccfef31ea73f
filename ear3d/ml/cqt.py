"""Constant-Q front end: waveform → log-power scalogram, differentiable everywhere.

nnAudio's CQT is a 1-D convolution with fixed complex kernels. We ask it for the complex
output and form the power ourselves: its magnitude path takes a square root without an
epsilon, whose gradient is NaN at silence; log(re² + im² + eps) has a finite gradient.

Optionally (``cqt.phase``) a second channel carries each bin's frame-to-frame phase advance
minus the advance 2π·f·hop/sr a steady tone at the bin's centre frequency would have,
wrapped to (−π, π] and scaled to [0, 1]. Where a bin's power is below a floor its phase is
meaningless: the channel is 0.5 there and its gradient 0 (never NaN).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ear3d.config import CQTConfig

#: log-power floor; log(1e-9) ≈ −20.72 maps to 0 after scaling.
POWER_EPS = 1e-9
#: divisor that brings a full-scale tone (log-power ≈ +6) to about 1.
LOG_RANGE = 28.0
#: power below which the phase channel is set to its neutral value 0.5.
PHASE_FLOOR = 1e-7


def bin_frequencies(cqt: CQTConfig) -> torch.Tensor:
    """Centre frequency of each bin in Hz: (F,) float64, fmin · 2^(k / bins_per_octave)."""
    k = torch.arange(cqt.n_bins, dtype=torch.float64)
    return cqt.fmin * 2.0 ** (k / cqt.bins_per_octave)


class Scalogram(nn.Module):
    """waveform (B, S) float32 in [−1, 1] → scalogram (B, C, F, T) float32 in about [0, 1].

    C = 1 (log power), or 2 with ``cqt.phase`` (log power, phase advance). F = cqt.n_bins
    (low to high pitch), T = frames after hop ``hop_length`` and a max-pool of ``time_pool``
    over time (≈ 43 frames/s with the defaults). Runs on whatever device the module is on.
    """

    expected_advance: torch.Tensor  #: (F,) float32 radians per hop, a buffer (follows the module's device)

    def __init__(self, cqt: CQTConfig, sample_rate: int) -> None:
        super().__init__()
        from nnAudio.features import CQT1992v2

        self.config = cqt
        self.sample_rate = sample_rate
        self.transform = CQT1992v2(
            sr=sample_rate,
            hop_length=cqt.hop_length,
            fmin=cqt.fmin,
            n_bins=cqt.n_bins,
            bins_per_octave=cqt.bins_per_octave,
            filter_scale=cqt.filter_scale,
            output_format="Complex",
            verbose=False,
        )
        self.pool = nn.MaxPool2d((1, cqt.time_pool)) if cqt.time_pool > 1 else nn.Identity()
        expected = 2 * math.pi * bin_frequencies(cqt) * cqt.hop_length / sample_rate
        self.register_buffer("expected_advance", torch.remainder(expected, 2 * math.pi).float(), persistent=False)

    @property
    def channels(self) -> int:
        """Channels C of the output: 1, or 2 with the phase channel."""
        return 2 if self.config.phase else 1

    def frames(self, n_samples: int) -> int:
        """Time steps T of the output for a clip of ``n_samples``."""
        return (n_samples // self.config.hop_length + 1) // self.config.time_pool

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        spec = self.transform(waveform.float())  # (B, F, T, 2): real, imaginary
        re, im = spec[..., 0], spec[..., 1]
        power = re * re + im * im
        logp = (torch.log(power + POWER_EPS) - math.log(POWER_EPS)) / LOG_RANGE
        if not self.config.phase:
            return self.pool(logp.unsqueeze(1))
        return torch.cat([self.pool(logp.unsqueeze(1)), self.pool(self.phase_advance(re, im).unsqueeze(1))], 1)

    def phase_advance(self, re: torch.Tensor, im: torch.Tensor) -> torch.Tensor:
        """(B, F, T) real and imaginary parts → (B, F, T) phase advance in [0, 1] (0.5 = as expected).

        The advance of frame t is arg(X_t · conj(X_{t−1})); frame 0 has none (0.5). Both
        frames must have power above PHASE_FLOOR, else 0.5 with zero gradient.
        """
        pr = re[..., 1:] * re[..., :-1] + im[..., 1:] * im[..., :-1]  # X_t · conj(X_{t−1})
        pi_ = im[..., 1:] * re[..., :-1] - re[..., 1:] * im[..., :-1]
        power = re * re + im * im
        ok = (power[..., 1:] > PHASE_FLOOR) & (power[..., :-1] > PHASE_FLOOR)
        # The double-where keeps atan2's gradient finite: masked entries see the safe (1, 0).
        angle = torch.atan2(torch.where(ok, pi_, torch.zeros_like(pi_)), torch.where(ok, pr, torch.ones_like(pr)))
        # a steady tone at the bin's centre frequency advances by exactly the expected amount
        dev = torch.remainder(angle - self.expected_advance.view(1, -1, 1) + math.pi, 2 * math.pi) - math.pi
        scaled = torch.where(ok, dev / (2 * math.pi) + 0.5, torch.full_like(dev, 0.5))
        return torch.cat([torch.full_like(scaled[..., :1], 0.5), scaled], -1)
