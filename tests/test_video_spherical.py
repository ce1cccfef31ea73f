"""Spherical-video metadata: written into real MP4s (ffmpeg's), read back from the boxes,
recognised by ffmpeg's demuxer, the media untouched; and `ear3d render --display equirect`
end to end."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ear3d.clips import write_wav
from ear3d.video import VideoWriter, ffmpeg_exe, mux_audio, probe
from ear3d.video_spherical import SphericalError, inject_spherical, read_spherical

ROOT = Path(__file__).resolve().parent.parent


def clip(tmp_path, audio=True):
    """A 128x64 MP4 of 6 distinct frames (with an AAC track: moov first, +faststart)."""
    silent = tmp_path / "v.mp4"
    rng = np.random.default_rng(0)
    with VideoWriter(silent, 128, 64, 10) as video:
        for _ in range(6):
            video.write(rng.integers(0, 256, (64, 128, 3), dtype=np.uint8))
    if not audio:
        return silent
    wav = write_wav(tmp_path / "a.wav", np.sin(np.arange(26460) * 0.05).astype(np.float32) * 0.3, 44100)
    return mux_audio(silent, wav, tmp_path / "av.mp4")


def decoded(path):
    """Every video frame and audio sample ffmpeg decodes, as bytes."""
    video = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-f", "rawvideo", "-"],
                           capture_output=True, check=True).stdout
    audio = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a?", "-f", "s16le", "-"],
                           capture_output=True, check=True).stdout
    return video, audio


def ffmpeg_side_data(path):
    # ffmpeg without an output exits 1 after printing the streams, which is all we want here
    err = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True,
                         check=False).stderr
    return [line.strip() for line in err.splitlines() if "Spherical" in line or "Stereo 3D" in line]


@pytest.mark.parametrize("stereo", ["mono", "top-bottom"])
def test_metadata_is_written_read_back_and_recognised(tmp_path, stereo):
    path = clip(tmp_path)
    before = decoded(path)
    inject_spherical(path, stereo)
    info = read_spherical(path)
    assert info.projection == "equirectangular" and info.stereo == stereo and info.source == "ear3d"
    assert info.bounds == (0, 0, 0, 0)
    assert info.boxes[-2:] == ("st3d", "sv3d") and info.boxes[0] == "avcC"
    assert "<GSpherical:Spherical>true</GSpherical:Spherical>" in info.v1_xml
    assert "<GSpherical:ProjectionType>equirectangular</GSpherical:ProjectionType>" in info.v1_xml
    assert ("<GSpherical:StereoMode>top-bottom</GSpherical:StereoMode>" in info.v1_xml) == (stereo == "top-bottom")
    side = ffmpeg_side_data(path)
    assert "Spherical Mapping: equirectangular" in side  # what `ffprobe -show_streams` calls side_data
    assert any(("top and bottom" in s) == (stereo == "top-bottom") for s in side if s.startswith("Stereo 3D"))
    assert decoded(path) == before  # chunk offsets moved with the grown moov: the same media


def test_writing_again_replaces_the_boxes(tmp_path):
    path = clip(tmp_path, audio=False)
    inject_spherical(path, "top-bottom")
    size = path.stat().st_size
    inject_spherical(path, "mono")
    info = read_spherical(path)
    assert info.stereo == "mono" and info.boxes.count("sv3d") == 1
    assert path.stat().st_size == size - len("<GSpherical:StereoMode>top-bottom</GSpherical:StereoMode>")
    assert probe(path).frames == 6


def test_a_file_that_is_not_mp4_is_refused(tmp_path):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00\x00\x00\x20ftypisom" + bytes(8))
    with pytest.raises(SphericalError):
        inject_spherical(bad)
    with pytest.raises(SphericalError, match="stereo mode"):
        inject_spherical(clip(tmp_path, audio=False), "sideways")


def run_ear3d(*args):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=ROOT, check=False)


def test_render_equirect_is_a_2_to_1_spherical_mp4(tmp_path):
    run = run_ear3d("--set", "model.preset=tiny", "render", "--display", "equirect", "--seconds", "0.5",
                    "--out", str(tmp_path), "--size", "256x128", "--fps", "10")
    assert run.returncode == 0, run.stderr
    video = tmp_path / "session.mp4"
    info = probe(video)
    assert (info.frames, info.width, info.height, info.has_audio) == (5, 256, 128, True)
    assert read_spherical(video).projection == "equirectangular"
    refused = run_ear3d("render", "--display", "equirect", "--size", "320x180", "--out", str(tmp_path / "no"))
    assert refused.returncode != 0 and "2:1" in refused.stderr


@pytest.mark.skipif(shutil.which("ffprobe") is None,
                    reason="ffprobe not installed (apt ffmpeg; `make test` installs it): the 360° demuxer check")
def test_render_equirect_stereo_is_spherical_top_bottom_to_ffprobe(tmp_path):
    """What VLC and mpv see (both demux through libavformat): ffprobe reads the rendered MP4's
    Spherical Mapping (equirectangular) and Stereo 3D (top and bottom) side data."""
    run = run_ear3d("--set", "model.preset=tiny", "render", "--display", "equirect-stereo", "--seconds", "0.2",
                    "--out", str(tmp_path), "--size", "128x128", "--fps", "10")
    assert run.returncode == 0, run.stderr
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream_side_data",
                          "-of", "json", str(tmp_path / "session.mp4")], capture_output=True, text=True, check=True)
    side = {d["side_data_type"]: d for d in json.loads(out.stdout)["streams"][0]["side_data_list"]}
    assert side["Spherical Mapping"]["projection"] == "equirectangular"
    assert side["Stereo 3D"]["type"] == "top and bottom"
