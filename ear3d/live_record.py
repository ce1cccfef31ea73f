"""Recording the live window: picture and sound as heard into one MP4, and screenshots.

The sound is what the audio callback plays (a WavRecorder attached to the running output,
when that output plays in this process); without a sound device, or with the audio in its own
process, the loop is rendered along the video clock instead (as ``ear3d render`` does).
Frames are written at a fixed video rate on the wall clock: a slow frame is repeated, a fast
one skipped, so picture and sound stay together.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from ear3d.atomic import atomic_write
from ear3d.audio import AudioOutput, LoopBuffer
from ear3d.clips import write_wav
from ear3d.messages import Clip
from ear3d.playback import Playback
from ear3d.recorder import WavRecorder
from ear3d.video import VideoWriter, mux_audio

log = logging.getLogger(__name__)


def save_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write (H, W, 3) uint8 ``rgb`` (top row first) as PNG, atomically."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb))
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))


def read_rgb(fbo) -> np.ndarray:
    """The colour of a moderngl framebuffer as (H, W, 3) uint8, top row first."""
    w, h = fbo.size
    return np.frombuffer(fbo.read(components=3, alignment=1), np.uint8).reshape(h, w, 3)[::-1]


class LiveRecording:
    """One recording, from construction to :meth:`close` (which returns the MP4's path).

    width × height: the frame size (cropped to even numbers); fps: the video rate.
    """

    def __init__(self, path: str | Path, width: int, height: int, fps: int, playback: Playback):
        self.path = Path(path)
        self.fps = fps
        self.size = (width - width % 2, height - height % 2)
        self._tmp = tempfile.TemporaryDirectory(prefix="ear3d-record-")
        self._video = VideoWriter(Path(self._tmp.name) / "video.mp4", *self.size, fps)
        self._start = time.perf_counter()
        self._playback = playback
        self._wav: WavRecorder | None = None
        self._loop: LoopBuffer | None = None
        self._audio: list[np.ndarray] = []
        self._sample_rate = playback.config.sample_rate
        output = playback.output
        # Record what the callback plays, from now on. Only an in-process output can take a recorder:
        # a ProcessOutput's callback runs in the audio process, so there the loop is rendered instead.
        if isinstance(output, AudioOutput):
            self._sample_rate = output.stream_rate
            self._wav = WavRecorder(Path(self._tmp.name) / "heard.wav", output.stream_rate)
            output.recorder = self._wav
        else:
            self._loop = LoopBuffer(playback.latest.samples, playback.config.crossfade_samples,
                                    serial=playback.latest.serial)

    @property
    def seconds(self) -> float:
        return self._video.frames / self.fps

    def add_frame(self, rgb: np.ndarray, clip: Clip) -> None:
        """The frame on screen now ((H, W, 3) uint8) and the newest clip; written as many
        times as the video clock needs (none when the app draws faster than the video rate).
        Raises VideoError at once when the encoder has died, whether or not a frame is due."""
        self._video.check()
        due = int((time.perf_counter() - self._start) * self.fps) + 1
        w, h = self.size
        frame = rgb[:h, :w]
        while self._video.frames < due:
            self._video.write(frame)
            if self._loop is not None:  # no device: the loop, rendered along the video clock
                self._loop.submit(clip.samples, clip.serial)
                block = np.zeros(round(self._sample_rate / self.fps), np.float32)
                self._loop.fill(block)
                self._audio.append(block * self._playback.volume * (not self._playback.muted))

    def close(self) -> Path:
        """Finish the video, mux the sound in and move the MP4 into place. When the video
        fails (a full disk), the sound recorder is still stopped before the error goes on."""
        try:
            try:
                silent = self._video.close()
            except BaseException:
                self._stop_sound_recorder()
                raise
            wav = Path(self._tmp.name) / "sound.wav"
            if self._wav is not None:
                wav = self._stop_sound_recorder()
            else:
                samples = np.concatenate(self._audio) if self._audio else np.zeros(1, np.float32)
                write_wav(wav, samples, self._sample_rate)
            return mux_audio(silent, wav, self.path)
        finally:
            self._tmp.cleanup()

    def _stop_sound_recorder(self) -> Path:
        """Detach the WAV recorder from the output and close it (its thread and file)."""
        output = self._playback.output
        if isinstance(output, AudioOutput) and output.recorder is self._wav:  # fed in this process only
            output.recorder = None
        return self._wav.close() if self._wav is not None else Path(self._tmp.name) / "sound.wav"

    def abort(self) -> None:
        """Drop the recording: stop the encoder and the sound recorder, delete the files."""
        self._video.abort()
        try:
            self._stop_sound_recorder()
        except OSError:  # e.g. no room left for the WAV: it is being thrown away anyway
            pass
        self._tmp.cleanup()
