"""Sonification: gradient steps on a 4 s loop that make chosen neurons of the ear fire.

One step (:meth:`Sonifier.step`) is the composition of small pieces, as feature-visualisation
libraries (Lucid, torch-lucent) build theirs, following the reference's procedure
(docs/reference.md) where it worked and improving it where it was weak:

1. a parametrization: the loop x (S,) is expressed in parameters p — raw samples, or
   Fourier coefficients weighted by (f / fmin)^−decay (:class:`Spectral`), so that updates
   come out pink instead of white (cleaner sound);
2. transforms (:mod:`ear3d.ml.transforms`): a batch of B items is played from the loop —
   item 0 the clean loop (the one shown and heard), items 1… circularly shifted (the
   shifted loop is still the loop) — with a whisper of input noise so that exact silence
   has a gradient; the loop-aware ear (:mod:`ear3d.ml.loop`) hears each item with the loop's
   own past as context, and items 1… get a random time block and pitch block of their
   scalogram silenced;
3. objectives (:mod:`ear3d.ml.objectives`, :mod:`ear3d.ml.regularizers`): every layer is
   normalised by the model's statistics (:mod:`ear3d.ml.stats`) with activations aligned to
   the loop position, and the step maximises the target objective minus the penalty
   objectives with their factors, averaged over the batch (the loss is its negative);
4. the update rule (:mod:`ear3d.ml.update`): the gradient with respect to p is mapped back
   to a waveform update, divided by its standard deviation (so ``learning_rate`` is the RMS
   change per sample), applied, mixed towards the origin clip and bounded in amplitude; a
   non-finite loss or clip sends the loop back to the last clip that evaluated cleanly
   (counted in ``recoveries``; after three in a row, back to the origin).

Unlike the reference, a minimised target goes down rather than up (no squared objective),
and a time region means the same moment of the loop in every shifted item.
"""

from __future__ import annotations

import collections
import contextlib
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from ear3d import paths
from ear3d.clips import AudioFileError, fit_length, read_audio
from ear3d.config import Config, OptimizeConfig
from ear3d.ml.loop import LoopedEar
from ear3d.ml.model import Ear
from ear3d.ml.objectives import Objective
from ear3d.ml.regularizers import SOUND, normalize, penalties, regularized
from ear3d.ml.stats import Stats, compute_stats
from ear3d.ml.transforms import Augmentations, augmentations
from ear3d.ml.update import LoopUpdate

#: Amplitude of the "noise" origin clip.
NOISE_ORIGIN_LEVEL = 0.1


# -- parametrizations ------------------------------------------------------------------------


class Parametrization(Protocol):
    """A linear, invertible map between parameters p and the loop's waveform x (S,)."""

    def encode(self, x: torch.Tensor) -> torch.Tensor: ...

    def decode(self, p: torch.Tensor) -> torch.Tensor: ...


class Raw:
    """p = x: the waveform's samples themselves (the reference's choice)."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()

    def decode(self, p: torch.Tensor) -> torch.Tensor:
        return p


class Spectral:
    """p = (K, 2) real/imaginary Fourier coefficients of x divided by w(f) = (max(f, f0)/f0)^−decay.

    x = irfft(w · p) (orthonormal FFT). A gradient step on p moves x by the gradient filtered
    by w²: with decay 0.5 the update's power falls as 1/f (pink), so high frequencies, which
    the CQT resolves coarsely and the ear hears as hiss, grow slowly.
    """

    def __init__(self, n_samples: int, sample_rate: int, f0: float, decay: float, device: torch.device):
        self.n_samples = n_samples
        freqs = torch.fft.rfftfreq(n_samples, 1.0 / sample_rate).to(device)
        self.weight = (freqs.clamp_min(f0) / f0).pow(-decay).float()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.view_as_real(torch.fft.rfft(x.float(), norm="ortho") / self.weight).contiguous()

    def decode(self, p: torch.Tensor) -> torch.Tensor:
        return torch.fft.irfft(torch.view_as_complex(p) * self.weight, n=self.n_samples, norm="ortho")


def make_parametrization(settings: OptimizeConfig, n_samples: int, sample_rate: int, fmin: float,
                         device: torch.device) -> Parametrization:
    if settings.parametrization == "raw":
        return Raw()
    return Spectral(n_samples, sample_rate, fmin, settings.spectral_decay, device)


# -- origin clips ----------------------------------------------------------------------------


def origin_samples(value: Any, sample_rate: int, n_samples: int, seed: int = 0) -> np.ndarray:
    """An origin clip as (S,) float32 at ``sample_rate``, cut or looped to ``n_samples``.

    value: ``"silence"``, ``"noise"`` (white, peak 0.1), a clip name in assets/clips/ (with or
    without extension), a path to any audio file (any rate, length, channel count), a
    :class:`~ear3d.messages.Clip` at ``sample_rate``, or an (S,) array.
    Raises AudioFileError or ValueError with the reason.
    """
    from ear3d.messages import Clip

    if isinstance(value, Clip):
        if value.sample_rate != sample_rate:
            raise ValueError(f"clip sample rate {value.sample_rate} Hz differs from the model's {sample_rate} Hz")
        value = value.samples
    if isinstance(value, np.ndarray):
        samples = np.asarray(value, dtype=np.float32).reshape(-1)
        if samples.size == 0:
            raise ValueError("origin clip is empty")
        if not np.isfinite(samples).all():
            raise ValueError("clip contains NaN or infinite samples")
        return fit_length(samples, n_samples).astype(np.float32, copy=True)
    if isinstance(value, str) and value == "silence":
        return np.zeros(n_samples, np.float32)
    if isinstance(value, str) and value == "noise":
        rng = np.random.default_rng(seed)
        return (NOISE_ORIGIN_LEVEL * rng.uniform(-1.0, 1.0, n_samples)).astype(np.float32)
    if isinstance(value, (str, Path)):
        path = Path(value)
        if not path.exists() and isinstance(value, str) and "/" not in value:
            named = sorted(paths.clips().glob(f"{value}.*")) + [paths.clips() / value]
            path = next((p for p in named if p.is_file()), path)
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in paths.clips().glob("*.*"))) or "none"
            raise AudioFileError(f"origin {str(value)!r} is not silence, noise, a clip in assets/clips/ ({known}) "
                                 f"or an existing audio file")
        return read_audio(path, sample_rate, n_samples / sample_rate)
    kind = type(value).__name__
    raise ValueError(f"origin must be 'silence', 'noise', a clip name, a file path or a Clip, got {kind}")


# -- the optimisation ------------------------------------------------------------------------


@dataclass
class StepResult:
    """What one step (or one listen) produced. Tensors are detached, on the worker's device.

    waveform (S,) float32: the clip the activations belong to; acts: name → (C, F, T) raw
    activations of the clean item (tensors of their own, never buffers a compiled graph
    reuses: the renderer may read them later); scalogram and scalogram_grad: (F, T) of the
    clean item (the gradient of the loss, zero when listening); loss and target: floats
    (target = the objective on the clean item in normalised units, NaN without an
    objective); terms: the loss's parts, batch means; ok: False when the step was rejected
    as non-finite.
    """

    waveform: torch.Tensor
    acts: OrderedDict[str, torch.Tensor]
    scalogram: torch.Tensor
    scalogram_grad: torch.Tensor
    loss: float = math.nan
    target: float = math.nan
    terms: dict[str, float] = field(default_factory=dict)
    ok: bool = True


@dataclass
class Heard:
    """What the ear made of one batch. shifts (B,) int64: each item's circular delay in
    samples; scalogram (B, C, F, Tc + T): of the played items over context + loop, before
    masks; acts: name → (B, C, F, T_l) raw window activations aligned to the loop; evaluated:
    what objectives read — the activations normalised, and under SOUND the unmasked
    scalogram window (B, C, F, T) aligned to the loop."""

    shifts: torch.Tensor
    scalogram: torch.Tensor
    acts: OrderedDict[str, torch.Tensor]
    evaluated: dict[str, torch.Tensor]


class Sonifier:
    """Owns the optimisation state of one loop on one device; not thread-safe (the worker owns it).

    ear: the model (its parameters are frozen here: only the input gets gradients).
    config: the root config (audio, cqt and optimize sections are used).
    stats: per-layer statistics; measured from the ear when None.
    """

    def __init__(self, ear: Ear, config: Config, stats: Stats | None = None, device: torch.device | None = None):
        self.device = device or next(ear.parameters()).device
        self.ear = ear.to(self.device).eval().requires_grad_(False)  # gradients w.r.t. the input only
        self.config = config
        self.sample_rate = config.audio.sample_rate
        self.n_samples = round(config.audio.clip_seconds * self.sample_rate)
        self.settings = config.optimize
        self.looped = self._looped(self.settings)
        self.stats = stats if stats is not None else compute_stats(self.looped)
        self._stat_tensors = self.stats.tensors(self.device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(self.settings.seed)
        self.param = make_parametrization(self.settings, self.n_samples, self.sample_rate, config.cqt.fmin, self.device)
        self.network: Callable = self._network(self.settings)
        self.augmentations = self._augmentations(self.settings)
        self.penalties = penalties(self.settings)
        self.objective: Objective | None = None
        self.update = LoopUpdate(torch.zeros(self.n_samples, device=self.device))
        self.steps = 0
        #: the last listen: (loop (S,), what the ear heard), see listen(); forgotten when the
        #: ear's context or network is rebuilt (update_settings)
        self._last_listen: tuple[torch.Tensor, Heard] | None = None
        self.loss_history: collections.deque[float] = collections.deque(maxlen=self.settings.history)
        self.target_history: collections.deque[float] = collections.deque(maxlen=self.settings.history)
        with torch.inference_mode():
            probe = self.looped(torch.zeros(1, self.n_samples, device=self.device))
        #: name → (C, F, T) of every layer's window activations
        self.shapes: OrderedDict[str, tuple[int, int, int]] = OrderedDict(
            (n, tuple(a.shape[1:])) for n, a in probe.items()
        )
        if list(self.stats.layers) != list(self.shapes):
            raise ValueError("activation statistics do not cover this model's layers")

    # -- state -------------------------------------------------------------------------------

    @property
    def x(self) -> torch.Tensor:
        """The current loop (S,) float32."""
        return self.update.x

    @property
    def origin(self) -> torch.Tensor:
        """The origin clip (S,) float32 the loop started from."""
        return self.update.origin

    @property
    def recoveries(self) -> int:
        """Non-finite steps undone so far (kept across resets)."""
        return self.update.recoveries

    def _looped(self, s: OptimizeConfig) -> LoopedEar:
        return LoopedEar(self.ear, self.n_samples, s.context_seconds).to(self.device)

    def _augmentations(self, s: OptimizeConfig) -> Augmentations:
        window = (self.looped.context_frames, self.looped.window_frames)
        return augmentations(s, self.sample_rate, self.n_samples, window)

    def _network(self, s: OptimizeConfig) -> Callable:
        # Under torch.compile the ReLUs stay plain: the redirection is a torch function mode,
        # which compiled graphs are not guaranteed to honour.
        looped, redirect = self.looped, s.relu_redirect == "on" and s.compile != "on"

        def fn(scalogram: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
            return looped.activations(scalogram, redirect=redirect)

        if s.compile == "on":
            # CUDA graphs ("reduce-overhead") replay the whole network in one launch; static shapes.
            mode = "reduce-overhead" if self.device.type == "cuda" else "default"
            compiled = torch.compile(fn, mode=mode, dynamic=False)

            def fn_compiled(scalogram: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
                if self.device.type == "cuda":
                    torch.compiler.cudagraph_mark_step_begin()  # outputs of the last replay are done with
                return compiled(scalogram)

            return fn_compiled
        return fn

    def update_settings(self, settings: OptimizeConfig) -> None:
        """Apply new factors; rebuilds what depends on them (context, parametrization, history)."""
        old, self.settings = self.settings, settings
        if (settings.context_seconds, settings.compile, settings.relu_redirect) != (
                old.context_seconds, old.compile, old.relu_redirect):
            self._last_listen = None  # the ear hears differently now
        if settings.context_seconds != old.context_seconds:
            self.looped = self._looped(settings)
            self.network = self._network(settings)
        elif (settings.compile, settings.relu_redirect) != (old.compile, old.relu_redirect):
            self.network = self._network(settings)
        if (settings.parametrization, settings.spectral_decay) != (old.parametrization, old.spectral_decay):
            self.param = make_parametrization(settings, self.n_samples, self.sample_rate, self.config.cqt.fmin,
                                              self.device)
        self.augmentations = self._augmentations(settings)
        self.penalties = penalties(settings)
        if settings.history != old.history:
            self.loss_history = collections.deque(self.loss_history, maxlen=settings.history)
            self.target_history = collections.deque(self.target_history, maxlen=settings.history)
        if settings.seed != old.seed:
            self.generator.manual_seed(settings.seed)

    def set_origin(self, samples: np.ndarray) -> None:
        """A new origin (S,) float32: the loop restarts from it."""
        self.update.restart(torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32)).to(self.device))
        self.reset()

    def reset(self) -> None:
        """Back to the origin clip; step count and histories cleared (recoveries are kept)."""
        self.update.restart()
        self.steps = 0
        self.loss_history.clear()
        self.target_history.clear()

    def set_objective(self, objective: Objective | None) -> None:
        """Aim at ``objective`` (checked against the layers, and SOUND) or at nothing."""
        if objective is not None:
            objective.check({**self.shapes, SOUND: self.shapes["scalogram"]})
        self.objective = objective

    # -- forward passes ----------------------------------------------------------------------

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.settings.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _normalized(self, acts: OrderedDict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return normalize(acts, self._stat_tensors)

    def hear(self, loop: torch.Tensor, batch: int = 1, augment: bool = False) -> Heard:
        """The ear on ``batch`` items played from ``loop`` (S,), through the transforms when
        ``augment`` (item 0 stays the clean loop; see the module doc)."""
        looped, aug, generator = self.looped, self.augmentations, self.generator
        if augment:
            shifts = aug.jitter(batch, generator, self.device)
            played = aug.played(looped.play(loop, shifts), generator)
        else:
            shifts = torch.zeros(batch, dtype=torch.long, device=self.device)
            played = looped.play(loop, shifts)
        scal = looped.scalogram(played)  # (B, C, F, Tc + T)
        if scal.requires_grad:
            scal.retain_grad()  # the picture of where the loss pulls
        heard = aug.heard(scal, generator) if augment else scal
        with self._autocast():
            acts = looped.crop(self.network(heard), shifts if augment else None)
        sound = looped.crop(OrderedDict(scalogram=scal), shifts if augment else None)["scalogram"]
        evaluated = {**self._normalized(acts), SOUND: sound}
        return Heard(shifts, scal, acts, evaluated)

    def listen(self) -> StepResult:
        """Evaluate the current loop without changing it (activations of the clean item).

        While the loop and the ear are those of the last listen, the ear is not run again: a
        new target (or new settings) on a paused loop only re-evaluates the objective, so a
        performer sweeping a fader does not keep a CPU core busy."""
        with torch.inference_mode():
            x = self.x
            last = self._last_listen
            if last is not None and torch.equal(last[0], x):
                heard = last[1]
            else:
                heard = self.hear(x)
                self._last_listen = (x.clone(), heard)
            target = math.nan
            if self.objective is not None:
                target = float(self.objective(heard.evaluated)[0])
            window = self._window(heard.scalogram)
            return StepResult(
                waveform=self.x.clone(),
                # copies: under compile the network's outputs are buffers the next replay reuses
                acts=OrderedDict((n, a[0].float().clone()) for n, a in heard.acts.items()),
                scalogram=window[0, 0],
                scalogram_grad=torch.zeros_like(window[0, 0]),
                target=target,
            )

    def normalized(self) -> dict[str, torch.Tensor]:
        """Normalised activations name → (C, F, T) of the current loop's clean item (no gradient)."""
        with torch.inference_mode():
            heard = self.hear(self.x)
            return {n: heard.evaluated[n][0] for n in heard.acts}

    def _window(self, scal: torch.Tensor) -> torch.Tensor:
        c = self.looped.context_frames
        return scal[..., c : c + self.looped.window_frames]

    def step(self) -> StepResult:
        """One optimisation step toward the objective (which must be set). See the module doc."""
        if self.objective is None:
            raise RuntimeError("no objective: select a target first")
        evaluated = self.x
        p = self.param.encode(evaluated).requires_grad_(True)
        wave = self.param.decode(p)
        heard = self.hear(wave, self.settings.batch, augment=True)
        parts: dict[str, torch.Tensor] = {}  # term name → (B,): the target and each penalty, evaluated once
        aim = regularized(self.objective.recorded(parts, "objective"),
                          {k: (f, pen.recorded(parts, k)) for k, (f, pen) in self.penalties.items()})
        loss = -aim(heard.evaluated).mean()
        loss.backward()
        p_grad = p.grad if p.grad is not None else torch.zeros_like(p)  # None: the loss ignores the sound
        new = self.update.propose(wave, self.param.decode(p_grad), self.settings)  # decode is linear: p's step in x
        target = parts["objective"][0]
        with torch.no_grad():
            # One host sync per step: the loss, the target, whether all is finite and the terms.
            finite = torch.isfinite(loss) & torch.isfinite(new).all() & torch.isfinite(target)
            numbers = torch.stack([loss.detach(), target.detach(), finite.float()] +
                                  [v.detach().float().mean() for v in parts.values()]).tolist()
        loss_value, target_value, ok = numbers[0], numbers[1], numbers[2] == 1.0
        if not ok:
            self.update.reject()
            blank = torch.zeros_like(self._window(heard.scalogram.detach())[0, 0])
            return StepResult(evaluated, OrderedDict(), blank, blank, loss_value, target_value, ok=False)
        self.update.accept(new)
        self.steps += 1
        self.loss_history.append(loss_value)
        self.target_history.append(target_value)
        scal_grad = heard.scalogram.grad
        window = self._window(heard.scalogram.detach())[0, 0]
        return StepResult(
            waveform=evaluated,
            acts=OrderedDict((n, a[0].detach().float()) for n, a in heard.acts.items()),
            scalogram=window,
            scalogram_grad=self._window(scal_grad)[0, 0] if scal_grad is not None else torch.zeros_like(window),
            loss=loss_value,
            target=target_value,
            terms=dict(zip(parts, numbers[3:], strict=True)),
        )

    def run(self, steps: int, progress: bool = False, on_step: Callable[[StepResult], None] | None = None
            ) -> list[StepResult]:
        """``steps`` steps in a row (a tqdm bar with ``progress``); returns every result."""
        from tqdm import tqdm

        out = []
        bar = tqdm(range(steps), desc="sonify", unit="step", disable=not progress)
        for _ in bar:
            r = self.step()
            out.append(r)
            if on_step is not None:
                on_step(r)
            if progress and r.ok:
                bar.set_postfix(target=f"{r.target:.3g}", loss=f"{r.loss:.3g}")
        return out


def with_settings(config: Config, **values: Any) -> Config:
    """``config`` with optimize keys replaced and validated (ConfigError names a bad key or value)."""
    return config.replace({"optimize": values})


__all__ = [
    "Heard",
    "Parametrization",
    "Raw",
    "Spectral",
    "Sonifier",
    "StepResult",
    "make_parametrization",
    "origin_samples",
    "with_settings",
]
