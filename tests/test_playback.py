"""The live session's sound: a real stream on the JACK dummy server (both engines), device
loss and reopening, the process engine's own retry, and the no-device fallback that saves each
new clip."""

import signal
import time

import numpy as np
import pytest
import soundfile as sf

from ear3d import playback
from ear3d.config import AudioConfig
from ear3d.messages import Clip
from ear3d.playback import Playback

SR = 44100


def tone(seconds: float, freq: float) -> Clip:
    t = np.arange(int(seconds * SR)) / SR
    return Clip((0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)


def wait_for(condition, timeout=3.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


@pytest.mark.parametrize("engine", ["process", "thread"])
def test_new_clip_starts_at_the_loop_boundary_and_the_clock_follows(jack_server, engine):
    pb = Playback(AudioConfig(engine=engine), tone(0.5, 220))
    try:
        assert pb.output is not None and pb.problem is None and pb.output_name
        new = tone(0.5, 330)
        pb.submit(new)
        assert wait_for(lambda: pb.loop.front_serial == new.serial)
        phases = [pb.phase() for _ in range(5) if not time.sleep(0.07)]
        assert len(set(np.round(phases, 3))) == 5  # moving with the sound
    finally:
        pb.close()


def test_device_loss_falls_back_and_reopen_restores_sound(jack_server, caplog):
    pb = Playback(AudioConfig(engine="thread"), tone(0.5, 220))
    try:
        pb.output._stream.stop_stream()  # the device stops under us
        pb.check()
        assert pb.output is None and "stream stopped" in pb.problem
        assert "no sound" in caplog.text
        p0 = pb.phase()
        time.sleep(0.05)
        assert pb.phase() != p0  # the picture keeps moving on the wall clock
        latest = tone(0.5, 440)
        pb.submit(latest)
        assert pb.reopen() and pb.output.active
        assert wait_for(lambda: pb.loop.front_serial == latest.serial)  # the newest clip plays
    finally:
        pb.close()


def test_lost_audio_process_falls_back_and_comes_back_by_itself(jack_server, caplog, monkeypatch):
    monkeypatch.setattr(playback, "RETRY_SECONDS", 0.2)
    pb = Playback(AudioConfig(engine="process"), tone(0.5, 220))
    try:
        first = pb.output
        first._proc.send_signal(signal.SIGKILL)  # the audio process dies (or its device with it)
        first._proc.wait()
        pb.check()
        assert pb.output is None and "audio process exited" in pb.problem
        p0 = pb.phase()
        time.sleep(0.05)
        assert pb.phase() != p0  # the picture keeps moving on the wall clock
        latest = tone(0.5, 440)
        pb.submit(latest)
        assert wait_for(lambda: pb.check() or pb.output is not None, timeout=10.0)  # retried in the background
        assert "sound is back" in caplog.text and pb.problem is None
        assert wait_for(lambda: pb.loop.front_serial == latest.serial)  # the newest clip plays
        f0 = pb.loop.frames_written
        time.sleep(0.2)
        assert pb.loop.frames_written > f0
        assert pb.reopen() and pb.output.active  # and by hand
    finally:
        pb.close()


@pytest.mark.parametrize("engine", ["process", "thread"])
def test_without_device_each_new_clip_is_saved(tmp_path, caplog, engine):
    folder = tmp_path / "clips"
    cfg = AudioConfig(device="no-such-device", save_clips=str(folder), clip_seconds=0.5, engine=engine)
    first = tone(0.2, 220)
    pb = Playback(cfg, first)
    assert pb.output is None and "no-such-device" in pb.problem
    assert caplog.text.count("no sound") == 1  # said once
    pb.check()
    second = tone(0.2, 330)
    pb.submit(second)
    pb.check()  # mid-loop: not yet
    assert len(pb.saved) == 1
    assert wait_for(lambda: pb.check() or len(pb.saved) == 2, timeout=1.0)  # at the next wall-clock loop
    pb.submit(tone(0.2, 440))
    pb.submit(third := tone(0.2, 550))  # two clips within one loop: only the newest is saved
    assert wait_for(lambda: pb.check() or len(pb.saved) == 3, timeout=1.0)
    time.sleep(0.5)
    pb.check()
    assert len(pb.saved) == 3  # nothing new: nothing saved
    for path, clip in zip(pb.saved, (first, second, third), strict=True):
        data, rate = sf.read(path, dtype="float32")
        assert rate == SR and np.abs(data - clip.samples).max() < 1e-4
    pb.close()
