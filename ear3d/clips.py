"""Audio clips on disk: the project's origin clip, reading any audio file, atomic WAV writing."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from ear3d import paths
from ear3d.atomic import atomic_write
from ear3d.config import Config
from ear3d.messages import Clip


class AudioFileError(ValueError):
    """An audio file cannot be used: unreadable, empty, non-finite or of an unknown format."""


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write ``samples`` ((S,) or (S, channels) float in [-1, 1]) as 16-bit PCM, atomically."""
    import soundfile as sf

    data = np.clip(np.nan_to_num(np.asarray(samples, dtype=np.float32)), -1.0, 1.0)
    return atomic_write(path, lambda tmp: sf.write(tmp, data, sample_rate, subtype="PCM_16", format="WAV"),
                        suffix=".wav")


def read_audio(path: str | Path, sample_rate: int, seconds: float | None = None) -> np.ndarray:
    """Read any soundfile-supported file as mono float32 at ``sample_rate``.

    With ``seconds``, the result is cut or looped to exactly ``round(seconds * sample_rate)``
    samples. Returns (S,) float32. Raises AudioFileError naming the file and the problem.
    """
    import soundfile as sf

    path = Path(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioFileError(f"cannot read audio file {path}: {e}") from None
    except OSError as e:
        raise AudioFileError(f"cannot open audio file {path}: {e.strerror or e}") from None
    if data.size == 0:
        raise AudioFileError(f"audio file {path} is empty")
    if not np.isfinite(data).all():
        raise AudioFileError(f"audio file {path} contains NaN or infinite samples")
    mono = data.mean(axis=1)
    if rate != sample_rate:
        mono = resample(mono, rate, sample_rate)
    if seconds is not None:
        mono = fit_length(mono, round(seconds * sample_rate))
    return mono.astype(np.float32)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling of (S,) float samples between integer rates."""
    from scipy.signal import resample_poly

    ratio = Fraction(to_rate, from_rate).limit_denominator(1000)
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Cut (S,) samples to ``length``, or loop them until they reach it."""
    if len(samples) >= length:
        return samples[:length]
    reps = math.ceil(length / len(samples))
    return np.tile(samples, reps)[:length]


def _midi_hz(note: int) -> float:
    """The equal-tempered frequency (Hz) of a MIDI note number (69 = A4 = 440 Hz)."""
    return 440.0 * 2 ** ((note - 69) / 12)


def _tone(freq: float, t: np.ndarray, partials: int, decay: float) -> np.ndarray:
    """A harmonic tone: partial k at k·freq with amplitude decay**k, below Nyquist only."""
    out = np.zeros_like(t)
    for k in range(1, partials + 1):
        out += decay ** (k - 1) * np.sin(2 * np.pi * k * freq * t)
    return out


def make_origin_clip(sample_rate: int = 44100, seconds: float = 4.0, seed: int = 7) -> np.ndarray:
    """A 4 s musical loop made from scratch: a bass line, an arpeggio and a soft hi-hat.

    Deterministic for a given seed. The loop is seamless: every note ends inside the clip.
    Returns (S,) float32, peak 0.7.
    """
    rng = np.random.default_rng(seed)
    n = round(sample_rate * seconds)
    t_all = np.arange(n) / sample_rate
    out = np.zeros(n, dtype=np.float64)
    beat = seconds / 8  # 8 beats per loop (120 bpm for 4 s)

    def place(start_s: float, dur_s: float, signal_fn, attack: float = 0.01, release: float = 0.08) -> None:
        a, b = int(start_s * sample_rate), min(n, int((start_s + dur_s) * sample_rate))
        t = t_all[: b - a]
        env = np.minimum(1.0, t / attack) * np.clip((dur_s - t) / release, 0.0, 1.0)
        out[a:b] += env * signal_fn(t)

    a_minor = [57, 60, 64, 69, 72, 76]  # A3 C4 E4 A4 C5 E5 (MIDI)
    bass = [45, 45, 41, 43]  # A2 A2 F2 G2
    for i, m in enumerate(bass):
        f = _midi_hz(m)
        place(i * 2 * beat, 2 * beat * 0.95, lambda t, f=f: 0.35 * _tone(f, t, 6, 0.6) * np.exp(-1.5 * t))
    for i in range(16):
        f = _midi_hz(a_minor[(i * 2 + i // 4) % len(a_minor)])
        place(i * beat / 2, beat / 2 * 0.9, lambda t, f=f: 0.18 * _tone(f, t, 4, 0.45) * np.exp(-6 * t))
    for i in range(8):
        noise = rng.standard_normal(int(0.05 * sample_rate))
        hat = np.diff(noise, prepend=0.0)  # crude high-pass: a hi-hat, not a thud
        place(i * beat + beat / 2, 0.05, lambda t, h=hat: 0.06 * h[: len(t)] * np.exp(-80 * t),
              attack=0.001, release=0.01)
    out *= 0.7 / np.max(np.abs(out))
    return out.astype(np.float32)


def origin_clip_path() -> Path:
    """The origin clip: ``assets/clips/origin.wav`` as shipped (a checkout regenerates it in place);
    when an installed package lacks it, ear3d's own copy in the user's cache folder."""
    shipped = paths.clips() / "origin.wav"
    if shipped.is_file() or not paths.is_installed():
        return shipped
    return paths.user_cache() / "clips" / "origin.wav"


def ensure_origin_clip(sample_rate: int = 44100, seconds: float = 4.0) -> Path:
    """Generate the origin clip at :func:`origin_clip_path` if it is missing; return its path."""
    path = origin_clip_path()
    if not path.exists():
        write_wav(path, make_origin_clip(sample_rate, seconds), sample_rate)
    return path


def origin_clip(config: Config) -> Clip:
    """The project's origin clip (generated into assets/clips/ on first use), read at
    ``audio.sample_rate`` and cut or looped to ``audio.clip_seconds``."""
    path = ensure_origin_clip()
    samples = read_audio(path, config.audio.sample_rate, config.audio.clip_seconds)
    return Clip(samples, config.audio.sample_rate)
