"""MP4 writing through ffmpeg (the imageio-ffmpeg binary, or the system's), and probing.

Frames go to ffmpeg's stdin as raw RGB; the audio track is muxed from a WAV file. The
file appears under its final name only when it is complete (temp file + rename).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class VideoError(RuntimeError):
    """ffmpeg is missing or failed; the message carries ffmpeg's last lines."""


def ffmpeg_exe() -> str:
    """The ffmpeg binary: $IMAGEIO_FFMPEG_EXE, the imageio-ffmpeg wheel's, or the system's."""
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as e:
        raise VideoError(f"no ffmpeg binary found ({e}); `pip install imageio-ffmpeg` or install ffmpeg") from None


class VideoWriter:
    """Encode (H, W, 3) uint8 frames to H.264 MP4 at ``fps``, with ``audio`` (a WAV) muxed in.

    Use as a context manager; on an exception the partial file is removed.
    """

    def __init__(self, path: str | Path, width: int, height: int, fps: int, audio: str | Path | None = None):
        if width % 2 or height % 2:
            raise VideoError(f"H.264 with yuv420p needs an even frame size, got {width}×{height}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = (width, height)
        self.frames = 0
        self._tmp = self.path.with_name(f".{self.path.stem}.partial.mp4")
        cmd = [ffmpeg_exe(), "-y", "-loglevel", "error",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-"]
        if audio is not None:
            cmd += ["-i", str(audio), "-map", "0:v", "-map", "1:a", "-c:a", "aac", "-b:a", "192k"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", str(self._tmp)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frame: np.ndarray) -> None:
        """frame: (H, W, 3) uint8, top row first."""
        w, h = self.size
        if frame.shape != (h, w, 3) or frame.dtype != np.uint8:
            raise VideoError(f"frame must be ({h}, {w}, 3) uint8, got {frame.shape} {frame.dtype}")
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)  # type: ignore[union-attr]
        except BrokenPipeError:
            raise VideoError(f"ffmpeg stopped while writing {self.path}: {self._error_text()}") from None
        self.frames += 1

    def check(self) -> None:
        """Raise VideoError when the encoder has already exited (killed, out of memory): a writer
        that waits for its next frame would otherwise notice only then."""
        if self._proc.poll() is not None:
            raise VideoError(f"ffmpeg stopped while writing {self.path}: {self._error_text()}")

    def close(self) -> Path:
        """Finish encoding and move the file into place; returns its path."""
        self._proc.stdin.close()  # type: ignore[union-attr]
        if self._proc.wait() != 0:
            self._tmp.unlink(missing_ok=True)
            raise VideoError(f"ffmpeg failed writing {self.path}: {self._error_text()}")
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._tmp.unlink(missing_ok=True)

    def _error_text(self) -> str:
        err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
        return " | ".join(err.strip().splitlines()[-3:]) or "no message"

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def mux_audio(video: str | Path, audio: str | Path, out: str | Path) -> Path:
    """Copy ``video``'s stream and add ``audio`` (encoded to AAC) into ``out``, atomically."""
    out = Path(out)
    tmp = out.with_name(f".{out.stem}.partial.mp4")
    run = subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(video), "-i", str(audio),
                          "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "192k",
                          "-shortest", "-movflags", "+faststart", str(tmp)], capture_output=True, text=True)
    if run.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise VideoError(f"ffmpeg failed adding audio to {out}: {run.stderr.strip()[-300:]}")
    os.replace(tmp, out)
    return out


@dataclass(frozen=True)
class VideoInfo:
    """What a media file holds: decoded video frames, frame size, whether audio is present."""

    frames: int
    width: int
    height: int
    has_audio: bool
    audio_seconds: float


def probe(path: str | Path) -> VideoInfo:
    """Decode ``path`` fully with ffmpeg and count its frames (works with any ffmpeg binary)."""
    run = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path), "-f", "null", "-"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise VideoError(f"ffmpeg cannot read {path}: {run.stderr.strip().splitlines()[-1:]}")
    err = run.stderr
    size = re.search(r"Video: .*?(\d{2,5})x(\d{2,5})", err)
    frames = re.findall(r"frame=\s*(\d+)", err)
    audio = re.search(r"Stream #\S+.*Audio:", err)
    times = re.findall(r"time=(\d+):(\d+):([\d.]+)", err)
    seconds = 0.0
    if times:
        h, m, s = times[-1]
        seconds = int(h) * 3600 + int(m) * 60 + float(s)
    return VideoInfo(
        frames=int(frames[-1]) if frames else 0,
        width=int(size.group(1)) if size else 0,
        height=int(size.group(2)) if size else 0,
        has_audio=audio is not None,
        audio_seconds=seconds if audio else 0.0,
    )
