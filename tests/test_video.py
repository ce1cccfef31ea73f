"""Offscreen frames headless: PNG frames and an MP4 with the expected frame count and an
audio stream, from a scene with neurons and edges."""

import numpy as np
import pytest
from PIL import Image

from ear3d.clips import write_wav
from ear3d.config import RenderConfig
from ear3d.gfx.offscreen import OffscreenTarget
from ear3d.gfx.scene import Scene
from ear3d.gfx.synthetic import synthetic_network
from ear3d.palette import load_palette
from ear3d.video import VideoWriter, probe

W, H, FPS = 96, 64, 12


def tiny_scene(ctx):
    net = synthetic_network(neurons=60, edges=300, layers=4, key_frames=4, steps=8, seed=1)
    cfg = RenderConfig(width=W, height=H, samples=2)
    scene = Scene(ctx, net.positions, net.layer, load_palette("default"), cfg, net.edges, net.weights)
    scene.set_activity(net.activity)
    return scene


def test_mp4_has_the_expected_frames_and_audio(gl_context, tmp_path):
    frames = 9
    wav = write_wav(tmp_path / "loop.wav", 0.2 * np.sin(np.linspace(0, 440 * 2 * np.pi, 44100)), 44100)
    scene = tiny_scene(gl_context)
    try:
        with OffscreenTarget(gl_context, W, H, samples=0) as target:
            with VideoWriter(tmp_path / "out.mp4", W, H, FPS, audio=wav) as video:
                images = []
                for i in range(frames):
                    scene.advance(1 / FPS, orbit_speed=0.5)
                    scene.draw(target.fbo, i / frames)
                    images.append(target.read_rgb())
                    video.write(images[-1])
    finally:
        scene.release()
    info = probe(tmp_path / "out.mp4")
    assert (info.frames, info.width, info.height) == (frames, W, H)
    assert info.has_audio
    assert images[0].max() > 60  # the network is visible…
    assert np.abs(images[0].astype(int) - images[-1].astype(int)).mean() > 0.5  # …and it moves


def test_png_frame_round_trips(gl_context, tmp_path):
    scene = tiny_scene(gl_context)
    try:
        with OffscreenTarget(gl_context, W, H, samples=4) as target:
            scene.draw(target.fbo, 0.3)
            path = target.save_png(tmp_path / "frames" / "f0001.png")
            expected = target.read_rgb()
    finally:
        scene.release()
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), expected)
    assert not list(path.parent.glob(".*partial"))


def test_a_writer_knows_its_encoder_died_before_the_next_frame(tmp_path):
    """A live recording writes only when the video clock asks for a frame: the check must not wait for one."""
    from ear3d.video import VideoError

    writer = VideoWriter(tmp_path / "x.mp4", 64, 48, 30)
    try:
        writer.write(np.zeros((48, 64, 3), np.uint8))
        writer.check()  # alive: nothing to say
        writer._proc.kill()
        writer._proc.wait()
        with pytest.raises(VideoError, match="ffmpeg stopped while writing"):
            writer.check()
    finally:
        writer.abort()
