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

Dead units: a ReLU whose input is negative passes no gradient, so a target region that is
silent for the current sound could never be woken. With ``redirect=True`` the network's
ReLUs, for a batch item where the ordinary ReLU gradient is zero everywhere, let through the
gradient that would raise their input (Lucid's "redirected ReLU"); forward values are
unchanged.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from ear3d.ml.cqt import LOG_RANGE, POWER_EPS
from ear3d.ml.model import Ear, encoder_hidden_name

if TYPE_CHECKING:
    from nnAudio.features import CQT1992v2

log = logging.getLogger(__name__)


class RedirectedReLU(torch.autograd.Function):
    """relu(x) forward. Backward: the ordinary gradient; for a batch item where that is zero
    everywhere, the gradient where it would raise x (descent moves x by −grad, so grad < 0)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.clamp_min(0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        relu_grad = torch.where(x > 0, grad, torch.zeros_like(grad))
        redirected = torch.where((x <= 0) & (grad > 0), torch.zeros_like(grad), grad)
        alive = relu_grad.flatten(1).abs().amax(1) > 0  # per item: did anything get through?
        alive = alive.view(-1, *([1] * (grad.dim() - 1)))
        return torch.where(alive, relu_grad, redirected)


def redirected_relu(x: torch.Tensor) -> torch.Tensor:
    return RedirectedReLU.apply(x)


class RedirectReLUs(TorchFunctionMode):
    """Within this context (this thread only), every ``F.relu`` / ``torch.relu`` is redirected.

    A torch function mode rather than a copy of the model's blocks: the model can change
    without this module knowing.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (F.relu, torch.relu, torch.Tensor.relu):
            return redirected_relu(args[0])
        return func(*args, **kwargs)


def layer_strides(ear: Ear) -> OrderedDict[str, int]:
    """name → scalogram frames per time step of that layer (1, 2, 4, …), read off the pools."""
    out: OrderedDict[str, int] = OrderedDict(scalogram=1)
    stride = 1
    for i, block in enumerate(ear.model.encoder):
        if not isinstance(block.pool, nn.Identity):
            stride *= 2
        out[encoder_hidden_name(i)] = out[f"enc{i}"] = stride  # the pool sits before the hidden layer
    for i, block in enumerate(ear.model.autoregressive):
        if not isinstance(block.pool, nn.Identity):
            stride *= 2
        out[f"ar{i}"] = stride
    return out


class LoopedEar(nn.Module):
    """Loop-aware forward of ``ear`` for clips of exactly ``n_samples``.

    Shapes: a loop ``x`` is (S,) float32; a batch of played items is (B, N) with
    N = :attr:`extended_samples`; the scalogram over context + window is (B, C, F, Tc + T);
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
        self._check_strides()

    def _check_strides(self) -> None:
        """The pools read off the blocks must give each layer T // stride steps (probe run)."""
        device = next(self.ear.parameters()).device
        steps = 4 * max(self.strides.values())
        cfg = self.ear.scalogram.config
        probe = torch.zeros((1, self.ear.scalogram.channels, cfg.n_bins, steps), device=device)
        with torch.inference_mode():
            acts = self.ear.model(probe)
        wrong = [n for n, a in acts.items() if n not in self.strides or a.shape[-1] != steps // self.strides[n]]
        if list(acts) != list(self.strides) or wrong:
            raise ValueError(f"the loop-aware ear cannot tell this model's time steps apart (layers {wrong})")

    # -- constant-Q transform -----------------------------------------------------------

    def _build_kernels(self, transform: CQT1992v2) -> None:
        real = transform.cqt_kernels_real[:, 0].detach().float()
        imag = -transform.cqt_kernels_imag[:, 0].detach().float()  # nnAudio negates the imaginary part
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
            # (taps, 2·bins): the group's real kernels, then its imaginary ones, cropped to their support
            k = torch.cat([real[lo:hi, s:e] * scale[lo:hi], imag[lo:hi, s:e] * scale[lo:hi]], 0)
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
        """(B, N) → (B, C, F, Tc + T) scalogram in about [0, 1], as :class:`Scalogram` computes it
        (C = 1 log power, or 2 with the phase-advance channel when ``cqt.phase`` is on)."""
        n_frames, hop = self.hop_frames, self.hop
        parts = []
        for g, (start, taps) in enumerate(self.groups):
            kernel = getattr(self, f"kernel{g}")
            seg = played[:, start : start + (n_frames - 1) * hop + taps]
            frames = seg.unfold(-1, taps, hop)  # (B, frames, taps), a strided view
            parts.append(frames @ kernel.to(frames.dtype))  # (B, frames, 2·bins)
        re = torch.cat([p[..., :n] for p, n in zip(parts, self.group_bins, strict=True)], -1).float().transpose(1, 2)
        im = torch.cat([p[..., n:] for p, n in zip(parts, self.group_bins, strict=True)], -1).float().transpose(1, 2)
        power = re * re + im * im  # (B, F, frames)
        logp = (torch.log(power + POWER_EPS) - math.log(POWER_EPS)) / LOG_RANGE
        channels = [logp]
        if getattr(self.ear.scalogram, "channels", 1) == 2:
            channels.append(self.ear.scalogram.phase_advance(re, im))
        out = torch.stack(channels, 1)  # (B, C, F, frames)
        if self.time_pool > 1:
            out = F.max_pool2d(out, (1, self.time_pool))
        return out

    # -- the network, cropped and aligned ----------------------------------------------------

    def activations(self, scalogram: torch.Tensor, redirect: bool = False) -> OrderedDict[str, torch.Tensor]:
        """(B, 1, F, Tc + T) → name → (B, C, F, (Tc + T) // stride) over context + window.

        redirect: ReLUs pass the gradient that would wake dead units (see the module doc);
        the forward values are the same either way.
        """
        if redirect:
            with RedirectReLUs():
                return self.ear.model(scalogram)
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
        self, acts: OrderedDict[str, torch.Tensor], shifts: torch.Tensor | None = None
    ) -> OrderedDict[str, torch.Tensor]:
        """Context + window activations → window activations (B, C, F, T_l), aligned by ``shifts``."""
        out: OrderedDict[str, torch.Tensor] = OrderedDict()
        for name, a in acts.items():
            if shifts is None:
                start = self.context_frames // self.strides[name]
                out[name] = a[..., start : start + self.window_steps[name]]
            else:
                out[name] = torch.take_along_dim(a, self.align_index(name, shifts)[:, None, None, :], dim=3)
        return out

    def forward(self, loops: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        """Unshifted loops (B, S) → window activations name → (B, C, F, T_l)."""
        shifts = torch.zeros(loops.shape[0], dtype=torch.long, device=loops.device)
        acts = self.activations(self.scalogram(self.play(loops, shifts)))
        return self.crop(acts)
