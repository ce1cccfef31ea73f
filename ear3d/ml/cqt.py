"""Constant-Q front end: waveform → log-power scalogram, differentiable everywhere.

nnAudio's CQT is a 1-D convolution with fixed complex kernels. We ask it for the complex
output and form the power ourselves: its magnitude path takes a square root without an
epsilon, whose gradient is NaN at silence; log(re² + im² + eps) has a finite gradient.
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


class Scalogram(nn.Module):
    """waveform (B, S) float32 in [−1, 1] → scalogram (B, 1, F, T) float32 in about [0, 1].

    F = cqt.n_bins (low to high pitch), T = frames after hop ``hop_length`` and a max-pool
    of ``time_pool`` over time (≈ 43 frames/s with the defaults).
    """

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

    def frames(self, n_samples: int) -> int:
        """Time steps T of the output for a clip of ``n_samples``."""
        return (n_samples // self.config.hop_length + 1) // self.config.time_pool

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        spec = self.transform(waveform)  # (B, F, T, 2): real, imaginary
        power = spec.pow(2).sum(-1)
        logp = (torch.log(power + POWER_EPS) - math.log(POWER_EPS)) / LOG_RANGE
        return self.pool(logp.unsqueeze(1))
