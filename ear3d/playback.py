"""The live session's sound: the looped clip, the audio output when there is one, and the
clock the picture follows.

Two engines (``audio.engine``): ``"process"`` plays the loop in an audio process of its own
(:mod:`ear3d.audio_client`), whose callback never waits for this process's interpreter lock;
``"thread"`` plays it on PortAudio's thread inside this process (the design before, kept as the
fallback and the bench baseline: a long GL call or torch step here can starve it).

Without a usable device (none at start, or one that goes away) the session keeps running
on a wall clock, says so once, and can save each new clip as WAV instead; ``reopen``
tries the device again, and the process engine also retries by itself in the background
(every RETRY_SECONDS, doubling up to RETRY_MAX_SECONDS while it keeps failing).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from ear3d.audio import AudioOutput, AudioUnavailable, LoopBuffer, OfflineClock
from ear3d.audio_client import ProcessOutput, SharedLoopView
from ear3d.clips import write_wav
from ear3d.config import AudioConfig
from ear3d.messages import Clip

log = logging.getLogger(__name__)

#: Seconds without an audio callback after which the device counts as gone.
STALL_SECONDS = 1.0
#: Seconds before the process engine first tries a lost device again, and the longest wait.
RETRY_SECONDS = 5.0
RETRY_MAX_SECONDS = 60.0


class WallClock(OfflineClock):
    """The loop clock when nothing plays: wall time since ``start`` (starting at ``phase``)."""

    def __init__(self, clip_seconds: float, sample_rate: int, phase: float = 0.0):
        super().__init__(clip_seconds, sample_rate)
        self._t0 = time.perf_counter() - phase * clip_seconds

    def now(self) -> WallClock:
        self.set_time(time.perf_counter() - self._t0)
        return self

    def phase(self) -> float:
        return self.now().time % self.clip_seconds / self.clip_seconds

    def loop_count(self) -> int:
        return int(self.now().time // self.clip_seconds)


class Playback:
    """Plays ``clip`` in a loop on the configured device; ``submit`` hands over new clips.

    ``loop`` is the playing loop's state (a :class:`LoopBuffer`, or a view of the audio
    process's); ``output`` the stream, None while there is no sound (``problem`` says why).
    Create, use and close it on one long-lived thread (the app's main thread).
    """

    def __init__(self, config: AudioConfig, clip: Clip):
        self.config = config
        # The process engine needs Linux (shared memory under /dev/shm, prctl).
        self.engine = config.engine if sys.platform.startswith("linux") else "thread"
        self.loop: LoopBuffer | SharedLoopView = LoopBuffer(clip.samples, config.crossfade_samples, serial=clip.serial)
        self.output: AudioOutput | ProcessOutput | None = None
        self.problem: str | None = None
        self.wall = WallClock(clip.seconds, config.sample_rate)
        self.latest = clip
        self.volume = config.volume
        self.muted = False
        self.saved: list[Path] = []
        self._saved_serial: int | None = None
        self._wall_loops = 0
        self._retry: ProcessOutput | None = None  # a background attempt to get sound back
        self._retry_wait = RETRY_SECONDS
        self._next_retry = 0.0
        self.open()

    def _new_output(self) -> AudioOutput | ProcessOutput:
        c = self.config
        if self.engine == "process":
            return ProcessOutput(self.latest.samples, self.latest.serial, c.crossfade_samples, c.sample_rate,
                                 c.buffer_frames, c.device, self.volume, stream_rate=c.stream_rate or None,
                                 record=c.record or None, clip_seconds=c.clip_seconds)
        return AudioOutput(self.loop, c.sample_rate, c.buffer_frames, c.device, self.volume,  # type: ignore[arg-type]
                           stream_rate=c.stream_rate or None, record=c.record or None)

    def _install(self, out: AudioOutput | ProcessOutput) -> None:
        out.muted = self.muted
        if isinstance(out, ProcessOutput):
            self.loop = out.loop  # type: ignore[assignment]
            if out.loop.front_serial != self.latest.serial:  # type: ignore[union-attr]
                out.submit(self.latest.samples, self.latest.serial)  # a newer clip came while it started
        self.output, self.problem = out, None
        self._retry_wait = RETRY_SECONDS
        self._progress = (self.loop.frames_written, time.perf_counter())

    @property
    def output_name(self) -> str:
        """The device playing, or '' without sound."""
        return self.output.device_name if self.output is not None else ""

    def open(self) -> bool:
        """Start the output; on failure say why once and keep going on the wall clock."""
        out = self._new_output()
        try:
            out.start()
        except AudioUnavailable as e:
            out.close()
            self._lost(str(e))
            return False
        self._install(out)
        return True

    def reopen(self) -> bool:
        """Try the device again (after it came back); True when sound plays."""
        self.close()
        if self.open():
            if self.engine == "thread":
                self.output.submit(self.latest.samples, self.latest.serial)  # type: ignore[union-attr]
            log.warning("sound is back on %s", self.output_name)
            return True
        return False

    def _lost(self, problem: str, phase: float = 0.0) -> None:
        if problem != self.problem:
            what = f"saving each new clip to {self.config.save_clips}/" if self.config.save_clips else "picture only"
            log.warning("no sound: %s; continuing on the wall clock (%s)", problem, what)
        self.problem = problem
        self.wall = WallClock(self.latest.seconds, self.config.sample_rate, phase)  # no jump in the picture
        self._wall_loops = self.wall.loop_count()
        self._next_retry = time.perf_counter() + self._retry_wait

    def submit(self, clip: Clip) -> None:
        """The newest clip: it starts at the next loop boundary (or is saved, without sound)."""
        if clip.serial == self.latest.serial:
            return
        self.latest = clip
        if self.output is not None:
            self.output.submit(clip.samples, clip.serial)

    def phase(self) -> float:
        """Loop position (0–1) being heard now, or of the wall clock without sound."""
        return self.output.clock.phase() if self.output is not None else self.wall.phase()

    def check(self) -> None:
        """Once a frame: notice a device that went away; without sound, save new clips at
        the wall clock's loop boundaries and (process engine) retry the device in the background."""
        out = self.output
        if out is not None:
            now, frames = time.perf_counter(), self.loop.frames_written
            if frames != self._progress[0]:
                self._progress = (frames, now)
            stalled = now - self._progress[1] > STALL_SECONDS
            if stalled or out.error is not None or not out.active:
                phase = out.clock.phase()
                self.output = None
                if stalled:
                    out.abandon()
                    reason = f"no audio callback for {STALL_SECONDS:g} s (device gone?)"
                else:
                    out.close()
                    reason = f"the audio stream stopped ({out.error or 'device gone'})"
                self._lost(reason, phase)
        if self.output is None and self.engine == "process":
            self._retry_step()
        if self.output is None and self.config.save_clips:
            loops = self.wall.loop_count()
            if loops != self._wall_loops or self._saved_serial is None:
                self._wall_loops = loops
                if self.latest.serial != self._saved_serial:
                    path = Path(self.config.save_clips) / f"clip_{self.latest.serial:06d}.wav"
                    self.saved.append(write_wav(path, self.latest.samples, self.latest.sample_rate))
                    self._saved_serial = self.latest.serial

    def _retry_step(self) -> None:
        """Start, advance or conclude a background attempt to open the device (never blocks)."""
        now = time.perf_counter()
        if self._retry is None:
            if now < self._next_retry:
                return
            output = self._new_output()
            if not isinstance(output, ProcessOutput):  # only the process engine retries in the background
                return
            self._retry = output
            try:
                output.begin()
            except AudioUnavailable:
                self._retry = None
            self._next_retry = now + self._retry_wait
            return
        try:
            started = self._retry.poll_started()
        except AudioUnavailable as e:
            self._retry = None
            self._retry_wait = min(2 * self._retry_wait, RETRY_MAX_SECONDS)
            self._next_retry = now + self._retry_wait
            if str(e) != self.problem:
                self._lost(str(e), self.wall.phase())
            return
        if started:
            out, self._retry = self._retry, None
            self._install(out)
            log.warning("sound is back on %s", out.device_name)

    def set_volume(self, volume: float) -> None:
        self.volume = volume
        if self.output is not None:
            self.output.volume = volume

    def toggle_mute(self) -> None:
        self.muted = not self.muted
        if self.output is not None:
            self.output.muted = self.muted

    def close(self) -> None:
        """Stop the stream (and finish a recording) and any attempt to reopen; idempotent."""
        if self._retry is not None:
            self._retry.close()
            self._retry = None
        if self.output is not None:
            self.output.close()
            self.output = None
