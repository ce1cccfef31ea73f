"""Headless rendering of a live session: an MP4 with the session's audio muxed in, and the
WAV of the last clip.

The frame clock is the audio clock of the rendered audio (an OfflineClock advanced by
exactly one frame per frame), so picture and sound stay locked however slow the renderer.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ear3d.audio import LoopBuffer, OfflineClock
from ear3d.clips import write_wav
from ear3d.config import Config
from ear3d.gfx.context import headless_context
from ear3d.gfx.offscreen import OffscreenTarget
from ear3d.session import Session
from ear3d.video import VideoWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderResult:
    video: Path
    last_clip: Path
    frames: int
    seconds: float


def session_audio(loop: LoopBuffer, n_samples: int, block: int) -> np.ndarray:
    """Play ``loop`` offline: (n_samples,) float32, produced in callback-sized blocks exactly
    as the live PortAudio callback would produce them."""
    out = np.zeros(n_samples, np.float32)
    buf = np.zeros(block, np.float32)
    for start in range(0, n_samples, block):
        loop.fill(buf)
        end = min(start + block, n_samples)
        out[start:end] = buf[: end - start]
    return out


def render_session(config: Config, seconds: float, out_dir: str | Path, progress: bool = True) -> RenderResult:
    """Render ``seconds`` of a live session at config.render's size and frame rate into ``out_dir``."""
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rc, ac = config.render, config.audio
    n_frames = max(1, round(seconds * rc.fps))
    ctx = headless_context()
    session = target = None
    try:
        session = Session(config, ctx)
        clip = session.clip
        loop = LoopBuffer(clip.samples, ac.crossfade_samples, serial=clip.serial)
        audio = session_audio(loop, round(n_frames / rc.fps * ac.sample_rate), ac.buffer_frames) * ac.volume
        clock = OfflineClock(clip.seconds, ac.sample_rate)
        target = OffscreenTarget(ctx, rc.width, rc.height, rc.samples)
        with tempfile.TemporaryDirectory(prefix="ear3d-render-") as tmp:
            session_wav = write_wav(Path(tmp) / "session.wav", audio, ac.sample_rate)
            with VideoWriter(out_dir / "session.mp4", rc.width, rc.height, rc.fps, audio=session_wav) as video:
                for i in tqdm(range(n_frames), desc="render", unit="frame", disable=not progress):
                    clock.set_time(i / rc.fps)
                    session.poll()
                    session.scene.draw(target.fbo, clock.phase())
                    video.write(target.read_rgb())
                    session.advance(1.0 / rc.fps)
        last_clip = write_wav(out_dir / "last_clip.wav", loop.front_clip, ac.sample_rate)
        return RenderResult(video.path, last_clip, n_frames, n_frames / rc.fps)
    finally:
        if target is not None:
            target.release()
        if session is not None:
            session.release()
        ctx.release()
