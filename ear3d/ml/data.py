"""Training data: random crops from audio folders or from the procedural corpus, noise
augmentation, and a pool of cached scalograms for CPU training.

A *source* hands out mono float32 crops at the model's rate: ``crop(rng, n) -> (n,)``.
:class:`FolderSource` reads WAV, FLAC, OGG, MP3 … through soundfile (resampled, mixed down,
random positions); a bad file — corrupt, empty, shorter than one crop, NaN, unknown format —
is skipped with one warning naming it and the reason, and counted in ``skipped``; a run
never dies on one bad file. :class:`ProceduralSource` renders fresh pieces.

Scalograms are the expensive part of a CPU step (the CQT convolves every bin with a long
kernel); :class:`ScalogramPool` keeps the scalograms of many longer clips and cuts random
crops from them, replacing a few clips with fresh ones each step.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ear3d.clips import AudioFileError, resample
from ear3d.ml.corpus import ProceduralCorpus, render_piece

log = logging.getLogger(__name__)


class Source(Protocol):
    sample_rate: int

    def crop(self, rng: np.random.Generator, n_samples: int) -> np.ndarray:
        """A random crop: (n_samples,) float32 at ``sample_rate``."""
        ...

    def describe(self) -> dict:
        """What the data is, for config.json."""
        ...


class ProceduralSource:
    """Fresh procedural pieces of one corpus split (see :mod:`ear3d.ml.corpus`)."""

    def __init__(self, sample_rate: int, split: int = ProceduralCorpus.TRAIN):
        self.sample_rate = sample_rate
        self.split = split
        self.skipped: dict[str, str] = {}

    def crop(self, rng: np.random.Generator, n_samples: int) -> np.ndarray:
        seed = (self.split, int(rng.integers(2**62)))
        return render_piece(seed, self.sample_rate, n_samples / self.sample_rate)[0][:n_samples]

    def describe(self) -> dict:
        return {"kind": "procedural", "split": self.split}


def list_audio_files(folder: Path) -> list[Path]:
    """Every regular, non-hidden file under ``folder`` (recursively), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AudioFileError(f"training data folder {folder} does not exist or is not a folder")
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not any(s.startswith(".") for s in p.relative_to(folder).parts))


class FolderSource:
    """Random crops of the audio files in a folder (or an explicit file list).

    Files are checked when listed (soundfile can open them, not empty, at least one crop
    long) and again when read (readable, finite). ``skipped`` maps each bad file to its
    reason; each is warned about once.
    """

    def __init__(self, files: list[Path], sample_rate: int, min_samples: int, label: str = "training"):
        import soundfile as sf

        self.sample_rate = sample_rate
        self.min_samples = min_samples
        self.skipped: dict[str, str] = {}
        self.files: list[tuple[Path, int, int]] = []  # (path, frames, native rate)
        for path in files:
            try:
                info = sf.info(str(path))
            except Exception as e:  # soundfile raises LibsndfileError, RuntimeError, TypeError…
                why = str(e).splitlines()[0] if str(e) else type(e).__name__
                self._skip(path, f"unknown format or unreadable ({why})")
                continue
            if info.frames <= 0:
                self._skip(path, "empty")
                continue
            if info.frames * sample_rate / info.samplerate < min_samples:
                self._skip(path, f"shorter than one crop ({info.frames / info.samplerate:.2f} s < "
                                 f"{min_samples / sample_rate:.2f} s)")
                continue
            self.files.append((Path(path), int(info.frames), int(info.samplerate)))
        if not self.files:
            raise AudioFileError(f"no usable {label} audio files ({len(self.skipped)} skipped)")

    def _skip(self, path: Path, reason: str) -> None:
        if str(path) not in self.skipped:
            self.skipped[str(path)] = reason
            log.warning("skipping audio file %s: %s", path, reason)

    def crop(self, rng: np.random.Generator, n_samples: int) -> np.ndarray:
        import soundfile as sf

        while self.files:
            i = int(rng.integers(len(self.files)))
            path, frames, rate = self.files[i]
            need = min(frames, int(math.ceil(n_samples * rate / self.sample_rate)) + 64)
            start = int(rng.integers(0, frames - need + 1))
            try:
                data, _ = sf.read(str(path), start=start, frames=need, dtype="float32", always_2d=True)
                if data.size == 0:
                    raise ValueError("no samples could be read")
                if not np.isfinite(data).all():
                    raise ValueError("contains NaN or infinite samples")
            except Exception as e:
                self.files.pop(i)
                self._skip(path, f"cannot read ({e})")
                continue
            mono = data.mean(axis=1)
            if rate != self.sample_rate:
                mono = resample(mono, rate, self.sample_rate)
            if len(mono) < n_samples:
                mono = np.pad(mono, (0, n_samples - len(mono)))
            return mono[:n_samples].astype(np.float32)
        raise AudioFileError(f"every audio file was unusable ({len(self.skipped)} skipped)")

    def describe(self) -> dict:
        return {"kind": "folder", "files": len(self.files), "skipped": len(self.skipped)}


def training_files(folder: Path) -> list[Path]:
    """The audio files training may use in ``folder``: all of them, or, in a corpus built by
    `ear3d corpus build` (a folder with its manifest), only its training split — never the
    pieces and SoundFont held out for evaluation."""
    from ear3d.ml.music_corpus import MANIFEST, corpus_files

    folder = Path(folder)
    if (folder / MANIFEST).is_file():
        files = corpus_files(folder, "train")
        if not files:
            raise AudioFileError(f"the corpus in {folder} has no training pieces yet: run `ear3d corpus build`")
        return files
    return list_audio_files(folder)


def folder_sources(folder: Path, sample_rate: int, min_samples: int) -> tuple[FolderSource, FolderSource]:
    """Training and validation sources from one folder (:func:`training_files`): every 10th
    usable file (at least one) is held out for validation; with a single file both use it (warned)."""
    files = training_files(folder)
    train = FolderSource(files, sample_rate, min_samples)
    good = [p for p, _, _ in train.files]
    if len(good) < 2:
        log.warning("only one usable audio file in %s: validation crops come from the training file", folder)
        return train, train
    held = set(good[::10][: max(1, len(good) // 10)])
    val = FolderSource(sorted(held), sample_rate, min_samples, "validation")
    train.files = [f for f in train.files if f[0] not in held]
    return train, val


class MixedSource:
    """Crops drawn from several sources, each crop from one chosen uniformly at random."""

    def __init__(self, sources: list[Source]):
        self.sources = sources
        self.sample_rate = sources[0].sample_rate

    @property
    def skipped(self) -> dict[str, str]:
        return {k: v for s in self.sources for k, v in getattr(s, "skipped", {}).items()}

    def crop(self, rng: np.random.Generator, n_samples: int) -> np.ndarray:
        return self.sources[int(rng.integers(len(self.sources)))].crop(rng, n_samples)

    def describe(self) -> dict:
        return {"kind": "mixed", "parts": [s.describe() for s in self.sources]}


def make_sources(data: str, sample_rate: int, min_samples: int) -> tuple[Source, Source]:
    """(training, validation) sources for ``train.data``: 'procedural', a folder, or several
    joined by '+' (e.g. 'procedural+~/music': each crop from one of them at random; validation
    on the first folder's held-out files, or procedural when there is no folder)."""
    if "+" in data and not Path(data).expanduser().exists():
        parts = [part for part in data.split("+") if part]
        pairs = [make_sources(part, sample_rate, min_samples) for part in parts]
        folders = [v for part, (_, v) in zip(parts, pairs, strict=True) if part != "procedural"]
        return MixedSource([t for t, _ in pairs]), (folders[0] if folders else pairs[0][1])
    if data == "procedural":
        return (ProceduralSource(sample_rate, ProceduralCorpus.TRAIN),
                ProceduralSource(sample_rate, ProceduralCorpus.VALIDATION))
    return folder_sources(Path(data).expanduser(), sample_rate, min_samples)


def add_noise(x: np.ndarray, rng: np.random.Generator, level: float, sample_rate: int) -> np.ndarray:
    """Augmentation: add low-passed (one pole at ~4 kHz) white noise of RMS ≈ ``level``·U(0.5, 1).

    x: (..., S) float32; returns a new array of the same shape and dtype.
    """
    if level <= 0:
        return x
    from scipy.signal import lfilter

    a = 1 - math.exp(-2 * math.pi * 4000.0 / sample_rate)
    white = rng.standard_normal(x.shape)
    low = lfilter([a], [1, a - 1], white, axis=-1)
    low /= np.sqrt((low ** 2).mean(axis=-1, keepdims=True)) + 1e-12
    gain = level * rng.uniform(0.5, 1.0, size=x.shape[:-1] + (1,))
    return (x + gain * low).astype(np.float32)


def crop_batch(source: Source, rng: np.random.Generator, batch: int, n_samples: int, noise: float) -> np.ndarray:
    """``batch`` random crops with noise: (batch, n_samples) float32."""
    x = np.stack([source.crop(rng, n_samples) for _ in range(batch)])
    return add_noise(x, rng, noise, source.sample_rate)


def scalograms(front_end: torch.nn.Module, waves: np.ndarray, device: torch.device, batch: int = 8) -> torch.Tensor:
    """Waveforms (N, S) float32 → scalograms (N, C, F, T) float32 on ``device``, no gradient."""
    out = []
    with torch.no_grad():
        for i in range(0, len(waves), batch):
            out.append(front_end(torch.from_numpy(np.ascontiguousarray(waves[i : i + batch])).to(device)))
    return torch.cat(out)


class ScalogramPool:
    """Scalograms of ``size`` clips of ``clip_samples`` (float16, on ``device``); a batch is
    ``crop_frames`` consecutive frames cut at random from random clips.

    ``refresh(rng, count)`` replaces ``count`` random clips with fresh crops of the source.
    """

    def __init__(self, source: Source, front_end: torch.nn.Module, size: int, clip_samples: int, crop_frames: int,
                 noise: float, rng: np.random.Generator, device: torch.device, progress: bool = False):
        from tqdm import tqdm

        self.source, self.front_end, self.noise, self.device = source, front_end, noise, device
        self.clip_samples, self.crop_frames = clip_samples, crop_frames
        chunks = []
        for i in tqdm(range(0, size, 8), desc="scalogram pool", unit="clip", unit_scale=8, disable=not progress,
                      leave=False):
            waves = crop_batch(source, rng, min(8, size - i), clip_samples, noise)
            chunks.append(scalograms(front_end, waves, device).half())
        self.items = torch.cat(chunks)
        if self.items.shape[-1] < crop_frames:
            raise ValueError(f"pool clips have {self.items.shape[-1]} frames, fewer than a crop's {crop_frames}")

    def __len__(self) -> int:
        return int(self.items.shape[0])

    def refresh(self, rng: np.random.Generator, count: int) -> None:
        count = min(count, len(self))
        if count <= 0:
            return
        waves = crop_batch(self.source, rng, count, self.clip_samples, self.noise)
        fresh = scalograms(self.front_end, waves, self.device).half()
        idx = torch.from_numpy(rng.choice(len(self), size=count, replace=False)).to(self.device)
        self.items[idx] = fresh

    def sample(self, rng: np.random.Generator, batch: int) -> torch.Tensor:
        """(batch, C, F, crop_frames) float32 on the pool's device."""
        idx = rng.integers(len(self), size=batch)
        starts = rng.integers(0, self.items.shape[-1] - self.crop_frames + 1, size=batch)
        crops = [self.items[i, ..., s : s + self.crop_frames] for i, s in zip(idx, starts, strict=True)]
        return torch.stack(crops).float()
