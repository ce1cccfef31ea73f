"""The app's side of the audio process (``audio.engine = "process"``): starts
:mod:`ear3d.audio_process`, hands it clips through shared memory and reads the loop's state
back for the picture's clock — without the audio callback ever needing this process's
interpreter lock.

:class:`ProcessOutput` offers what :class:`ear3d.playback.Playback` uses of
:class:`~ear3d.audio.AudioOutput` (start, submit, clock, volume, muted, active, error,
abandon, close), plus a non-blocking start (:meth:`ProcessOutput.begin` /
:meth:`ProcessOutput.poll_started`) for retrying a device in the background.
"""

from __future__ import annotations

import math
import mmap
import socket
import subprocess
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from ear3d import audio_shm
from ear3d.audio import AudioClock, AudioUnavailable, _Snapshot
from ear3d.audio_shm import PLAYING, SharedAudioState
from ear3d.child_process import spawn
from ear3d.clips import resample

#: Seconds the audio process may take to start and open the device.
START_TIMEOUT = 20.0
#: Seconds ``close`` waits for the process to finish (a recording included) before killing it.
CLOSE_TIMEOUT = 5.0
#: Clip slots hold this many times the configured clip length (clips may be a little longer).
SLOT_HEADROOM = 2.0


class SharedLoopView:
    """Read-only view of the audio process's loop with :class:`~ear3d.audio.LoopBuffer`'s
    readable attributes (what :class:`~ear3d.audio.AudioClock` and Playback read)."""

    def __init__(self, shared: SharedAudioState) -> None:
        self._shared = shared

    def snapshot(self) -> _Snapshot:
        return self._shared.snapshot()

    @property
    def position(self) -> int:
        return self.snapshot().position

    @property
    def loop_length(self) -> int:
        return self.snapshot().loop_length

    @property
    def loop_count(self) -> int:
        return self.snapshot().loop_count

    @property
    def frames_written(self) -> int:
        return self.snapshot().frames_written

    @property
    def front_serial(self) -> int:
        return self.snapshot().serial


class ProcessOutput:
    """Plays a loop in the audio process.

    Args:
        clip: (S,) float32 mono samples at ``sample_rate``: the first clip.
        serial: its serial (reported by ``loop.front_serial``).
        crossfade: samples of the crossfade at a clip hand-over.
        sample_rate, buffer_frames, device, volume, stream_rate, record: as for
            :class:`~ear3d.audio.AudioOutput` (the recording is written by the audio process).
        clip_seconds: the longest clip expected, in seconds (sizes the shared clip slots,
            with SLOT_HEADROOM); None = the first clip's length.

    Must be started and closed on the same thread, one that lives as long as the sound
    (the main thread): the process is tied to the thread that started it.
    """

    def __init__(self, clip: np.ndarray, serial: int, crossfade: int, sample_rate: int, buffer_frames: int,
                 device: str = "", volume: float = 0.8, stream_rate: int | None = None,
                 record: str | Path | None = None, clip_seconds: float | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.buffer_frames = int(buffer_frames)
        self.device = device
        self.stream_rate = int(stream_rate or sample_rate)
        self.device_name = ""
        self.device_index: int | None = None
        #: how the audio process is scheduled: "fifo N" (real time), "nice N" or "normal"
        self.scheduling = ""
        self.error: AudioUnavailable | None = None
        self.pid: int | None = None
        self.segment: str | None = None
        self.loop: SharedLoopView | None = None
        self._first = (np.ascontiguousarray(clip, np.float32), int(serial))
        self._clip_seconds = clip_seconds or clip.shape[0] / self.sample_rate
        self._params = {"crossfade": int(crossfade), "sample_rate": self.sample_rate,
                        "buffer_frames": self.buffer_frames, "device": device, "volume": float(volume),
                        "stream_rate": stream_rate, "record": str(record) if record else None}
        self._volume, self._muted = float(volume), False
        self._proc: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._mmap: mmap.mmap | None = None
        self._shared: SharedAudioState | None = None
        self._clock: AudioClock | None = None
        self._state = "new"  # new → opening → starting → playing; closed

    # ------------------------------------------------------------ start

    def begin(self) -> None:
        """Start the audio process and ask it to open the device; returns at once."""
        if self._state != "new":
            return
        ours, theirs = socket.socketpair()
        try:
            self._proc = spawn("ear3d.audio_process", theirs)
        except OSError as e:
            ours.close()
            raise AudioUnavailable(f"cannot start the audio process: {e}") from e
        finally:
            theirs.close()
        self.pid = self._proc.pid
        self._conn = Connection(ours.detach())
        self.segment = audio_shm.new_name()  # told now: the audio process removes it if we die
        self._conn.send(("open", {**self._params, "segment": self.segment}))
        self._state = "opening"

    def poll_started(self) -> bool:
        """Advance the start without blocking: True once the stream plays. Raises
        AudioUnavailable (the audio process's one-line reason) when it cannot."""
        if self._state == "playing":
            return True
        if self._state not in ("opening", "starting"):
            raise AudioUnavailable("the audio output was closed")
        try:
            while self._live_conn.poll(0):
                self._handle(self._live_conn.recv())
        except (EOFError, OSError):
            code = self._live_proc.wait(timeout=CLOSE_TIMEOUT)
            self.close()
            raise AudioUnavailable(f"the audio process exited (code {code}) while starting") from None
        except AudioUnavailable:
            self.close()
            raise
        return self._state == "playing"

    @property
    def _live_conn(self) -> Connection:
        """The connection to the audio process (between begin() and close())."""
        if self._conn is None:
            raise AudioUnavailable("the audio output is not started")
        return self._conn

    @property
    def _live_proc(self) -> subprocess.Popen:
        """The audio process (between begin() and close())."""
        if self._proc is None:
            raise AudioUnavailable("the audio output is not started")
        return self._proc

    def _handle(self, msg: tuple) -> None:
        kind = msg[0]
        if kind == "error":
            raise AudioUnavailable(msg[1])
        if kind == "opened":
            self._opened(msg[1])
        elif kind == "playing":
            self._state = "playing"
        elif kind == "lost":
            self.error = AudioUnavailable(msg[1])

    def _opened(self, info: dict[str, Any]) -> None:
        """The device is open: size the segment for its rate, post the first clip, start playing."""
        self.stream_rate, self.device_name = int(info["stream_rate"]), str(info["device_name"])
        self.device_index = info["device_index"]
        self.scheduling = str(info.get("scheduling", ""))
        clip = self._to_stream_rate(self._first[0])
        capacity = max(clip.shape[0], math.ceil(SLOT_HEADROOM * self._clip_seconds * self.stream_rate))
        assert self.segment is not None  # named in begin(), before the audio process opened
        self._mmap, self._shared = audio_shm.create(self.segment, capacity)
        self._shared.volume, self._shared.muted = self._volume, self._muted
        self._shared.post_clip(clip, self._first[1])
        n = clip.shape[0]  # the state before the first callback: the first clip, at its start
        self._shared.publish(_Snapshot(0, n, n, 0, 0, self._first[1], 0, time.perf_counter()), 0, 0)
        self.loop = SharedLoopView(self._shared)
        self._clock = AudioClock(self.loop, int(info["latency_samples"]), self.stream_rate)  # type: ignore[arg-type]
        self._live_conn.send(("play", self.segment))
        self._state = "starting"

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start and wait until the stream plays. Raises AudioUnavailable when it cannot."""
        self.begin()
        deadline = time.monotonic() + timeout
        while not self.poll_started():
            if time.monotonic() > deadline:
                self.close()
                raise AudioUnavailable(f"the audio process did not start within {timeout:g} s")
            self._live_conn.poll(0.01)

    # ------------------------------------------------------------ while playing

    def _to_stream_rate(self, clip: np.ndarray) -> np.ndarray:
        if self.stream_rate != self.sample_rate:
            clip = resample(clip, self.sample_rate, self.stream_rate)
        return np.ascontiguousarray(clip, np.float32)

    def submit(self, clip: np.ndarray, serial: int) -> int:
        """Queue a clip ((S,) float32 at ``sample_rate``) for the next loop boundary; the
        newest clip waiting wins. Resampled here when the device plays another rate."""
        if self._shared is None:
            raise RuntimeError("ProcessOutput.submit is available once the device is open")
        self._shared.post_clip(self._to_stream_rate(clip), serial)
        return serial

    @property
    def clock(self) -> AudioClock:
        """Clock of the heard position (loop position − the stream's output latency)."""
        if self._clock is None:
            raise RuntimeError("ProcessOutput.clock is available once the device is open")
        return self._clock

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = float(value)
        if self._shared is not None:
            self._shared.volume = self._volume

    @property
    def muted(self) -> bool:
        return self._muted

    @muted.setter
    def muted(self, value: bool) -> None:
        self._muted = bool(value)
        if self._shared is not None:
            self._shared.muted = self._muted

    @property
    def callbacks(self) -> int:
        return self._shared.counts()[0] if self._shared is not None else 0

    @property
    def underruns(self) -> int:
        """Callbacks PortAudio flagged as output underflow."""
        return self._shared.counts()[1] if self._shared is not None else 0

    @property
    def active(self) -> bool:
        """True while the audio process lives and its stream plays; picks up its messages."""
        if self._state != "playing" or self._live_proc.poll() is not None:
            if self._state == "playing" and self.error is None:
                self.error = AudioUnavailable(f"the audio process exited (code {self._live_proc.returncode})")
            return False
        try:
            while self._live_conn.poll(0):
                self._handle(self._live_conn.recv())
        except (EOFError, OSError):
            return False
        return self._shared is not None and self._shared.status == PLAYING

    def stats(self, timeout: float = 5.0) -> dict[str, Any]:
        """The audio process's callback timing: ``durations`` and ``starts`` (seconds,
        float64 arrays, oldest first, as AudioOutput's), ``callbacks``, ``underruns``."""
        if self._state != "playing":
            return {}
        self._live_conn.send(("stats",))
        deadline = time.monotonic() + timeout
        while self._live_conn.poll(max(0.0, deadline - time.monotonic())):
            msg = self._live_conn.recv()
            if msg[0] == "stats":
                return msg[1]
            self._handle(msg)
        raise TimeoutError("the audio process did not answer")

    def callback_durations(self) -> np.ndarray:
        """As :meth:`AudioOutput.callback_durations`, from the audio process."""
        return self.stats().get("durations", np.zeros(0))

    def callback_starts(self) -> np.ndarray:
        """As :meth:`AudioOutput.callback_starts`, from the audio process (the same clock)."""
        return self.stats().get("starts", np.zeros(0))

    # ------------------------------------------------------------ stop

    def abandon(self) -> None:
        """The device stopped answering: kill the audio process (its stream cannot be stopped
        cleanly) and free the shared memory. Nothing is left behind in this process."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self.close()

    def close(self) -> None:
        """Stop the stream, let the audio process finish a recording and exit (killed after
        CLOSE_TIMEOUT), unlink the shared memory. Safe to call twice."""
        if self._state == "closed":
            return
        self._state = "closed"
        proc, conn = self._proc, self._conn
        if proc is not None:
            if proc.poll() is None and conn is not None:
                try:
                    conn.send(("close",))
                except OSError:
                    pass
            try:
                proc.wait(timeout=CLOSE_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if conn is not None:
            conn.close()
        if self._shared is not None:
            self._shared.release()  # views gone: the segment may close; the clock keeps the last state
        if self._mmap is not None:
            self._mmap.close()
            self._mmap = None
        if self.segment is not None:
            audio_shm.unlink(self.segment)  # no error when the audio process unlinked it (it thought us gone)

    def __enter__(self) -> ProcessOutput:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
