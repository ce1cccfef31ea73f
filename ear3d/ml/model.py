"""The CPC network: a ResNet encoder over pitch × time, a causal autoregressive model and
linear predictors of future encodings. Every neuron layer is named.

Named layers (in order) and their activations, each (B, C, F, T) float after the
nonlinearity: ``scalogram`` (the input, C = 1 or 2); for each encoder block i,
``enc{i}.mid`` (its hidden layer: first conv, BatchNorm, [pool], ReLU) then ``enc{i}`` (its
output; F shrinks to 1 at the last block); ``ar0`` … ``ar8`` (F = 1). Every layer whose
neurons a weight feeds is named, so the layout's graph has every connection of the network
(the paper preset: 40,776 neurons). The layout, the optimizer and the renderer address
neurons through this list.

Time steps: the scalogram has T frames (hop · time_pool samples each, ≈ 23 ms); the encoder
pools time by 2 in two blocks, so z (``enc7``) has one step per 4 frames (≈ 93 ms); the
autoregressive model pools by 2 before two blocks, so c (``ar8``) has one step per 4 z steps
(≈ 0.37 s). Everything is causal: c step j depends on scalogram frames < 16 (j + 1) only.

Pitch: convolutions along pitch are valid (unpadded). With the reference's kernels (3-tap
first convs, long second convs 25, 3, 15, 3, 15, 3, 5, 3) and a 2 × 2 max-pool between the two
convs of blocks 0 and 4 (rounding an odd pitch count up), 216 CQT bins shrink
216 → 83 → 79 → 63 → 59 → 15 → 11 → 5 → 1: z is one C-vector per step. For other bin counts
the last block's pitch kernel is adjusted so that F still ends at 1.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ear3d.config import Config, ModelConfig
from ear3d.ml.cqt import Scalogram

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Architecture:
    """Sizes of one preset.

    Per encoder block: output channels, pitch length of the long (overtone) kernel, and
    whether the block max-pools 2 × 2 between its convolutions. Per AR block: channels,
    causal kernel length over time, whether it max-pools time by 2 first. Heads predict
    ``prediction_steps`` future z steps, starting ``prediction_gap`` z steps after the last
    z step a c has seen.
    """

    enc_channels: tuple[int, ...]
    enc_pitch_kernels: tuple[int, ...]
    enc_pool_blocks: tuple[int, ...]
    ar_channels: tuple[int, ...]
    ar_kernels: tuple[int, ...]
    ar_pool_before: tuple[int, ...]
    prediction_steps: int
    prediction_gap: int = 4
    dropout: float = 0.2
    #: untied pitch biases: each encoder hidden layer adds a learned bias per (channel, pitch
    #: row), so the encoder can tell where on the pitch axis a pattern sits (key, register)
    #: instead of being equivariant to transposition.
    pitch_bias: bool = False


PRESETS: dict[str, Architecture] = {
    # The reference's sizes (docs/reference.md): 11.7 M parameters with one input channel.
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
        prediction_steps=12,
        prediction_gap=2,
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
        prediction_gap=2,
    ),
}


def architecture(config: ModelConfig) -> Architecture:
    """The architecture ``config`` asks for: its preset, with or without untied pitch biases."""
    return dataclasses.replace(PRESETS[config.preset], pitch_bias=config.pitch_bias)


def is_pitch_bias(name: str) -> bool:
    """Whether a parameter (or state-dict) name is an encoder block's untied pitch bias."""
    return name.endswith(".pitch_bias")


def causal_pad_time(x: torch.Tensor, kernel_t: int) -> torch.Tensor:
    """Zero-pad the last (time) axis on the left so a conv of ``kernel_t`` taps is causal."""
    return F.pad(x, (kernel_t - 1, 0)) if kernel_t > 1 else x


def pool_pitch_ceil(x: torch.Tensor, pool: nn.Module) -> torch.Tensor:
    """Apply a 2 × 2 max-pool to (B, C, F, T), rounding an odd F up (time rounds down).

    An odd pitch count gets one −inf row on top, so its last row is pooled alone; time keeps
    floor rounding so a layer has exactly T // 2 steps (what the loop-aware ear expects).
    """
    if isinstance(pool, nn.Identity):
        return x
    if x.shape[2] % 2:
        x = F.pad(x, (0, 0, 0, 1), value=-math.inf)
    return pool(x)


def pooled_pitches(f: int, pool: bool) -> int:
    """Pitch rows after :func:`pool_pitch_ceil` (ceil(f / 2) when pooling)."""
    return (f + 1) // 2 if pool else f


class EncoderBlock(nn.Module):
    """(B, Cin, F, T) → hidden (B, Cout, pooled(F − 2), T'), output (B, Cout, F', T'): a
    residual block over pitch × time.

    main: conv1 (3 pitch × ``time_kernel``, causal in time) → BatchNorm → [2 × 2 max-pool] →
    [+ untied pitch bias] → ReLU (the hidden layer) → dropout → conv2 (``pitch_kernel`` × 1) → BatchNorm; shortcut:
    [the same max-pool] → the centre ``F'`` pitch rows (starting at row ``skip_offset``) → 1 × 1 conv where the
    channels change. Output ReLU(main + shortcut). Pitch convolutions are valid:
    F' = pooled(F − 2) − (pitch_kernel − 1); T' = T, or T // 2 when pooling.
    """

    def __init__(self, c_in: int, c_out: int, time_kernel: int, pitch_kernel: int, pool: bool, dropout: float,
                 f_in: int, pitch_bias: bool = False):
        super().__init__()
        self.time_kernel = time_kernel
        self.pitch_kernel = pitch_kernel
        self.conv1 = nn.Conv2d(c_in, c_out, (3, time_kernel))
        self.bn1 = nn.BatchNorm2d(c_out, affine=False)
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()
        self.conv2 = nn.Conv2d(c_out, c_out, (pitch_kernel, 1))
        self.bn2 = nn.BatchNorm2d(c_out, affine=False)
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.f_in = f_in
        self.f_out = pooled_pitches(f_in - 2, pool) - (pitch_kernel - 1)
        #: rows the (pooled) shortcut input has beyond the output: it sees their centre.
        self.shrink = pooled_pitches(f_in, pool) - self.f_out
        self.skip_offset = self.shrink // 2
        #: (Cout, pooled(F − 2), 1) learned bias per hidden (channel, pitch row); zero at start
        self.pitch_bias = nn.Parameter(torch.zeros(c_out, pooled_pitches(f_in - 2, pool), 1)) if pitch_bias else None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, Cin, F, T) → (hidden (B, Cout, pooled(F − 2), T'), output (B, Cout, F', T'))."""
        pre = pool_pitch_ceil(self.bn1(self.conv1(causal_pad_time(x, self.time_kernel))), self.pool)
        hidden = F.relu(pre if self.pitch_bias is None else pre + self.pitch_bias)
        y = self.bn2(self.conv2(self.dropout(hidden)))
        skip = pool_pitch_ceil(x, self.pool)
        lo = (skip.shape[2] - y.shape[2]) // 2  # the shortcut sees the centre of the pitch range
        skip = self.shortcut(skip[:, :, lo : lo + y.shape[2]])
        return hidden, F.relu(y + skip)


class ARBlock(nn.Module):
    """(B, Cin, T) → (B, Cout, T'): optional max-pool 2 over time, causal conv, BatchNorm,
    dropout, residual (1 × 1 conv where channels change), ReLU. T' = T or T // 2."""

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


def encoder_hidden_name(block: int) -> str:
    """The name of encoder block ``block``'s hidden layer (between its two convs)."""
    return f"enc{block}.mid"


def encoder_pitch_kernels(arch: Architecture, n_bins: int) -> tuple[int, ...]:
    """The encoder's pitch kernels for ``n_bins`` CQT bins: the preset's, with the last one
    adjusted so that the last block has exactly one pitch row (unchanged for 216 bins).

    Raises ValueError when the bins are too few for the encoder.
    """
    f = n_bins
    kernels = list(arch.enc_pitch_kernels)
    for i, kp in enumerate(kernels):
        pool = i in arch.enc_pool_blocks
        if i == len(kernels) - 1:
            kernels[i] = kp = pooled_pitches(f - 2, pool)  # a kernel spanning what is left
        f_out = pooled_pitches(f - 2, pool) - (kp - 1)
        if f - 2 < 1 or kp < 1 or f_out < 1:
            raise ValueError(f"{n_bins} CQT bins are too few for this encoder (block {i} has {f} pitch rows)")
        f = f_out
    return tuple(kernels)


class CPCModel(nn.Module):
    """Encoder + autoregressive model + predictors M_k.

    forward(scalogram (B, in_channels, F, T)) → OrderedDict of named activations (B, C, F, T).
    z = ``enc7`` (B, z_dim, 1, T // 4), c = ``ar8`` (B, c_dim, 1, T // 16).
    """

    def __init__(self, arch: Architecture, n_bins: int, in_channels: int = 1):
        super().__init__()
        self.arch = arch
        self.n_bins = n_bins
        self.in_channels = in_channels
        kernels = encoder_pitch_kernels(arch, n_bins)
        if kernels != arch.enc_pitch_kernels:
            log.info("last encoder pitch kernel %d → %d so that %d bins end in one pitch row",
                     arch.enc_pitch_kernels[-1], kernels[-1], n_bins)
        blocks = []
        f, c_in = n_bins, in_channels
        for i, (c_out, kp) in enumerate(zip(arch.enc_channels, kernels, strict=True)):
            block = EncoderBlock(c_in, c_out, 3 if i % 2 == 0 else 1, kp, i in arch.enc_pool_blocks, arch.dropout, f,
                                 arch.pitch_bias)
            blocks.append(block)
            f, c_in = block.f_out, c_out
        self.encoder = nn.ModuleList(blocks)
        self.z_dim = c_in
        ar = []
        for i, (c_out, k) in enumerate(zip(arch.ar_channels, arch.ar_kernels, strict=True)):
            ar.append(ARBlock(c_in, c_out, k, i in arch.ar_pool_before, arch.dropout))
            c_in = c_out
        self.autoregressive = nn.ModuleList(ar)
        self.c_dim = c_in
        self.predictors = nn.Linear(self.c_dim, arch.prediction_steps * self.z_dim)
        # Zero heads: every score starts at 0 (loss ln B) and the gradient still reaches M_k.
        # Random heads give huge initial scores whose quickest cure is a collapsed encoder
        # (z equal for every item, loss stuck at ln B), which is what a random start did here.
        nn.init.zeros_(self.predictors.weight)
        nn.init.zeros_(self.predictors.bias)

    @property
    def z_stride(self) -> int:
        """Scalogram frames per z step (4 for the presets)."""
        return 2 ** len(self.arch.enc_pool_blocks)

    @property
    def c_stride(self) -> int:
        """z steps per c step (4 for the presets)."""
        return 2 ** len(self.arch.ar_pool_before)

    def layer_names(self) -> list[str]:
        names = ["scalogram"]
        for i in range(len(self.encoder)):
            names += [encoder_hidden_name(i), f"enc{i}"]
        return names + [f"ar{i}" for i in range(len(self.autoregressive))]

    def forward(self, scalogram: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        out: OrderedDict[str, torch.Tensor] = OrderedDict(scalogram=scalogram)
        x = scalogram
        for i, block in enumerate(self.encoder):
            out[encoder_hidden_name(i)], x = block(x)
            out[f"enc{i}"] = x
        h = x.squeeze(2)  # z: (B, C, T)
        for i, block in enumerate(self.autoregressive):
            h = block(h)
            out[f"ar{i}"] = h.unsqueeze(2)
        return out

    @property
    def z_name(self) -> str:
        """The name of the layer that is z (the encoder's last block)."""
        return f"enc{len(self.encoder) - 1}"

    def split(self, acts: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """This model's output (:meth:`forward`) → z (B, z_dim, Tz), c (B, c_dim, Tc)."""
        return acts[self.z_name].squeeze(2), acts[f"ar{len(self.autoregressive) - 1}"].squeeze(2)

    def encode(self, scalogram: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """scalogram (B, in_channels, F, T) → z (B, z_dim, T // 4), c (B, c_dim, T // 16)."""
        return self.split(self(scalogram))

    def predict(self, c: torch.Tensor) -> torch.Tensor:
        """c (B, c_dim, T) → predictions (B, K, z_dim, T) of z at K future steps.

        Prediction k (0-based) of c step j is for z step ``target_step(j, k)``.
        """
        b, _, t = c.shape
        p = self.predictors(c.transpose(1, 2))  # (B, T, K·z_dim)
        return p.view(b, t, self.arch.prediction_steps, self.z_dim).permute(0, 2, 3, 1)

    def target_step(self, j: int | torch.Tensor, k: int | torch.Tensor) -> int | torch.Tensor:
        """The z step that prediction k (0-based) of c step j is for.

        c step j has seen z steps ≤ (j + 1)·c_stride − 1; the first prediction skips
        ``prediction_gap`` steps after that one.
        """
        return (j + 1) * self.c_stride - 1 + self.arch.prediction_gap + k + 1


class Ear(nn.Module):
    """The whole differentiable ear: waveform (B, S) float32 → named activations (B, C, F, T)."""

    def __init__(self, config: Config):
        super().__init__()
        self.scalogram = Scalogram(config.cqt, config.audio.sample_rate)
        self.model = CPCModel(architecture(config.model), config.cqt.n_bins, self.scalogram.channels)

    def layer_names(self) -> list[str]:
        return self.model.layer_names()

    def forward(self, waveform: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        return self.model(self.scalogram(waveform))


def build_ear(config: Config) -> Ear:
    """The ear of ``config``, in eval mode, on the CPU.

    Weights: ``models/<model.name>/model.safetensors`` when it exists and holds a model of
    this preset (``model.weights = 'auto'``; ``'load'`` requires it, ``'random'`` never
    loads). A file of this preset whose tensors do not fit the architecture is an error
    (:class:`ear3d.ml.checkpoint.CheckpointError`); a file of another preset is skipped
    with a warning. Otherwise the initialisation is random, seeded by ``model.seed``.
    """
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(config.model.seed)
    try:
        ear = Ear(config)
    finally:
        torch.random.set_rng_state(gen_state)
    if config.model.weights != "random":
        from ear3d.ml.checkpoint import load_into_ear

        load_into_ear(ear, config)
    return ear.eval()


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
