"""A procedural music corpus that needs no download: short pieces with a melody, chords, a
bass line and percussion, in many timbres, keys, modes and tempi, with reverb, and labels
(instrument family of the melody, key, tempo band) usable for linear probes.

Everything is numpy; a piece is a pure function of its seed (``render_piece``). A 6 s piece
at 44.1 kHz takes a few tens of milliseconds. Splits are disjoint by construction: piece
``i`` of split ``s`` is seeded with ``(s, i)`` (see :class:`ProceduralCorpus`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Instrument families of the melody (the probe's "instrument" label).
INSTRUMENTS: tuple[str, ...] = ("keys", "pluck", "organ", "brass", "bell", "flute")
#: Tempo bands in beats per minute (the probe's "tempo" label); the gaps keep them apart.
TEMPO_BANDS: tuple[tuple[float, float], ...] = ((66.0, 88.0), (100.0, 122.0), (136.0, 164.0))
TEMPO_NAMES: tuple[str, ...] = ("slow", "medium", "fast")
KEY_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: Probe tasks: label name → number of classes.
TASKS: dict[str, int] = {"instrument": len(INSTRUMENTS), "key": 12, "tempo": len(TEMPO_BANDS)}

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
#: Chord progressions as scale degrees (0-based) of the chord roots.
PROGRESSIONS = ([0, 4, 5, 3], [0, 5, 3, 4], [0, 3, 4, 4], [5, 3, 0, 4], [0, 0, 3, 4], [0, 6, 5, 4], [1, 4, 0, 0])


@dataclass(frozen=True)
class PieceLabels:
    """What a piece is: indices into INSTRUMENTS, KEY_NAMES (tonic pitch class), TEMPO_BANDS,
    plus the mode (0 major, 1 minor) and the exact tempo in bpm."""

    instrument: int
    key: int
    tempo: int
    mode: int
    bpm: float

    def task(self, name: str) -> int:
        """The class index of probe task ``name`` (one of TASKS)."""
        if name not in TASKS:
            raise KeyError(f"unknown probe task {name!r}; known: {', '.join(TASKS)}")
        return int(getattr(self, name))


def midi_hz(m: float | np.ndarray) -> float | np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(m) - 69.0) / 12.0)


# -- instruments: (frequency Hz, duration s, rng, sample rate) → float64 samples -------------------


def _t(dur: float, sr: int) -> np.ndarray:
    return np.arange(max(1, int(dur * sr))) / sr


def _adsr(n: int, sr: int, attack: float, decay: float, sustain: float, release: float) -> np.ndarray:
    t = np.arange(n) / sr
    falling = sustain + (1 - sustain) * np.exp(-(t - attack) / max(decay, 1e-4))
    env = np.where(t < attack, t / max(attack, 1e-4), falling)
    tail = min(n, int(release * sr))
    if tail > 0:
        env[n - tail :] *= np.linspace(1.0, 0.0, tail)
    return env


def _partials(f: float, t: np.ndarray, amps: np.ndarray, sr: int, stretch: float = 0.0,
              phases: np.ndarray | None = None) -> np.ndarray:
    """Sum of partials k·f·(1 + stretch·k²) with amplitudes ``amps``; those above 0.45·sr dropped."""
    k = np.arange(1, len(amps) + 1)
    freqs = f * k * (1 + stretch * k * k)
    keep = freqs < 0.45 * sr
    if not keep.any():
        return np.zeros_like(t)
    ph = phases[keep] if phases is not None else np.zeros(keep.sum())
    return (amps[keep, None] * np.sin(2 * np.pi * freqs[keep, None] * t[None, :] + ph[:, None])).sum(0)


def keys(f: float, dur: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Piano-like: slightly stretched partials, each decaying faster the higher it is."""
    t = _t(dur, sr)
    k = np.arange(1, 11)
    amps = 1.0 / k ** 1.3
    decay = 2.0 + 0.6 * k
    parts = np.zeros_like(t)
    freqs = f * k * (1 + 4e-4 * k * k)
    for a, d, fk in zip(amps, decay, freqs, strict=True):
        if fk < 0.45 * sr:
            parts = parts + a * np.exp(-d * t) * np.sin(2 * np.pi * fk * t)
    return parts * _adsr(len(t), sr, 0.003, 10.0, 1.0, 0.03)


def pluck(f: float, dur: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Karplus-Strong string: a noise burst in a damped delay loop."""
    n = len(_t(dur, sr))
    period = max(2, int(round(sr / f)))
    buf = rng.uniform(-1, 1, period)
    out = np.empty(n)
    damp = 0.996
    pos = 0
    while pos < n:  # one period at a time, vectorized within it
        m = min(period, n - pos)
        out[pos : pos + m] = buf[:m]
        nxt = np.empty_like(buf)
        nxt[:-1] = buf[1:]
        nxt[-1] = buf[0]
        buf = damp * 0.5 * (buf + nxt)
        pos += m
    return out * _adsr(n, sr, 0.001, 10.0, 1.0, 0.02)


def organ(f: float, dur: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Drawbar organ: sustained octave-related partials, a little vibrato-free chorus."""
    t = _t(dur, sr)
    amps = np.zeros(16)
    amps[[0, 1, 2, 3, 5, 7, 15]] = [1.0, 0.8, 0.6, 0.5, 0.3, 0.25, 0.15]
    x = _partials(f, t, amps, sr) + 0.5 * _partials(f * 1.003, t, amps, sr)
    return x * _adsr(len(t), sr, 0.02, 0.1, 0.9, 0.05)


def brass(f: float, dur: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Sawtooth with a brightening then closing filter envelope (brightness rises with loudness)."""
    t = _t(dur, sr)
    k = np.arange(1, 17)
    bright = np.clip(t / 0.08, 0, 1) * np.exp(-t / 1.2)  # (S,)
    freqs = f * k
    out = np.zeros_like(t)
    for kk, fk in zip(k, freqs, strict=True):
        if fk >= 0.45 * sr:
            break
        out += (1.0 / kk) * np.exp(-kk * (1.4 - bright)) * np.sin(2 * np.pi * fk * t)
    return out * _adsr(len(t), sr, 0.03, 0.3, 0.7, 0.06)


def bell(f: float, dur: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    """FM bell: inharmonic ratio 3.5, modulation index decaying with the tone."""
    t = _t(dur, sr)
    index = 4.0 * np.exp(-t * 3.0)
    mod = np.sin(2 * np.pi * f * 3.5 * t)
    x = np.sin(2 * np.pi * f * t + index * mod)
    return x * np.exp(-t * 2.5) * _adsr(len(t), sr, 0.002, 10.0, 1.0, 0.02)


def flute(f: float, dur: float, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Near-sine with weak even partials, vibrato and breath noise."""
    t = _t(dur, sr)
    vib = 1 + 0.006 * np.sin(2 * np.pi * 5.5 * t) * np.clip(t / 0.3, 0, 1)
    phase = 2 * np.pi * f * np.cumsum(vib) / sr
    x = np.sin(phase) + 0.15 * np.sin(2 * phase) + 0.05 * np.sin(3 * phase)
    breath = np.convolve(rng.standard_normal(len(t)), np.ones(4) / 4, mode="same") * 0.06
    return (x + breath) * _adsr(len(t), sr, 0.06, 0.2, 0.85, 0.06)


VOICES: dict[str, Callable[[float, float, np.random.Generator, int], np.ndarray]] = {
    "keys": keys, "pluck": pluck, "organ": organ, "brass": brass, "bell": bell, "flute": flute,
}


def bass_voice(f: float, dur: float, rng: np.random.Generator, sr: int, kind: int) -> np.ndarray:
    """Bass: 0 sine with a click, 1 filtered saw, 2 plucked string."""
    t = _t(dur, sr)
    if kind == 0:
        x = np.sin(2 * np.pi * f * t) + 0.2 * np.sin(4 * np.pi * f * t)
        return x * _adsr(len(t), sr, 0.005, 0.4, 0.6, 0.03)
    if kind == 1:
        amps = 1.0 / np.arange(1, 9) ** 1.6
        return _partials(f, t, amps, sr) * _adsr(len(t), sr, 0.01, 0.2, 0.5, 0.03)
    return pluck(f, dur, rng, sr)


# -- percussion ----------------------------------------------------------------------------------


def kick(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(0.35, sr)
    f = 45 + 110 * np.exp(-t * 30)
    return np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t * 9)


def snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    t = _t(0.2, sr)
    noise = np.diff(rng.standard_normal(len(t) + 1))  # tilted up
    return (0.6 * noise * np.exp(-t * 22) + 0.5 * np.sin(2 * np.pi * 185 * t) * np.exp(-t * 30))


def hat(sr: int, rng: np.random.Generator, open_: bool = False) -> np.ndarray:
    t = _t(0.25 if open_ else 0.05, sr)
    noise = np.diff(np.diff(rng.standard_normal(len(t) + 2)))  # high-passed twice
    return 0.25 * noise * np.exp(-t * (12 if open_ else 70))


def reverb(x: np.ndarray, sr: int, rng: np.random.Generator, seconds: float, wet: float) -> np.ndarray:
    """Convolution with exponentially decaying noise (RT60 ≈ ``seconds``), mixed ``wet``."""
    from scipy.signal import fftconvolve

    t = _t(seconds, sr)
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / seconds)
    ir[: int(0.01 * sr)] *= np.linspace(0, 1, int(0.01 * sr))  # pre-delay ramp
    ir /= np.sqrt((ir ** 2).sum())
    tail = fftconvolve(x, ir)[: len(x)]
    return (1 - wet) * x + wet * tail


# -- a piece -------------------------------------------------------------------------------------


def draw_labels(rng: np.random.Generator) -> PieceLabels:
    band = int(rng.integers(len(TEMPO_BANDS)))
    lo, hi = TEMPO_BANDS[band]
    return PieceLabels(instrument=int(rng.integers(len(INSTRUMENTS))), key=int(rng.integers(12)), tempo=band,
                       mode=int(rng.integers(2)), bpm=float(rng.uniform(lo, hi)))


def render_piece(seed: int | tuple[int, ...], sample_rate: int = 44100, seconds: float = 6.0,
                 labels: PieceLabels | None = None) -> tuple[np.ndarray, PieceLabels]:
    """Render one piece: (samples (S,) float32, peak ≤ 0.9, S = round(seconds·sample_rate); labels).

    Deterministic for a given seed (and ``labels``, when given, fixes instrument/key/tempo).
    The piece starts at a random point of its bar pattern, so a crop does not always begin on
    a downbeat.
    """
    rng = np.random.default_rng(seed)
    sr = sample_rate
    lab = labels if labels is not None else draw_labels(rng)
    n = int(round(seconds * sr))
    pad = int(0.5 * sr)  # notes started before the clip ring into it
    out = np.zeros(n + 2 * pad)
    beat = 60.0 / lab.bpm
    scale = (MINOR if lab.mode else MAJOR) + lab.key
    tonic_octave = int(rng.integers(4, 6))  # melody around C4–C6
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    beats_per_chord = int(rng.choice([2, 4, 4, 8]))
    start_beat = -float(rng.integers(0, 8)) - pad / sr / beat
    total_beats = int(np.ceil((n + 2 * pad) / sr / beat)) + 1

    notes: dict[tuple, np.ndarray] = {}

    def note(voice: Callable[..., np.ndarray], m: int, dur: float, *extra: int) -> np.ndarray:
        """One note, rendered once per (voice, pitch, duration) and reused within the piece."""
        key = (voice, m, round(dur, 2), *extra)
        if key not in notes:
            notes[key] = voice(midi_hz(m), round(dur, 2), rng, sr, *extra)
        return notes[key]

    def place(at_beat: float, signal: np.ndarray, gain: float) -> None:
        i = int(round((at_beat - start_beat) * beat * sr))
        if i >= len(out) or i + len(signal) <= 0:
            return
        s = signal[max(0, -i) : len(out) - max(i, 0)] if i < 0 else signal[: len(out) - i]
        out[max(i, 0) : max(i, 0) + len(s)] += gain * s

    def degree_midi(degree: int, octave: int) -> int:
        return int(12 * (octave + 1) + scale[degree % 7] + 12 * (degree // 7))

    first_beat = int(np.floor(start_beat))
    # Chords (a pad), in a family other than the melody's, sometimes absent.
    if rng.random() < 0.8:
        pad_family = rng.choice([i for i in range(len(INSTRUMENTS)) if i != lab.instrument])
        pad_voice = VOICES[INSTRUMENTS[pad_family]]
        for b in range(first_beat - first_beat % beats_per_chord, first_beat + total_beats, beats_per_chord):
            root = progression[(b // beats_per_chord) % len(progression)]
            for d in (root, root + 2, root + 4):
                m = degree_midi(d, tonic_octave - 1)
                place(b, note(pad_voice, m, beats_per_chord * beat * 0.95), 0.12)
    # Bass line: chord roots on a rhythm.
    if rng.random() < 0.85:
        kind = int(rng.integers(3))
        rhythms: list[list[float]] = [[0], [0, 2], [0, 1.5, 2, 3.5], [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]]
        pattern = rhythms[int(rng.integers(4))]
        for bar in range(first_beat - first_beat % 4, first_beat + total_beats, 4):
            root = progression[(bar // beats_per_chord) % len(progression)]
            for p in pattern:
                m = degree_midi(root, 2) + (12 if rng.random() < 0.15 else 0)
                place(bar + p, note(bass_voice, m, 0.45 * beat, kind), 0.35)
    # Melody: a random walk on the scale, in the labelled instrument, always present.
    voice = VOICES[INSTRUMENTS[lab.instrument]]
    degree = int(rng.integers(0, 7))
    at = float(first_beat)
    durations = np.array([0.25, 0.5, 0.5, 1.0, 1.0, 1.5, 2.0])
    while at < first_beat + total_beats:
        dur = float(rng.choice(durations))
        if rng.random() < 0.85:
            degree = int(np.clip(degree + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]), -3, 10))
            m = degree_midi(degree, tonic_octave)
            held = dur * beat * float(rng.choice([0.7, 0.85, 1.0]))
            place(at, note(voice, m, held), 0.3 * float(rng.uniform(0.7, 1.0)))
        at += dur
    # Drums: kick / snare / hats, a pattern per piece, sometimes absent.
    if rng.random() < 0.75:
        hits = [(kick(sr, rng), 0.6), (snare(sr, rng), 0.35), (hat(sr, rng), 0.5), (hat(sr, rng, True), 0.3)]
        kick_patterns: list[list[float]] = [[0, 2], [0, 2.5], [0, 1, 2, 3], [0, 0.75, 2]]
        snare_patterns: list[list[float]] = [[1, 3], [3], [1, 3, 3.75]]
        kick_at = kick_patterns[int(rng.integers(4))]
        snare_at = snare_patterns[int(rng.integers(3))]
        hat_step = float(rng.choice([0.5, 0.25, 1.0]))
        for bar in range(first_beat - first_beat % 4, first_beat + total_beats, 4):
            for p in kick_at:
                place(bar + p, hits[0][0], hits[0][1])
            for p in snare_at:
                place(bar + p, hits[1][0], hits[1][1])
            for p in np.arange(0, 4, hat_step):
                h = hits[3] if (p % 2 == 1.5 and rng.random() < 0.5) else hits[2]
                place(bar + p, h[0], h[1] * float(rng.uniform(0.6, 1.0)))
    out = reverb(out, sr, rng, float(rng.uniform(0.2, 1.6)), float(rng.uniform(0.05, 0.4)))
    clip = out[pad : pad + n]
    peak = float(np.max(np.abs(clip))) or 1.0
    clip = clip * (float(rng.uniform(0.3, 0.9)) / peak)
    return clip.astype(np.float32), lab


class ProceduralCorpus:
    """An endless, indexable corpus: piece ``i`` of ``split`` (0 train, 1 validation, 2 probe
    training, 3 probe test, or any other integer) is ``render_piece((split, i))``."""

    TRAIN, VALIDATION, PROBE_TRAIN, PROBE_TEST = 0, 1, 2, 3

    def __init__(self, sample_rate: int, seconds: float, split: int = 0):
        self.sample_rate = sample_rate
        self.seconds = seconds
        self.split = split

    def __getitem__(self, i: int) -> tuple[np.ndarray, PieceLabels]:
        return render_piece((self.split, int(i)), self.sample_rate, self.seconds)

    def clips(self, count: int, start: int = 0) -> tuple[np.ndarray, list[PieceLabels]]:
        """Pieces start … start + count − 1: ((count, S) float32, labels)."""
        items = [self[i] for i in range(start, start + count)]
        return np.stack([x for x, _ in items]), [lab for _, lab in items]
