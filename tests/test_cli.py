"""The command line end to end: real subprocesses, a real MP4 with sound and a WAV."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from ear3d.video import probe

ROOT = Path(__file__).resolve().parent.parent


def ear3d(*args, env=None, timeout=300):
    e = {**os.environ, **(env or {})}
    e.pop("DISPLAY", None)
    e.pop("WAYLAND_DISPLAY", None)
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True, env=e,
                          timeout=timeout, cwd=ROOT)


def test_help_lists_commands_and_config_keys():
    run = ear3d("--help")
    assert run.returncode == 0
    for word in ("live", "render", "--config", "[render]", "sample_rate"):
        assert word in run.stdout


def test_console_script_is_the_same_as_main_py():
    script = Path(sys.executable).parent / "ear3d"
    run = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("ear3d ")


def test_render_writes_playable_mp4_with_audio_and_a_wav(tmp_path):
    run = ear3d("--set", "model.preset=tiny", "render", "--seconds", "2", "--out", str(tmp_path),
                "--size", "320x180", "--fps", "15")
    assert run.returncode == 0, run.stderr
    video, wav = tmp_path / "session.mp4", tmp_path / "last_clip.wav"
    assert str(video) in run.stdout and str(wav) in run.stdout
    info = probe(video)
    assert (info.frames, info.width, info.height) == (30, 320, 180)
    assert info.has_audio and abs(info.audio_seconds - 2.0) < 0.2
    samples, rate = sf.read(wav)
    assert rate == 44100 and len(samples) == 4 * 44100 and np.abs(samples).max() > 0.1
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no partial files left


def test_live_without_display_renders_headless_and_says_so(tmp_path):
    run = ear3d("--set", "model.preset=tiny", "--set", "render.width=160", "--set", "render.height=90",
                "--set", "render.fps=5", "live", "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    first = run.stdout.splitlines()[0]
    assert first.startswith("No display found") and str(tmp_path) in first
    assert probe(tmp_path / "session.mp4").frames == 40  # 8 s at 5 fps
    assert (tmp_path / "last_clip.wav").exists()


def test_bad_config_is_one_clear_line(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[render]\nfps = 0\n")
    run = ear3d("--config", str(cfg), "render", "--seconds", "1", "--out", str(tmp_path))
    assert run.returncode == 2
    assert run.stderr.strip() == "ear3d: config error: render.fps = 0 is out of range; allowed: 1 to 240"


def test_bad_size_is_refused():
    run = ear3d("render", "--size", "big")
    assert run.returncode == 2 and "must look like 1280x720" in run.stderr
