"""A seeded performance of a score, rendered to audio with FluidSynth through a General MIDI
SoundFont, then given a room.

:func:`plan_performance` draws everything a rendering varies — instrumentation per voice,
tempo, transposition, dynamics (a level per voice and a slow swell), humanised timing
(onset jitter, articulation), the room — from one random generator. :func:`performance_midi`
writes the performance as a standard MIDI file (mido), :func:`fluidsynth_render` renders it
with the ``fluidsynth`` program (its own reverb and chorus off), and :func:`add_room` adds a
convolution reverb (exponentially decaying noise with early reflections). Output is mono
float32 at the model's rate.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ear3d.ml.scores import Score

#: General MIDI programs by family (0-based program numbers), the instrumentation's vocabulary.
GM_FAMILIES: dict[str, dict[int, str]] = {
    "keyboard": {0: "acoustic grand piano", 1: "bright piano", 4: "electric piano", 6: "harpsichord"},
    "organ": {16: "drawbar organ", 19: "church organ", 20: "reed organ", 21: "accordion"},
    "strings": {40: "violin", 41: "viola", 42: "cello", 43: "contrabass", 48: "string ensemble", 45: "pizzicato"},
    "winds": {68: "oboe", 69: "english horn", 70: "bassoon", 71: "clarinet", 73: "flute", 74: "recorder"},
    "brass": {56: "trumpet", 57: "trombone", 58: "tuba", 60: "french horn", 61: "brass section"},
    "voices": {52: "choir aahs", 53: "voice oohs", 54: "synth voice"},
    "plucked": {24: "nylon guitar", 25: "steel guitar", 46: "harp", 105: "banjo"},
    "mallets": {11: "vibraphone", 12: "marimba", 8: "celesta", 14: "tubular bells"},
}
PROGRAM_NAMES: dict[int, str] = {p: n for fam in GM_FAMILIES.values() for p, n in fam.items()}
PROGRAM_FAMILY: dict[int, str] = {p: f for f, fam in GM_FAMILIES.items() for p in fam}
#: MIDI channels for voices (9 is General MIDI's drum channel).
CHANNELS: tuple[int, ...] = tuple(c for c in range(16) if c != 9)
TICKS_PER_QUARTER = 480


@dataclass(frozen=True)
class Performance:
    """How one rendering plays a score (all drawn by :func:`plan_performance`)."""

    programs: tuple[int, ...]    #: GM program per part (part i → channel CHANNELS[i % 15])
    bpm: float                   #: quarter notes per minute
    transpose: int               #: semitones added to every pitch
    levels: tuple[float, ...]    #: MIDI velocity per part before the swell, 1–127
    swell_period: float          #: seconds of one slow loudness cycle
    swell_depth: float           #: ± fraction of velocity
    jitter: float                #: onset jitter (standard deviation) in seconds
    legato: float                #: sounding fraction of each written duration
    start: float                 #: quarter notes skipped at the start of the score
    room_seconds: float          #: reverb RT60 in seconds
    room_wet: float              #: reverb mix 0–1
    peak: float                  #: peak level of the result

    def as_dict(self) -> dict:
        return {**asdict(self), "instruments": [PROGRAM_NAMES[p] for p in self.programs],
                "families": sorted({PROGRAM_FAMILY[p] for p in self.programs})}


def plan_performance(score: Score, rng: np.random.Generator, seconds: float) -> Performance:
    """Draw a performance of ``score`` lasting at most ``seconds``.

    Instrumentation: one family for every voice (an ensemble: choir, strings, organ…) in half of
    the pieces, a free mix otherwise. Tempo: the marked tempo (else 60–132 bpm) × 0.85–1.2.
    Long works start at a random bar-ish point of their first half."""
    n = len(score.parts)
    families = list(GM_FAMILIES)
    if rng.random() < 0.5:
        family = GM_FAMILIES[families[int(rng.integers(len(families)))]]
        programs = tuple(int(rng.choice(list(family))) for _ in range(n))
    else:
        programs = tuple(int(rng.choice(list(GM_FAMILIES[families[int(rng.integers(len(families)))]])))
                         for _ in range(n))
    base = score.marked_bpm if score.marked_bpm and 30 <= score.marked_bpm <= 240 else float(rng.uniform(60, 132))
    bpm = float(np.clip(base * rng.uniform(0.85, 1.2), 40, 220))
    need = seconds * bpm / 60.0
    spare = score.quarters - need
    start = float(np.floor(rng.uniform(0, spare / 2) / 4) * 4) if spare > 8 else 0.0
    return Performance(
        programs=programs, bpm=bpm, transpose=int(rng.integers(-5, 7)),
        levels=tuple(float(v) for v in rng.uniform(55, 110, n)),
        swell_period=float(rng.uniform(6, 20)), swell_depth=float(rng.uniform(0.0, 0.3)),
        jitter=float(rng.uniform(0.004, 0.02)), legato=float(rng.uniform(0.75, 1.0)), start=start,
        room_seconds=float(rng.uniform(0.3, 2.2)), room_wet=float(rng.uniform(0.1, 0.45)),
        peak=float(10 ** (rng.uniform(-12, -1) / 20)),
    )


def performance_midi(score: Score, perf: Performance, rng: np.random.Generator, seconds: float, path: Path) -> int:
    """Write ``score`` played as ``perf`` (its first ``seconds``) to the MIDI file ``path``
    (one track, tempo 120 bpm in the file: times are placed in absolute seconds).

    Returns the number of notes written."""
    import mido

    ticks_per_second = TICKS_PER_QUARTER * 2  # at the file's 120 bpm
    events: list[tuple[int, int, mido.Message]] = []  # (tick, order: offs before ons, message)
    for i, (part, program) in enumerate(zip(score.parts, perf.programs, strict=True)):
        ch = CHANNELS[i % len(CHANNELS)]
        events.append((0, 0, mido.Message("program_change", channel=ch, program=program)))
        for note in part:
            t0 = (note.onset - perf.start) * 60.0 / perf.bpm
            if t0 < 0:
                continue
            if t0 >= seconds:
                break
            t0 = max(0.0, t0 + float(np.clip(rng.normal(0, perf.jitter), -3 * perf.jitter, 3 * perf.jitter)))
            dur = max(0.03, note.duration * 60.0 / perf.bpm * perf.legato)
            pitch = note.pitch + perf.transpose
            if not 0 <= pitch <= 127:
                continue
            swell = 1 + perf.swell_depth * np.sin(2 * np.pi * t0 / perf.swell_period + i)
            velocity = int(np.clip(perf.levels[i] * note.loudness * swell + rng.normal(0, 6), 1, 127))
            on, off = int(t0 * ticks_per_second), int((t0 + dur) * ticks_per_second)
            events.append((on, 2, mido.Message("note_on", channel=ch, note=pitch, velocity=velocity)))
            events.append((off, 1, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))
    last = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - last))
        last = tick
    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_QUARTER)
    midi.tracks.append(track)
    midi.save(str(path))
    return sum(1 for e in events if e[2].type == "note_on")


def fluidsynth_program() -> str:
    """The path of the ``fluidsynth`` program; a clear error when it is missing."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise RuntimeError("the fluidsynth program is missing: `make corpus` (or apt-get install fluidsynth) "
                           "installs it")
    return exe


def fluidsynth_render(midi_path: Path, soundfont: Path, sample_rate: int) -> np.ndarray:
    """Render a MIDI file through ``soundfont`` with the fluidsynth program, its own reverb and
    chorus off: mono (L+R)/2 float32 at ``sample_rate``."""
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="ear3d-fluid-") as tmp:
        wav = Path(tmp) / "out.wav"
        cmd = [fluidsynth_program(), "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.6", "-r", str(sample_rate),
               "-O", "float", "-T", "wav", "-F", str(wav), str(soundfont), str(midi_path)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not wav.is_file():
            raise RuntimeError(f"fluidsynth failed on {midi_path.name} with {soundfont.name}: "
                               f"{(done.stderr or done.stdout).strip()[-300:]}")
        data, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    if rate != sample_rate:
        raise RuntimeError(f"fluidsynth wrote {rate} Hz instead of {sample_rate} Hz")
    return data.mean(axis=1)


def add_room(x: np.ndarray, sr: int, rng: np.random.Generator, seconds: float, wet: float) -> np.ndarray:
    """A room: ``x`` (S,) convolved with a decaying noise tail (RT60 ``seconds``) after a few
    sparse early reflections (5–40 ms), mixed ``wet``. Returns (S,) float32."""
    from scipy.signal import fftconvolve

    n = max(1, int(seconds * sr))
    t = np.arange(n) / sr
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / seconds)
    onset = int(0.02 * sr)
    ir[:onset] = 0.0
    for delay, gain in zip(rng.uniform(0.005, 0.04, 6), rng.uniform(0.2, 0.7, 6), strict=True):
        ir[int(delay * sr)] += gain * rng.choice((-1.0, 1.0)) * np.sqrt(sr / 1000)
    ir /= np.sqrt((ir ** 2).sum())
    tail = fftconvolve(x, ir)[: len(x)]
    return ((1 - wet) * x + wet * tail).astype(np.float32)


def perform(score: Score, perf: Performance, soundfont: Path, sample_rate: int, seconds: float,
            rng: np.random.Generator) -> np.ndarray:
    """The whole rendering: (S,) float32 at ``sample_rate``, at most ``seconds`` long, peak ``perf.peak``.

    Raises ValueError when the performance is silent (no notes in range)."""
    with tempfile.TemporaryDirectory(prefix="ear3d-midi-") as tmp:
        midi = Path(tmp) / "piece.mid"
        if performance_midi(score, perf, rng, seconds, midi) == 0:
            raise ValueError(f"{score.piece}: no notes to play")
        audio = fluidsynth_render(midi, soundfont, sample_rate)
    audio = audio[: int(seconds * sample_rate)]
    audio = add_room(audio, sample_rate, rng, perf.room_seconds, perf.room_wet)
    peak = float(np.abs(audio).max())
    if not np.isfinite(peak) or peak < 1e-5:
        raise ValueError(f"{score.piece}: the rendering is silent")
    return (audio * (perf.peak / peak)).astype(np.float32)
