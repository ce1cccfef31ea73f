"""The live session's sound: the looped clip, the audio output when there is one, and the
clock the picture follows.

Without a usable device (none at start, or one that goes away) the session keeps running
on a wall clock, says so once, and can save each new clip as WAV instead; ``reopen``
tries the device again.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ear3d.audio import AudioOutput, AudioUnavailable, LoopBuffer, OfflineClock
from ear3d.clips import write_wav
from ear3d.config import AudioConfig
from ear3d.messages import Clip

log = logging.getLogger(__name__)

#: Seconds without an audio callback after which the device counts as gone.
STALL_SECONDS = 1.0


class WallClock(OfflineClock):
    """The loop clock when nothing plays: wall time since ``start`` (starting at ``phase``)."""

    def __init__(self, clip_seconds: float, sample_rate: int, phase: float = 0.0):
        super().__init__(clip_seconds, sample_rate)
        self._t0 = time.perf_counter() - phase * clip_seconds

    def now(self) -> "WallClock":
        self.set_time(time.perf_counter() - self._t0)
        return self

    def phase(self) -> float:
        return self.now().time % self.clip_seconds / self.clip_seconds

    def loop_count(self) -> int:
        return int(self.now().time // self.clip_seconds)


class Playback:
    """Plays ``clip`` in a loop on the configured device; ``submit`` hands over new clips."""

    def __init__(self, config: AudioConfig, clip: Clip):
        self.config = config
        self.loop = LoopBuffer(clip.samples, config.crossfade_samples, serial=clip.serial)
        self.output: AudioOutput | None = None
        self.problem: str | None = None
        self.wall = WallClock(clip.seconds, config.sample_rate)
        self.latest = clip
        self.volume = config.volume
        self.muted = False
        self.saved: list[Path] = []
        self._saved_serial: int | None = None
        self._wall_loops = 0
        self.open()

    def open(self) -> bool:
        """Start the output; on failure say why once and keep going on the wall clock."""
        out = AudioOutput(self.loop, self.config.sample_rate, self.config.buffer_frames, self.config.device,
                          self.volume, stream_rate=self.config.stream_rate or None, record=self.config.record or None)
        try:
            out.start()
        except AudioUnavailable as e:
            out.close()
            self._lost(str(e))
            return False
        out.muted = self.muted
        self.output, self.problem = out, None
        self._progress = (self.loop.frames_written, time.perf_counter())
        return True

    def reopen(self) -> bool:
        """Try the device again (after it came back); True when sound plays."""
        self.close()
        if self.open():
            self.output.submit(self.latest.samples, self.latest.serial)  # type: ignore[union-attr]
            log.warning("sound is back on %s", self.output.device_name)  # type: ignore[union-attr]
            return True
        return False

    def _lost(self, problem: str, phase: float = 0.0) -> None:
        if problem != self.problem:
            what = f"saving each new clip to {self.config.save_clips}/" if self.config.save_clips else "picture only"
            log.warning("no sound: %s; continuing on the wall clock (%s)", problem, what)
        self.problem = problem
        self.wall = WallClock(self.latest.seconds, self.config.sample_rate, phase)  # no jump in the picture
        self._wall_loops = self.wall.loop_count()

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
        the wall clock's loop boundaries."""
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
        if self.output is None and self.config.save_clips:
            loops = self.wall.loop_count()
            if loops != self._wall_loops or self._saved_serial is None:
                self._wall_loops = loops
                if self.latest.serial != self._saved_serial:
                    path = Path(self.config.save_clips) / f"clip_{self.latest.serial:06d}.wav"
                    self.saved.append(write_wav(path, self.latest.samples, self.latest.sample_rate))
                    self._saved_serial = self.latest.serial

    def set_volume(self, volume: float) -> None:
        self.volume = volume
        if self.output is not None:
            self.output.volume = volume

    def toggle_mute(self) -> None:
        self.muted = not self.muted
        if self.output is not None:
            self.output.muted = self.muted

    def close(self) -> None:
        """Stop the stream (and finish a recording); idempotent."""
        if self.output is not None:
            self.output.close()
            self.output = None
