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
    rig = Rig(tiny_config)  # its own JACK dummy server (killed at the end), the tiny live app
    yield rig
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
