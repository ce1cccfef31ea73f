"""The ear hearing a clip as an endless loop: a loop-aware forward pass for optimisation.

A live clip is played in a loop, so what precedes its first sample is its own end. The
plain :class:`~ear3d.ml.model.Ear` sees a 4 s clip with reflected edges and no past; here
every frame of the window is computed as if the clip had been looping forever:

* the constant-Q transform reads the waveform circularly (``center`` padding wraps around);
* ``context_seconds`` of the loop's end are prepended, so the causal encoder and the
  autoregressive model have the loop's past in their receptive field; the activations are
  then cropped back to the window (one loop);
* each batch item may be the loop circularly shifted by any number of samples, and its
  activations are aligned back to the loop position of the unshifted item, so a time
  region selected for optimisation means the same moment of the loop for every item.

The CQT is nnAudio's, computed faster: nnAudio convolves every bin with a kernel padded to
the longest one (16384 taps at 40 Hz / 44.1 kHz), although an octave's kernels are half as
long as the octave below. Grouping the bins by octave and cropping each group's kernels to
their support gives the same numbers with ~4× fewer multiply-adds (a frame matrix per group
times a kernel matrix, which also back-propagates fast on CPUs).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

from ear3d.ml.cqt import LOG_RANGE, POWER_EPS
from ear3d.ml.model import Ear


def layer_strides(ear: Ear) -> "OrderedDict[str, int]":
    """name → scalogram frames per time step of that layer (1, 2, 4, …), read off the pools."""
    out: OrderedDict[str, int] = OrderedDict(scalogram=1)
    stride = 1
    for i, block in enumerate(ear.model.encoder):
        if not isinstance(block.pool, nn.Identity):
            stride *= 2
        out[f"enc{i}"] = stride
    for i, block in enumerate(ear.model.autoregressive):
        if not isinstance(block.pool, nn.Identity):
            stride *= 2
        out[f"ar{i}"] = stride
    return out


class LoopedEar(nn.Module):
    """Loop-aware forward of ``ear`` for clips of exactly ``n_samples``.

    Shapes: a loop ``x`` is (S,) float32; a batch of played items is (B, N) with
    N = :attr:`extended_samples`; the scalogram over context + window is (B, 1, F, Tc + T);
    aligned window activations are (B, C, F, T_l) with T_l = ``window_steps[name]``, equal
    to what the plain ear yields for a clip of S samples (172 steps at 4 s / 44.1 kHz).
    """

    def __init__(self, ear: Ear, n_samples: int, context_seconds: float):
        super().__init__()
        self.ear = ear
        scal = ear.scalogram
        self.hop = scal.config.hop_length
        self.time_pool = scal.config.time_pool
        self.sample_rate = scal.sample_rate
        self.n_samples = int(n_samples)
        self.strides = layer_strides(ear)
        self.frame_samples = self.hop * self.time_pool  # samples per scalogram step
        self.window_frames = scal.frames(self.n_samples)
        if self.window_frames < max(self.strides.values()):
            raise ValueError(f"a clip of {n_samples} samples is too short for this model")
        # Context in whole steps of the slowest layer, so every layer's crop starts on a step.
        unit = max(self.strides.values())
        steps = context_seconds * self.sample_rate / self.frame_samples
        self.context_frames = int(math.ceil(steps / unit - 1e-9)) * unit
        self.window_steps = {n: self.window_frames // s for n, s in self.strides.items()}
        self._build_kernels(scal.transform)

    # -- constant-Q transform -----------------------------------------------------------

    def _build_kernels(self, transform: nn.Module) -> None:
        real = transform.cqt_kernels_real[:, 0].detach().float()
        imag = transform.cqt_kernels_imag[:, 0].detach().float()
        scale = torch.sqrt(transform.lenghts.float()).view(-1, 1)  # nnAudio's "librosa" scaling
        width = real.shape[1]
        self.kernel_width = width
        support = (real != 0) | (imag != 0)
        taps = torch.arange(width)
        starts = torch.where(support, taps, width).min(1).values
        ends = torch.where(support, taps, -1).max(1).values + 1
        per_octave = self.ear.scalogram.config.bins_per_octave
        n_bins = real.shape[0]
        self.groups: list[tuple[int, int]] = []  # (first tap, taps) per group, bins in order
        self.group_bins: list[int] = []
        for g, lo in enumerate(range(0, n_bins, per_octave)):
            hi = min(n_bins, lo + per_octave)
            s, e = int(starts[lo:hi].min()), int(ends[lo:hi].max())
            # (taps, 2·bins): real parts then imaginary parts; the sign of imag does not matter for power
            k = torch.cat([real[lo:hi, s:e], imag[lo:hi, s:e]], 0) * torch.cat([scale[lo:hi], scale[lo:hi]], 0)
            self.register_buffer(f"kernel{g}", k.t().contiguous(), persistent=False)
            self.groups.append((s, e - s))
            self.group_bins.append(hi - lo)

    @property
    def hop_frames(self) -> int:
        """CQT frames (before the time pool) of context + window."""
        return (self.context_frames + self.window_frames) * self.time_pool

    @property
    def extended_samples(self) -> int:
        """Samples N of one played item: the frames' centred kernels over context + window."""
        return (self.hop_frames - 1) * self.hop + self.kernel_width

    def sample_index(self, shifts: torch.Tensor) -> torch.Tensor:
        """(B,) int64 shifts in samples → (B, N) int64 indices into the loop.

        Item b is the loop delayed by shifts[b]: its sample n is loop[(n − shift) mod S].
        Position 0 of the extended item is ``context_frames`` steps and half a kernel before
        the window's first sample.
        """
        first = -self.context_frames * self.frame_samples - self.kernel_width // 2
        n = torch.arange(first, first + self.extended_samples, device=shifts.device)
        return torch.remainder(n[None, :] - shifts[:, None], self.n_samples)

    def play(self, x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
        """Loop (S,) or (B, S) and shifts (B,) → played items (B, N)."""
        index = self.sample_index(shifts)
        if x.dim() == 1:
            return x[index]
        return torch.gather(x, 1, index)

    def scalogram(self, played: torch.Tensor) -> torch.Tensor:
        """(B, N) → (B, 1, F, Tc + T) log-power scalogram in about [0, 1], as Scalogram computes it."""
        n_frames, hop = self.hop_frames, self.hop
        powers = []
        for g, (start, taps) in enumerate(self.groups):
            kernel = getattr(self, f"kernel{g}")
            seg = played[:, start : start + (n_frames - 1) * hop + taps]
            frames = seg.unfold(-1, taps, hop)  # (B, frames, taps), a strided view
            spec = frames @ kernel.to(frames.dtype)  # (B, frames, 2·bins)
            re, im = spec.float().split(self.group_bins[g], dim=-1)
            powers.append(re * re + im * im)
        power = torch.cat(powers, -1).transpose(1, 2)  # (B, F, frames)
        logp = (torch.log(power + POWER_EPS) - math.log(POWER_EPS)) / LOG_RANGE
        if self.time_pool > 1:
            logp = F.max_pool1d(logp, self.time_pool)
        return logp.unsqueeze(1)

    # -- the network, cropped and aligned ----------------------------------------------------

    def activations(self, scalogram: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        """(B, 1, F, Tc + T) → name → (B, C, F, (Tc + T) // stride) over context + window."""
        return self.ear.model(scalogram)

    def align_index(self, name: str, shifts: torch.Tensor) -> torch.Tensor:
        """(B,) shifts → (B, T_l) indices into a layer's context + window steps.

        Step t of the unshifted loop is the step u of item b nearest to the same loop
        position, u·L − shift ≡ t·L (mod S) with L samples per step; a position in the loop's
        last partial step goes to whichever of the window's ends is nearer.
        """
        stride = self.strides[name]
        length = self.frame_samples * stride
        steps = self.window_steps[name]
        t = torch.arange(steps, device=shifts.device)
        pos = torch.remainder(t[None, :] * length + shifts[:, None], self.n_samples)
        u = torch.div(pos + length // 2, length, rounding_mode="floor")
        tail = u >= steps  # past the window's last step: nearer to the end or to the start?
        nearer_end = (pos - (steps - 1) * length) < (self.n_samples - pos)
        u = torch.where(tail, torch.where(nearer_end, steps - 1, 0), u)
        return u + self.context_frames // stride

    def crop(
        self, acts: "OrderedDict[str, torch.Tensor]", shifts: torch.Tensor | None = None
    ) -> "OrderedDict[str, torch.Tensor]":
        """Context + window activations → window activations (B, C, F, T_l), aligned by ``shifts``."""
        out: OrderedDict[str, torch.Tensor] = OrderedDict()
        for name, a in acts.items():
            if shifts is None:
                start = self.context_frames // self.strides[name]
                out[name] = a[..., start : start + self.window_steps[name]]
            else:
                out[name] = torch.take_along_dim(a, self.align_index(name, shifts)[:, None, None, :], dim=3)
        return out

    def forward(self, loops: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        """Unshifted loops (B, S) → window activations name → (B, C, F, T_l)."""
        shifts = torch.zeros(loops.shape[0], dtype=torch.long, device=loops.device)
        acts = self.activations(self.scalogram(self.play(loops, shifts)))
        return self.crop(acts)
