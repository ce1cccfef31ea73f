"""Per-layer activation statistics: what makes activations of different layers comparable.

A layer's normalised activation is ``(a − silence) / scale``: ``silence`` (C, F) is what each
neuron does when the ear hears silence, ``scale`` is one number per layer, the typical
spread of a neuron of that layer over data (the root mean square over neurons of each
neuron's standard deviation over clips and time). Silence maps to 0 in every layer, and
one unit means "one typical neuron's worth of variation", whatever the layer's raw range.

Statistics belong to a model's weights. :func:`compute_stats` measures them for any ear
(the untrained one included, on the project's origin clip, noise and generated clips);
:func:`save_stats` / :func:`load_stats` keep them next to a model as ``stats.npz``, tagged
with a fingerprint of the weights, so a trained model ships its own and a stale file is
recognised and ignored.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ear3d.atomic import atomic_write
from ear3d.clips import make_origin_clip
from ear3d.ml.loop import LoopedEar
from ear3d.ml.model import Ear
from ear3d.model_folder import STATS_FILE

log = logging.getLogger(__name__)

#: Smallest per-layer scale, so that a layer that never varies does not divide by zero.
MIN_SCALE = 1e-6
FORMAT_VERSION = 1


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one layer. Arrays are float32 of shape (C, F)."""

    silence: np.ndarray  # activation of each neuron for silence (time mean)
    mean: np.ndarray  # mean of each neuron over the data clips and time
    std: np.ndarray  # standard deviation of each neuron over the data clips and time
    scale: float  # rms over neurons of ``std`` (≥ MIN_SCALE): one normalised unit


@dataclass(frozen=True)
class Stats:
    """Statistics of every named layer of one model, with the fingerprint of its weights."""

    layers: dict[str, LayerStats]
    fingerprint: str

    def most_driven_channel(self, name: str) -> int:
        """The channel of layer ``name`` that sound drives furthest above its silence level
        (mean over pitch of (data mean − silence) / scale): a target that can be woken."""
        s = self.layers[name]
        return int(np.argmax(((s.mean - s.silence) / s.scale).mean(axis=1)))

    def tensors(self, device: torch.device) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """name → (silence (1, C, F, 1), 1/scale (scalar)) on ``device`` for normalising (B, C, F, T)."""
        out = {}
        for name, s in self.layers.items():
            silence = torch.from_numpy(s.silence).to(device)[None, :, :, None]
            out[name] = (silence, torch.tensor(1.0 / s.scale, device=device))
        return out


def fingerprint(ear: Ear) -> str:
    """SHA-1 over the model's weights and buffers and the front end's settings (hex, 16 chars)."""
    h = hashlib.sha1()
    cqt = ear.scalogram.config
    h.update(repr((ear.scalogram.sample_rate, cqt.fmin, cqt.bins_per_octave, cqt.n_bins, cqt.hop_length,
                   cqt.filter_scale, cqt.time_pool)).encode())
    for name, t in ear.model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def default_clips(sample_rate: int, n_samples: int, seed: int = 0) -> np.ndarray:
    """The data the statistics are measured on when a model brings none: (K, S) float32.

    The generated musical loop at a few seeds and levels, white and pink noise at two
    levels, a sine sweep and a click train: enough variety to set each layer's scale.
    """
    rng = np.random.default_rng(seed)
    seconds = n_samples / sample_rate
    clips = [make_origin_clip(sample_rate, seconds, seed=s) * g for s, g in ((7, 1.0), (1, 0.5), (2, 0.2), (3, 1.0))]
    white = rng.standard_normal(n_samples)
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))  # 1/f power
    pink = np.fft.irfft(spectrum, n_samples)
    pink /= np.abs(pink).max()
    clips += [0.3 * white / np.abs(white).max(), 0.03 * white / np.abs(white).max(), 0.5 * pink, 0.05 * pink]
    t = np.arange(n_samples) / sample_rate
    f0, f1 = 40.0, min(16000.0, 0.45 * sample_rate)
    phase = 2 * np.pi * f0 * seconds / np.log(f1 / f0) * (np.exp(t / seconds * np.log(f1 / f0)) - 1)
    clips.append(0.5 * np.sin(phase))
    clicks = np.zeros(n_samples)
    clicks[:: max(1, int(sample_rate * 0.125))] = 0.8
    clips.append(clicks)
    return np.stack([np.asarray(c, dtype=np.float32) for c in clips])


def compute_stats(
    looped: LoopedEar, clips: np.ndarray | None = None, batch: int = 2, progress: bool = False
) -> Stats:
    """Measure every layer's statistics with the loop-aware forward pass of ``looped``.

    clips: (K, S) float32 at the model's rate, S = looped.n_samples (default: default_clips).
    Runs K + 1 forward passes (the +1 is silence) on the ear's device, ``batch`` at a time.
    """
    from tqdm import tqdm

    device = next(looped.ear.parameters()).device
    if clips is None:
        clips = default_clips(looped.sample_rate, looped.n_samples)
    if clips.ndim != 2 or clips.shape[1] != looped.n_samples:
        raise ValueError(f"clips must be (K, {looped.n_samples}), got {clips.shape}")
    with torch.inference_mode():
        silence = looped(torch.zeros(1, looped.n_samples, device=device))
        sums: dict[str, torch.Tensor] = {}
        squares: dict[str, torch.Tensor] = {}
        for i in tqdm(range(0, len(clips), batch), desc="activation statistics", unit="batch", disable=not progress):
            x = torch.from_numpy(np.ascontiguousarray(clips[i : i + batch], dtype=np.float32)).to(device)
            for name, a in looped(x).items():
                a = a.double()  # sums of squares over many steps: keep the precision
                sums[name] = sums[name] + a.sum(dim=(0, 3)) if name in sums else a.sum(dim=(0, 3))
                sq = (a * a).sum(dim=(0, 3))
                squares[name] = squares[name] + sq if name in squares else sq
        layers = {}
        for name, a in silence.items():
            total = len(clips) * looped.window_steps[name]  # values per neuron
            mean = sums[name] / total
            std = (squares[name] / total - mean * mean).clamp_min(0.0).sqrt()
            scale = max(float(torch.sqrt((std * std).mean())), MIN_SCALE)
            layers[name] = LayerStats(
                silence=a[0].mean(-1).float().cpu().numpy(),
                mean=mean.float().cpu().numpy(),
                std=std.float().cpu().numpy(),
                scale=scale,
            )
    return Stats(layers, fingerprint(looped.ear))


def save_stats(path: str | Path, stats: Stats) -> Path:
    """Write ``stats`` as an .npz (``<layer>/silence``, ``/mean``, ``/std``, ``/scale``), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT_VERSION),
        "fingerprint": np.array(stats.fingerprint),
        "layers": np.array(list(stats.layers)),
    }
    for name, s in stats.layers.items():
        arrays[f"{name}/silence"] = s.silence
        arrays[f"{name}/mean"] = s.mean
        arrays[f"{name}/std"] = s.std
        arrays[f"{name}/scale"] = np.array(s.scale, dtype=np.float64)
    return atomic_write(path, lambda tmp: np.savez(tmp, allow_pickle=False, **arrays), suffix=".npz")


def load_stats(path: str | Path) -> Stats:
    """Read a file written by :func:`save_stats` (never unpickles). Raises ValueError if malformed."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["format"]) != FORMAT_VERSION:
                raise ValueError(f"{path}: statistics format {int(f['format'])}, expected {FORMAT_VERSION}")
            layers = {}
            for name in [str(n) for n in f["layers"]]:
                layers[name] = LayerStats(
                    silence=f[f"{name}/silence"].astype(np.float32),
                    mean=f[f"{name}/mean"].astype(np.float32),
                    std=f[f"{name}/std"].astype(np.float32),
                    scale=max(float(f[f"{name}/scale"]), MIN_SCALE),
                )
            return Stats(layers, str(f["fingerprint"]))
    except (KeyError, OSError, ValueError) as e:
        raise ValueError(f"cannot read activation statistics {path}: {e}") from None


def stats_for(looped: LoopedEar, model_dir: Path | None, progress: bool = False) -> Stats:
    """The model's saved statistics when ``model_dir/stats.npz`` matches its weights; else measured.

    Shapes are checked too. Measuring takes ~12 forward passes (about a second for the
    small preset on a CPU).
    """
    fp = fingerprint(looped.ear)
    if model_dir is not None and (model_dir / STATS_FILE).is_file():
        path = model_dir / STATS_FILE
        try:
            stats = load_stats(path)
        except ValueError as e:
            log.warning("%s; measuring instead", e)
        else:
            if stats.fingerprint == fp and _shapes_match(stats, looped):
                return stats
            log.warning("%s belongs to other weights (fingerprint %s, model %s); measuring instead",
                        path, stats.fingerprint, fp)
    return compute_stats(looped, progress=progress)


def _shapes_match(stats: Stats, looped: LoopedEar) -> bool:
    with torch.inference_mode():
        device = next(looped.ear.parameters()).device
        acts = looped(torch.zeros(1, looped.n_samples, device=device))
    return list(stats.layers) == list(acts) and all(
        stats.layers[n].silence.shape == tuple(a.shape[1:3]) for n, a in acts.items()
    )
