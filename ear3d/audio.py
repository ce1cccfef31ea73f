"""Looped audio playback whose loop position drives the visuals.

Pieces, from the bottom up:

* :class:`LoopBuffer` — pure numpy: loops a mono float32 clip and swaps in a newly
  submitted clip exactly at the loop boundary, with a linear crossfade. No PortAudio.
* :class:`AudioClock` / :class:`OfflineClock` — "where in the loop are we *now*" as a
  phase in [0, 1), either from a live :class:`LoopBuffer` (corrected for output
  latency) or from an explicitly set time (headless rendering).
* :class:`AudioOutput` — a PyAudio callback stream that plays a :class:`LoopBuffer`, in this
  process (``audio.engine = "thread"``) or inside the audio process of
  :mod:`ear3d.audio_process` (``"process"``, where no other thread competes for its interpreter lock).

Units: samples are frames of mono audio at the stream's sample rate; times in seconds.
PyAudio is imported lazily (inside functions) so this module imports without it.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ear3d.clips import resample
from ear3d.recorder import WavRecorder

#: Callbacks whose durations and start times AudioOutput keeps (about 12 minutes at 256 frames, 44.1 kHz).
TIMED_CALLBACKS = 131072

__all__ = [
    "AudioClock",
    "AudioOutput",
    "AudioUnavailable",
    "LoopBuffer",
    "OfflineClock",
    "find_output_device",
    "list_output_devices",
]


class AudioUnavailable(RuntimeError):
    """No usable audio output: no devices, the named device is missing, or the stream
    cannot be opened. The message is one line naming the problem."""


# --------------------------------------------------------------------------- LoopBuffer


def _as_clip(clip: np.ndarray) -> np.ndarray:
    """Validate and copy a clip to a C-contiguous (S,) float32 array (S >= 1)."""
    a = np.ascontiguousarray(clip, dtype=np.float32)
    if a.ndim != 1 or a.shape[0] == 0:
        raise ValueError(f"clip must be a non-empty 1-D mono array, got shape {a.shape}")
    # Copy so the caller may keep mutating its array while we play ours.
    return a.copy() if a is clip else a


class _Pending(NamedTuple):
    """A submitted clip waiting in the back slot. Immutable so that publishing it is a
    single reference assignment (atomic under the GIL)."""

    gen: int  # submit generation, strictly increasing; used instead of clearing the slot
    clip: np.ndarray  # (S,) float32
    serial: int
    ramp: np.ndarray  # (F,) float32 fade-in weights for this clip, F = min(crossfade, S)


class _Snapshot(NamedTuple):
    """State published by :meth:`LoopBuffer.fill` in one assignment, so readers on other
    threads always see values that belong together."""

    position: int  # next sample index to be written in the playing clip
    loop_length: int  # samples in the playing clip
    prev_length: int  # samples in the clip that played the loop before (for wrap-back)
    loop_count: int  # completed loops since construction
    frames_written: int  # total samples written by fill
    serial: int  # serial of the playing clip
    last_frames: int  # samples written by the latest fill call
    fill_time: float  # time.perf_counter() at the end of the latest fill call


class LoopBuffer:
    """Loops a mono clip seamlessly; new clips start exactly at the next loop boundary.

    ``fill`` is meant for the real-time audio thread: it takes no locks and only
    creates small Python objects (slices, one state tuple). ``submit`` and all
    readable attributes may be used from any other thread.

    Args:
        clip: (S,) float32 mono samples, S >= 1; copied. The clip should loop cleanly
            onto itself (its end is followed by its start with no fade).
        crossfade: length in samples of the linear crossfade used when a submitted clip
            replaces the playing one (0 = hard cut). Limited to the new clip's length.
        serial: caller's identifier of ``clip``, reported by :attr:`front_serial`.
    """

    def __init__(self, clip: np.ndarray, crossfade: int, serial: int = 0) -> None:
        if crossfade < 0:
            raise ValueError(f"crossfade must be >= 0 samples, got {crossfade}")
        self.crossfade = int(crossfade)
        self._gen = itertools.count(1)  # next() is atomic under the GIL
        self._taken_gen = 0  # generation of the last pending clip swapped in (audio thread)
        self._back: _Pending | None = None
        # Audio-thread state (only fill writes these).
        self._front = _as_clip(clip)
        self._front_serial = int(serial)
        self._pos = 0
        self._loops = 0
        self._written = 0
        self._prev_len = len(self._front)
        self._fade_old: np.ndarray | None = None  # previous clip while a crossfade runs
        self._fade_ramp: np.ndarray | None = None
        self._snap = _Snapshot(0, len(self._front), len(self._front), 0, 0,
                               self._front_serial, 0, time.perf_counter())

    # ---------------------------------------------------------------- any thread

    def submit(self, clip: np.ndarray, serial: int | None = None) -> int:
        """Queue ``clip`` ((S,) float32 mono, any length >= 1) to play from the next loop
        boundary. A newer submit replaces a clip that is still waiting.

        Returns the serial used: ``serial`` if given, else the submit generation
        (1, 2, ...).
        """
        a = _as_clip(clip)
        gen = next(self._gen)
        f = min(self.crossfade, len(a))
        # (i + 0.5) / f: symmetric linear ramp that never reaches exactly 0 or 1, so the
        # first and last faded samples are both a true mix.
        ramp = ((np.arange(f, dtype=np.float64) + 0.5) / max(f, 1)).astype(np.float32)
        s = gen if serial is None else int(serial)
        self._back = _Pending(gen, a, s, ramp)  # single reference store: the publish
        return s

    @property
    def pending_serial(self) -> int | None:
        """Serial of the clip waiting for the next loop boundary, or None."""
        p = self._back
        return p.serial if p is not None and p.gen > self._taken_gen else None

    def snapshot(self) -> _Snapshot:
        """All playback counters from the latest ``fill``, mutually consistent."""
        return self._snap

    @property
    def loop_length(self) -> int:
        """Length in samples of the playing clip."""
        return self._snap.loop_length

    @property
    def position(self) -> int:
        """Sample index, in the playing clip, of the next sample ``fill`` will write."""
        return self._snap.position

    @property
    def loop_count(self) -> int:
        """Number of completed loops (of any clip) since construction."""
        return self._snap.loop_count

    @property
    def frames_written(self) -> int:
        """Total samples written by ``fill`` since construction."""
        return self._snap.frames_written

    @property
    def front_serial(self) -> int:
        """Serial of the playing clip (as of the latest ``fill``)."""
        return self._snap.serial

    @property
    def front_clip(self) -> np.ndarray:
        """The playing clip, (S,) float32. Read-only by convention: do not modify."""
        return self._front

    def restart(self, clip: np.ndarray, serial: int | None = None) -> None:
        """Replace the playing clip and start again from its first sample. Only while no
        stream is playing this buffer (e.g. before ``AudioOutput.start``)."""
        self._front = _as_clip(clip)
        if serial is not None:
            self._front_serial = int(serial)
        self._pos = 0
        self._prev_len = len(self._front)
        self._fade_old = self._fade_ramp = None
        s = self._snap
        self._snap = s._replace(position=0, loop_length=len(self._front), prev_length=len(self._front),
                                serial=self._front_serial)

    # ---------------------------------------------------------------- audio thread

    def fill(self, out: np.ndarray) -> None:
        """Write the next ``len(out)`` samples into ``out``, a preallocated (N,) float32
        array. Call from one thread only (the audio callback)."""
        n = out.shape[0]
        done = 0
        clip = self._front
        length = clip.shape[0]
        p = self._pos
        while done < n:
            k = min(n - done, length - p)
            seg = out[done:done + k]
            old, ramp = self._fade_old, self._fade_ramp
            if old is not None and ramp is not None:  # set and cleared together
                m = min(k, ramp.shape[0] - p)
                if m > 0:
                    self._mix(seg[:m], clip, old, ramp, p)
                    seg[m:] = clip[p + m:p + k]
                else:
                    seg[:] = clip[p:p + k]
                if p + k >= ramp.shape[0]:
                    self._fade_old = self._fade_ramp = None
            else:
                seg[:] = clip[p:p + k]
            done += k
            p += k
            if p == length:  # loop boundary: the only place the clip may change
                p = 0
                self._loops += 1
                self._prev_len = length
                pend = self._back
                if pend is not None and pend.gen > self._taken_gen:
                    self._taken_gen = pend.gen
                    if pend.ramp.shape[0] > 0:
                        self._fade_old, self._fade_ramp = clip, pend.ramp
                    clip = self._front = pend.clip
                    self._front_serial = pend.serial
                    length = clip.shape[0]
        self._pos = p
        self._written += n
        self._snap = _Snapshot(p, length, self._prev_len, self._loops, self._written,
                               self._front_serial, n, time.perf_counter())

    @staticmethod
    def _mix(dst: np.ndarray, new: np.ndarray, old: np.ndarray, ramp: np.ndarray,
             p: int) -> None:
        """dst[j] = old_cont[p+j] + ramp[p+j] * (new[p+j] - old_cont[p+j]), where
        old_cont is the old clip continuing to loop (wrapping at its own length)."""
        m = dst.shape[0]
        lo = old.shape[0]
        j = 0
        while j < m:  # old may be shorter than the fade: take it in wrap-free chunks
            q = (p + j) % lo
            c = min(m - j, lo - q)
            d = dst[j:j + c]
            o = old[q:q + c]
            np.subtract(new[p + j:p + j + c], o, out=d)
            np.multiply(d, ramp[p + j:p + j + c], out=d)
            np.add(d, o, out=d)
            j += c


# --------------------------------------------------------------------------- clocks


class AudioClock:
    """Where in the loop the listener is *now*, from a live :class:`LoopBuffer`.

    The heard sample is the loop position minus the output latency. With
    ``sample_rate`` given, the position is also advanced by the wall-clock time since
    the latest ``fill`` (at most that fill's length), so the phase moves smoothly
    between audio callbacks instead of in buffer-sized steps.

    Args:
        loop: the buffer being played.
        latency_samples: samples between "written by fill" and "heard" (>= 0).
        sample_rate: samples per second for the smoothing; None = no smoothing.
    """

    def __init__(self, loop: LoopBuffer, latency_samples: int,
                 sample_rate: float | None = None) -> None:
        self.loop = loop
        self.latency_samples = max(0, int(latency_samples))
        self.sample_rate = sample_rate

    def _heard(self) -> tuple[int, int, int]:
        """(position in samples, loop length, loop count) of the sample heard now."""
        s = self.loop.snapshot()
        pos = s.position - self.latency_samples
        if self.sample_rate and s.frames_written:
            ahead = (time.perf_counter() - s.fill_time) * self.sample_rate
            pos += int(min(max(ahead, 0.0), s.last_frames)) - s.last_frames
        length, count = s.loop_length, s.loop_count
        if pos < 0:
            if count == 0:
                return 0, length, 0  # nothing has reached the listener yet
            # The heard sample is still in the previous loop, which may have been a
            # different clip with a different length.
            length, count = s.prev_length, count - 1
            pos += length
        return pos % length, length, count

    def phase(self) -> float:
        """Position of the heard sample in its loop, in [0, 1)."""
        pos, length, _ = self._heard()
        return pos / length

    def position_samples(self) -> int:
        """Sample index, in its clip, of the sample heard now."""
        return self._heard()[0]

    def loop_count(self) -> int:
        """Completed loops as heard (lags the buffer's count by the latency)."""
        return self._heard()[2]


class OfflineClock:
    """Same interface as :class:`AudioClock`, driven by an explicitly set time, for
    headless rendering: phase = (t % clip_seconds) / clip_seconds.

    Args:
        clip_seconds: loop duration in seconds (> 0).
        sample_rate: samples per second, for :meth:`position_samples`.
    """

    def __init__(self, clip_seconds: float, sample_rate: int = 44100) -> None:
        if clip_seconds <= 0:
            raise ValueError(f"clip_seconds must be > 0, got {clip_seconds}")
        self.clip_seconds = float(clip_seconds)
        self.sample_rate = int(sample_rate)
        self.time = 0.0

    @classmethod
    def for_clip(cls, clip: np.ndarray, sample_rate: int) -> OfflineClock:
        """Clock for a (S,) clip at ``sample_rate``: clip_seconds = S / sample_rate."""
        return cls(clip.shape[0] / sample_rate, sample_rate)

    def set_time(self, seconds: float) -> None:
        """Set the current time in seconds since playback started (>= 0)."""
        self.time = float(seconds)

    def phase(self) -> float:
        """(t % clip_seconds) / clip_seconds, in [0, 1)."""
        ph = (self.time % self.clip_seconds) / self.clip_seconds
        return ph if ph < 1.0 else 0.0  # float rounding can give exactly 1.0

    def position_samples(self) -> int:
        """Sample index in the clip at the current time."""
        n = round(self.clip_seconds * self.sample_rate)
        return int((self.time % self.clip_seconds) * self.sample_rate) % max(n, 1)

    def loop_count(self) -> int:
        """Completed loops at the current time."""
        return int(self.time // self.clip_seconds)


# --------------------------------------------------------------------------- devices


def _output_devices(pa: Any) -> list[tuple[int, str, int]]:
    out = []
    for i in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(i)
        ch = int(info.get("maxOutputChannels", 0))
        if ch > 0:
            out.append((i, str(info.get("name", "")), ch))
    return out


def _open_pyaudio() -> Any:
    """A new PyAudio instance (Pa_Initialize: reads the ALSA configuration and probes
    every device, including JACK). Raises AudioUnavailable if PortAudio cannot start,
    e.g. on a broken ALSA configuration."""
    import pyaudio

    try:
        return pyaudio.PyAudio()
    except OSError as e:
        raise AudioUnavailable(f"cannot initialise PortAudio: {e}") from e


def list_output_devices() -> list[tuple[int, str, int]]:
    """(index, name, max output channels) for every PortAudio output device.
    Empty when there is no sound card and no sound server."""
    pa = _open_pyaudio()
    try:
        return _output_devices(pa)
    finally:
        pa.terminate()


def find_output_device(pa: Any, spec: str) -> int | None:
    """PortAudio device index for ``spec`` on the PyAudio instance ``pa``.

    ``''`` → the default output device, or None if PortAudio has none; all digits →
    that index, if it is an output device; anything else → an output device whose name
    equals ``spec`` (case-insensitive), else the first whose name contains it.
    Raises AudioUnavailable naming ``spec`` and the available devices otherwise.
    """
    spec = spec.strip()
    if not spec:
        try:
            return int(pa.get_default_output_device_info()["index"])
        except (OSError, KeyError):  # PortAudio raises IOError: no default
            return None
    devs = _output_devices(pa)
    names = ", ".join(f"{i}:{name!r}" for i, name, _ in devs) or "none"
    if spec.isdigit():
        idx = int(spec)
        if any(i == idx for i, _, _ in devs):
            return idx
        raise AudioUnavailable(
            f"audio output device {spec!r} is not an output device; available: {names}")
    low = spec.lower()
    for i, name, _ in devs:  # exact name first, so 'default' beats 'sysdefault'
        if name.lower() == low:
            return i
    for i, name, _ in devs:
        if low in name.lower():
            return i
    raise AudioUnavailable(f"audio output device {spec!r} not found; available: {names}")


# --------------------------------------------------------------------------- output


class AudioOutput:
    """Plays a :class:`LoopBuffer` through a PyAudio float32 mono callback stream.

    Args:
        loop: the buffer to play; its ``fill`` runs on PortAudio's callback thread.
        sample_rate: stream rate in samples per second (e.g. 44100).
        buffer_frames: samples per callback (e.g. 512); smaller = lower latency.
        device: '' (default output), a device index as digits, or part of a name
            (see :func:`find_output_device`).
        volume: linear gain applied to the output, settable while playing.
        stream_rate: the device's rate if it differs from ``sample_rate`` (the clips'):
            clips are resampled on submit. None = ``sample_rate``, or the device's
            default rate when the device refuses ``sample_rate``.
        record: a WAV path: everything played (after volume) is recorded there.

    Attributes settable from any thread while playing: ``volume`` (float), ``muted``
    (bool; the loop keeps advancing, only silence is emitted). ``underruns`` counts
    callbacks flagged paOutputUnderflow. ``error`` holds an exception raised inside
    the callback (the stream is then aborted), else None.
    """

    def __init__(self, loop: LoopBuffer, sample_rate: int, buffer_frames: int,
                 device: str = "", volume: float = 0.8, stream_rate: int | None = None,
                 record: str | Path | None = None) -> None:
        self.loop = loop
        self.sample_rate = int(sample_rate)
        self.requested_stream_rate = stream_rate
        self.stream_rate = int(stream_rate or sample_rate)
        self.record_path = Path(record) if record else None
        #: Rate of the samples in ``loop`` (``sample_rate`` until a device at another rate opens).
        self.loop_rate = self.sample_rate
        self.recorder: WavRecorder | None = None
        # Duration and start time (perf_counter) of each callback in seconds, rings of the latest TIMED_CALLBACKS.
        self._durations = np.zeros(TIMED_CALLBACKS, np.float64)
        self._starts = np.zeros(TIMED_CALLBACKS, np.float64)
        self.buffer_frames = int(buffer_frames)
        self.device = device
        self.volume = float(volume)
        self.muted = False
        self.underruns = 0
        self.callbacks = 0
        self.error: BaseException | None = None
        self.device_index: int | None = None
        self.device_name: str = ""
        self._buf = np.zeros(self.buffer_frames, dtype=np.float32)
        self._pa: Any = None
        self._stream: Any = None
        self._clock: AudioClock | None = None
        self._close_lock = threading.Lock()
        self._underflow_flag = 0x4  # pyaudio values, set again in start()
        self._pa_continue, self._pa_abort = 0, 2

    # The callback runs on PortAudio's thread. It must not block: no locks, no I/O.
    def _callback(self, in_data: Any, frame_count: int, time_info: Any,
                  status_flags: int) -> tuple[bytes, int]:
        t0 = time.perf_counter()
        self.callbacks += 1
        self._starts[self.callbacks % TIMED_CALLBACKS] = t0
        if status_flags & self._underflow_flag:
            self.underruns += 1
        try:
            if frame_count > self._buf.shape[0]:  # PortAudio may differ from the request
                self._buf = np.zeros(frame_count, dtype=np.float32)
            buf = self._buf[:frame_count]
            self.loop.fill(buf)
            if self.muted:
                buf.fill(0.0)
            elif self.volume != 1.0:
                np.multiply(buf, np.float32(self.volume), out=buf)
            if self.recorder is not None:
                self.recorder.push(buf)
            data = buf.tobytes()  # PyAudio wants bytes
            self._durations[self.callbacks % TIMED_CALLBACKS] = time.perf_counter() - t0
            return data, self._pa_continue
        except BaseException as e:  # noqa: BLE001 -- reported through .error
            self.error = e
            return bytes(4 * frame_count), self._pa_abort

    def open(self) -> None:
        """Find the device and open the stream without starting it: afterwards
        ``stream_rate``, ``device_name`` and :attr:`clock` (its output latency) are known.
        Raises AudioUnavailable when there is no usable device or the stream cannot be opened."""
        if self._stream is not None:
            return
        import pyaudio

        # Constants cached so the callback does no imports or module lookups.
        self._underflow_flag = pyaudio.paOutputUnderflow
        self._pa_continue, self._pa_abort = pyaudio.paContinue, pyaudio.paAbort
        pa = _open_pyaudio()
        try:
            if not _output_devices(pa):
                raise AudioUnavailable(
                    "no audio output devices (PortAudio lists none: no sound card or "
                    "sound server)" + (f"; wanted {self.device!r}" if self.device else ""))
            idx = find_output_device(pa, self.device)
            info = pa.get_device_info_by_index(idx) if idx is not None else None
            self.device_name = str(info["name"]) if info else "(PortAudio default)"
            rates = [self.stream_rate]
            if self.requested_stream_rate is None and info:
                rates.append(int(info.get("defaultSampleRate", 0)))  # the device's own rate
            stream, errors = None, []
            for rate in dict.fromkeys(r for r in rates if r > 0):
                try:
                    stream = pa.open(format=pyaudio.paFloat32, channels=1, rate=rate, output=True,
                                     output_device_index=idx, frames_per_buffer=self.buffer_frames,
                                     stream_callback=self._callback, start=False)
                    self.stream_rate = rate
                    break
                except (OSError, ValueError) as e:
                    errors.append(f"{rate} Hz: {e}")
            if stream is None:
                raise AudioUnavailable(
                    f"cannot open audio output stream on {self.device_name!r} "
                    f"({self.buffer_frames} frames): {'; '.join(errors)}")
        except BaseException:
            pa.terminate()
            raise
        self._pa, self.device_index = pa, idx
        latency = stream.get_output_latency()  # seconds, as PortAudio reports it
        self._clock = AudioClock(self.loop, round(latency * self.stream_rate), self.stream_rate)
        self._stream = stream

    def callback_starts(self) -> np.ndarray:
        """perf_counter() seconds at which each of the latest (at most TIMED_CALLBACKS)
        callbacks began, oldest first. Consecutive starts lie one buffer apart when nothing
        delays the callback."""
        n = min(self.callbacks, TIMED_CALLBACKS)
        i = (self.callbacks + 1) % TIMED_CALLBACKS
        return np.roll(self._starts, -i)[TIMED_CALLBACKS - n :].copy()

    def start(self) -> None:
        """Open (see :meth:`open`) and start the output stream; the playing clip is resampled
        first when the device plays another rate than ``sample_rate``. Raises AudioUnavailable
        when there is no usable device or the stream cannot be opened or started."""
        if self._stream is not None and self._stream.is_active():
            return
        self.open()
        if self.stream_rate != self.loop_rate:  # the device plays another rate: convert the clip
            self.loop.restart(resample(self.loop.front_clip, self.loop_rate, self.stream_rate))
            self.loop_rate = self.stream_rate
        if self.record_path is not None and self.recorder is None:
            self.recorder = WavRecorder(self.record_path, self.stream_rate)
        try:
            self._stream.start_stream()
        except OSError as e:
            self.close()
            raise AudioUnavailable(f"cannot start audio output stream on "
                                   f"{self.device_name!r}: {e}") from e

    def submit(self, clip: np.ndarray, serial: int | None = None) -> int:
        """Queue a clip ((S,) float32 at ``sample_rate``) for the next loop boundary,
        resampled to the stream's rate when the device plays another one."""
        if self.stream_rate != self.sample_rate:
            clip = resample(clip, self.sample_rate, self.stream_rate)
        return self.loop.submit(clip, serial)

    def reopen(self) -> None:
        """Close and start again, e.g. after the device went away and came back."""
        self.close()
        self.error = None
        self.start()

    def abandon(self) -> None:
        """Give up on a stream whose device stopped answering (no callbacks any more).

        Stopping such a stream can block, and PortAudio's JACK host API aborts the process
        in Pa_Terminate once its server has died: so the stream is stopped on a daemon
        thread and this PortAudio instance is never terminated (a small, one-off leak).
        """
        with self._close_lock:
            stream, self._stream, self._pa = self._stream, None, None
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None

        def stop() -> None:
            try:
                stream.stop_stream()
                stream.close()
            except OSError:
                pass

        if stream is not None:
            threading.Thread(target=stop, name="ear3d-abandon-stream", daemon=True).start()

    def callback_durations(self) -> np.ndarray:
        """Seconds spent in each of the latest (at most TIMED_CALLBACKS) callbacks, oldest first."""
        n = min(self.callbacks, TIMED_CALLBACKS)
        i = (self.callbacks + 1) % TIMED_CALLBACKS
        ring = np.roll(self._durations, -i)
        return ring[TIMED_CALLBACKS - n :].copy()

    @property
    def clock(self) -> AudioClock:
        """Clock of the heard position, using the stream's reported output latency.
        Available after :meth:`start`."""
        if self._clock is None:
            raise RuntimeError("AudioOutput.clock is available after start()")
        return self._clock

    @property
    def active(self) -> bool:
        """True while the stream is running."""
        s = self._stream
        return s is not None and s.is_active()

    def close(self) -> None:
        """Stop and close the stream and terminate PyAudio. Safe to call twice."""
        with self._close_lock:
            stream, pa = self._stream, self._pa
            self._stream = self._pa = None
        if stream is not None:
            try:
                stream.stop_stream()
            except OSError:
                pass  # already stopped/aborted
        if self.recorder is not None:  # complete once the stream stopped: finish it before PortAudio's teardown
            self.recorder.close()
            self.recorder = None
        if stream is not None:
            stream.close()
        if pa is not None:
            pa.terminate()

    def __enter__(self) -> AudioOutput:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
