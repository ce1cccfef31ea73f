"""Headless rendering of a live session: an MP4 with the session's audio muxed in, and the
WAV of the last clip.

The frame clock is the audio clock of the rendered audio, so picture and sound stay
locked however slow the renderer.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ear3d.audio import AudioClock, LoopBuffer
from ear3d.clips import write_wav
from ear3d.config import Config
from ear3d.gfx.context import headless_context
from ear3d.gfx.display import frame_shape_error
from ear3d.gfx.offscreen import OffscreenTarget
from ear3d.session import Session
from ear3d.video import VideoWriter, mux_audio
from ear3d.video_spherical import inject_spherical

#: Display modes whose videos carry spherical metadata → their stereo layout.
SPHERICAL_STEREO = {"equirect": "mono", "equirect-stereo": "top-bottom"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderResult:
    video: Path
    last_clip: Path
    frames: int
    seconds: float


def render_session(config: Config, seconds: float, out_dir: str | Path, progress: bool = True) -> RenderResult:
    """Render ``seconds`` of a live session at config.render's size and frame rate into ``out_dir``,
    in render.display's mode (equirect videos carry spherical-video metadata).

    Per frame, the loop buffer produces exactly that frame's audio (as the live callback
    would), new clips from the worker are queued for the next loop boundary, and the frame
    shows the loop position at its first sample: sound and picture share one clock.
    """
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    shape_error = frame_shape_error(config.render.display, config.render.width, config.render.height)
    if shape_error:
        raise ValueError(f"render.display = {config.render.display!r}: {shape_error}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rc, ac = config.render, config.audio
    n_frames = max(1, round(seconds * rc.fps))
    starts = np.round(np.arange(n_frames + 1) * ac.sample_rate / rc.fps).astype(np.int64)  # first sample of each frame
    audio = np.zeros(starts[-1], np.float32)
    ctx = headless_context()
    session = target = None
    try:
        session = Session(config, ctx)
        loop = LoopBuffer(session.clip.samples, ac.crossfade_samples, serial=session.clip.serial)
        clock = AudioClock(loop, latency_samples=0)  # offline: what is written is what is heard
        target = OffscreenTarget(ctx, rc.width, rc.height, samples=0)  # the scene multisamples itself
        with tempfile.TemporaryDirectory(prefix="ear3d-render-") as tmp:
            silent = Path(tmp) / "video.mp4"
            with VideoWriter(silent, rc.width, rc.height, rc.fps) as video:
                for i in tqdm(range(n_frames), desc="render", unit="frame", disable=not progress):
                    if session.poll():
                        loop.submit(session.frame.clip.samples, session.frame.clip.serial)
                    session.scene.draw(target.fbo, clock.phase())
                    video.write(target.read_rgb())
                    loop.fill(audio[starts[i] : starts[i + 1]])
                    session.advance(1.0 / rc.fps)
            wav = write_wav(Path(tmp) / "session.wav", audio * ac.volume, ac.sample_rate)
            video_path = mux_audio(silent, wav, out_dir / "session.mp4")
            if rc.display in SPHERICAL_STEREO:  # 360° players and video sites show it as a panorama
                inject_spherical(video_path, SPHERICAL_STEREO[rc.display])
        last_clip = write_wav(out_dir / "last_clip.wav", loop.front_clip, ac.sample_rate)
        return RenderResult(video_path, last_clip, n_frames, n_frames / rc.fps)
    finally:
        if target is not None:
            target.release()
        if session is not None:
            session.release()
        ctx.release()
