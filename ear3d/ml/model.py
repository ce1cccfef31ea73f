"""The CPC network: a ResNet encoder over pitch × time, a causal autoregressive model and
linear predictors of future encodings. Every neuron layer is named.

Named layers (in order) and their activations, each (B, C, F, T) after the nonlinearity:
``scalogram`` (the input, C = 1), ``enc0`` … ``enc7`` (F shrinks to 1 at the last block),
``ar0`` … ``ar8`` (F = 1). The layout, the optimizer and the renderer address neurons
through this list.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ear3d.config import Config
from ear3d.ml.cqt import Scalogram


@dataclass(frozen=True)
class Architecture:
    """Sizes of one preset. Per encoder block: output channels, pitch length of the long
    (overtone) kernel, and whether the block ends with a 2 × 2 max-pool."""

    enc_channels: tuple[int, ...]
    enc_pitch_kernels: tuple[int, ...]
    enc_pool_blocks: tuple[int, ...]
    ar_channels: tuple[int, ...]
    ar_kernels: tuple[int, ...]
    ar_pool_before: tuple[int, ...]
    prediction_steps: int
    dropout: float = 0.2


PRESETS: dict[str, Architecture] = {
    # The reference's sizes (REFERENCE.md).
    "paper": Architecture(
        enc_channels=(8, 16, 32, 64, 128, 256, 512, 512),
        enc_pitch_kernels=(25, 3, 15, 3, 15, 3, 5, 3),
        enc_pool_blocks=(0, 4),
        ar_channels=(512, 512, 512, 512, 256, 256, 256, 256, 256),
        ar_kernels=(4, 4, 1, 4, 4, 1, 4, 1, 4),
        ar_pool_before=(2, 5),
        prediction_steps=16,
    ),
    # Same structure, fewer channels: trainable on a laptop CPU.
    "small": Architecture(
        enc_channels=(8, 16, 16, 32, 32, 64, 64, 128),
        enc_pitch_kernels=(25, 3, 15, 3, 15, 3, 5, 3),
        enc_pool_blocks=(0, 4),
        ar_channels=(128, 128, 128, 128, 64, 64, 64, 64, 64),
        ar_kernels=(4, 4, 1, 4, 4, 1, 4, 1, 4),
        ar_pool_before=(2, 5),
        prediction_steps=16,
    ),
    # Same structure again, for quick tests and the software renderer.
    "tiny": Architecture(
        enc_channels=(4, 8, 8, 16, 16, 24, 24, 32),
        enc_pitch_kernels=(25, 3, 15, 3, 15, 3, 5, 3),
        enc_pool_blocks=(0, 4),
        ar_channels=(32, 32, 32, 32, 24, 24, 24, 24, 24),
        ar_kernels=(4, 4, 1, 4, 4, 1, 4, 1, 4),
        ar_pool_before=(2, 5),
        prediction_steps=8,
    ),
}


def causal_pad_time(x: torch.Tensor, kernel_t: int) -> torch.Tensor:
    """Zero-pad the last (time) axis on the left so a conv of ``kernel_t`` taps is causal."""
    return F.pad(x, (kernel_t - 1, 0)) if kernel_t > 1 else x


class EncoderBlock(nn.Module):
    """(B, Cin, F, T) → (B, Cout, F', T'): conv (3 × kt) → conv (kp × 1) + shortcut → ReLU → pool.

    Pitch convolutions are valid (unpadded), so F' = F − 2 − (kp − 1), halved when pooling;
    time convolutions are causal, so T' = T, halved when pooling.
    """

    def __init__(self, c_in: int, c_out: int, time_kernel: int, pitch_kernel: int, pool: bool, dropout: float):
        super().__init__()
        self.time_kernel = time_kernel
        self.conv1 = nn.Conv2d(c_in, c_out, (3, time_kernel))
        self.bn1 = nn.BatchNorm2d(c_out, affine=False)
        self.conv2 = nn.Conv2d(c_out, c_out, (pitch_kernel, 1))
        self.bn2 = nn.BatchNorm2d(c_out, affine=False)
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.shrink = 2 + pitch_kernel - 1
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(causal_pad_time(x, self.time_kernel))))
        y = self.bn2(self.conv2(self.dropout(y)))
        lo = self.shrink // 2  # the shortcut sees the centre of the pitch range
        skip = self.shortcut(x[:, :, lo : lo + y.shape[2]])
        return self.pool(F.relu(y + skip))


class ARBlock(nn.Module):
    """(B, Cin, T) → (B, Cout, T'): optional max-pool 2, causal conv, residual, ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int, pool_before: bool, dropout: float):
        super().__init__()
        self.kernel = kernel
        self.pool = nn.MaxPool1d(2) if pool_before else nn.Identity()
        self.conv = nn.Conv1d(c_in, c_out, kernel)
        self.bn = nn.BatchNorm1d(c_out, affine=False)
        self.shortcut = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(x)
        y = self.bn(self.conv(causal_pad_time(x, self.kernel)))
        return F.relu(self.dropout(y) + self.shortcut(x))


class CPCModel(nn.Module):
    """Encoder + autoregressive model + predictors M_k.

    forward(scalogram (B, 1, F, T)) → OrderedDict of named activations (B, C, F, T).
    The last encoder block's pitch kernel is lengthened so that its output has F = 1 for
    the configured number of CQT bins: z is then one C-vector per time step.
    """

    def __init__(self, arch: Architecture, n_bins: int):
        super().__init__()
        self.arch = arch
        blocks = []
        f, c_in = n_bins, 1
        n = len(arch.enc_channels)
        for i, c_out in enumerate(arch.enc_channels):
            kp = arch.enc_pitch_kernels[i]
            if i == n - 1:
                kp = f - 2  # collapse the remaining pitch range to one
            pool = i in arch.enc_pool_blocks
            f_out = f - 2 - (kp - 1)
            if kp < 1 or f_out < 1:
                raise ValueError(f"{n_bins} CQT bins are too few for this encoder (block {i} has {f} pitch rows)")
            blocks.append(EncoderBlock(c_in, c_out, 3 if i % 2 == 0 else 1, kp, pool, arch.dropout))
            f, c_in = (f_out // 2 if pool else f_out), c_out
        self.encoder = nn.ModuleList(blocks)
        self.z_dim = c_in
        ar = []
        for i, (c_out, k) in enumerate(zip(arch.ar_channels, arch.ar_kernels)):
            ar.append(ARBlock(c_in, c_out, k, i in arch.ar_pool_before, arch.dropout))
            c_in = c_out
        self.autoregressive = nn.ModuleList(ar)
        self.c_dim = c_in
        self.predictors = nn.Linear(self.c_dim, arch.prediction_steps * self.z_dim)

    def layer_names(self) -> list[str]:
        return ["scalogram"] + [f"enc{i}" for i in range(len(self.encoder))] + [
            f"ar{i}" for i in range(len(self.autoregressive))
        ]

    def forward(self, scalogram: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        out: OrderedDict[str, torch.Tensor] = OrderedDict(scalogram=scalogram)
        x = scalogram
        for i, block in enumerate(self.encoder):
            x = block(x)
            out[f"enc{i}"] = x
        h = x.squeeze(2)  # z: (B, C, T)
        for i, block in enumerate(self.autoregressive):
            h = block(h)
            out[f"ar{i}"] = h.unsqueeze(2)
        return out

    def predict(self, c: torch.Tensor) -> torch.Tensor:
        """c (B, c_dim, T) → predictions (B, K, z_dim, T) of z at t + 1 … t + K."""
        b, _, t = c.shape
        p = self.predictors(c.transpose(1, 2))  # (B, T, K·z_dim)
        return p.view(b, t, self.arch.prediction_steps, self.z_dim).permute(0, 2, 3, 1)


class Ear(nn.Module):
    """The whole differentiable ear: waveform (B, S) → named activations (B, C, F, T)."""

    def __init__(self, config: Config):
        super().__init__()
        self.scalogram = Scalogram(config.cqt, config.audio.sample_rate)
        self.model = CPCModel(PRESETS[config.model.preset], config.cqt.n_bins)

    def layer_names(self) -> list[str]:
        return self.model.layer_names()

    def forward(self, waveform: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        return self.model(self.scalogram(waveform))


def build_ear(config: Config) -> Ear:
    """A randomly initialised ear (seeded by model.seed), in eval mode."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(config.model.seed)
    try:
        ear = Ear(config)
    finally:
        torch.random.set_rng_state(gen_state)
    return ear.eval()


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
