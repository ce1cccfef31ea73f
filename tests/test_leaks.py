"""Nothing leaks: each live subsystem opened and closed LEAK_CYCLES times holds the same GL
objects, GPU-buffer bytes, threads, file descriptors, child processes and PortAudio instances
as after one cycle (ear3d.bench.leaks; `ear3d bench leaks --cycles 100` runs 100)."""

from __future__ import annotations

import pytest

from ear3d.bench import census
from ear3d.bench.leaks import Rig, cycles

#: Cycles per subsystem here (the bench runs 100; the session builds its model every cycle).
LEAK_CYCLES = 6
SESSION_CYCLES = 2


@pytest.fixture(scope="module")
def rig(tiny_config):
    rig = Rig(tiny_config)  # its own JACK dummy server (the routing is put back on close), the tiny live app
    try:
        yield rig
    finally:
        rig.close()


@pytest.mark.parametrize("subsystem", ["playback-process", "playback-thread", "control", "gui", "scene",
                                       "recorder"])
def test_open_close_cycles_leave_nothing_behind(rig, subsystem):
    first, last, _ = cycles(rig.cycle_for(subsystem), LEAK_CYCLES)
    assert last.difference(first) == {}, f"{subsystem}: held more after {LEAK_CYCLES} cycles than after 1"


def test_session_cycles_leave_nothing_behind(rig):
    first, last, _ = cycles(rig.cycle_for("session"), SESSION_CYCLES)
    assert last.difference(first) == {}


def test_the_census_sees_what_is_held(rig):
    """The census can fail: an unreleased buffer, a running thread and an open file all show."""
    import threading

    before = census.take()
    buffer = rig.ctx.buffer(reserve=4096)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="held")
    thread.start()
    with open(__file__) as held:
        diff = census.take().difference(before)
        assert diff == {"gl Buffer": 1, "gpu bytes": 4096, "threads": 1, "fds": 1}, diff
        del held
    stop.set()
    thread.join()
    buffer.release()
    assert census.take().difference(before) == {}


def test_a_recording_whose_encoder_dies_stops_alone_and_leaves_nothing_behind(rig):
    """The encoder dies mid-recording (as on a full disk): the recording stops with a message at
    the next frame, the app draws on, and no thread or file of the recording is left."""
    app, fbo = rig.app, rig.target.fbo
    app.frame(fbo, 1 / 30)
    app.after_frame(fbo)
    before = census.take()
    app.toggle_recording(size=fbo.size)
    app.after_frame(fbo)
    app.recording._video._proc.kill()  # the encoder is gone
    app.recording._video._proc.wait()
    drawn = app.frames_drawn
    for _ in range(5):
        app.frame(fbo, 1 / 30)
        app.after_frame(fbo)
    assert app.recording is None and app.last_error.startswith("recording stopped: ffmpeg")
    assert app.frames_drawn == drawn + 5
    assert census.take().difference(before) == {}


def test_an_unreadable_origin_clip_is_refused_and_changes_nothing(rig, tmp_path):
    app = rig.app
    app.frame(rig.target.fbo, 1 / 30)
    origin, errors = app.origin, app.errors
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00garbage" * 50)
    from ear3d.messages import Command

    app.command(Command("app:origin", str(broken)))
    assert app.origin == origin and app.errors == errors + 1 and "broken.wav" in app.last_error
