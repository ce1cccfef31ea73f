"""The worker process (optimize.worker = "process"): it keeps stepping while this process's main
thread holds the interpreter lock (as moderngl does through every GL call), where the thread
worker stalls; nothing is left behind after stop or after the app is killed; a command that
cannot cross is answered; a crash is reported once and the worker comes back with the last
good clip, or the session carries on visibly without steps (tiny preset, 1.5 s clips)."""

import ctypes
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import torch

from ear3d import worker_client
from ear3d.config import load
from ear3d.messages import Clip, Command
from ear3d.worker_client import ProcessWorker, new_worker

WAIT = 60.0
SETTINGS = ["model.preset=tiny", "model.weights=random", "audio.clip_seconds=1.5", "optimize.context_seconds=0.75",
            "optimize.threads=1", "optimize.batch=2"]


def config(kind: str):
    return load(None, SETTINGS + [f"optimize.worker={kind}"])


def gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_for(condition, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def next_frame(worker, version, pred=lambda f: True):
    """The first frame newer than ``version`` that satisfies ``pred``: (version, frame)."""
    while True:
        newer, frame = worker.frames.wait_newer(version, WAIT)
        assert newer > version, "no frame in time"
        version = newer
        if pred(frame):
            return version, frame


def steps_while_the_lock_is_held(worker, seconds: float) -> int:
    """Steps the worker makes while this thread holds the interpreter lock in long C calls
    (usleep through PyDLL keeps it, without taking a core from the worker)."""
    hold = ctypes.PyDLL(None).usleep
    worker.send(Command("select", {"layer": "enc3"}))
    worker.send(Command("resume"))
    version, frame = next_frame(worker, worker.frames.peek()[0], lambda f: f.step >= 1)
    start = frame.step
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        hold(200_000)  # a 0.2 s GL call
    worker.send(Command("pause"))
    worker.send(Command("listen"))  # a frame once the step in flight is done
    _, frame = next_frame(worker, version, lambda f: not f.optimizing)
    return frame.step - start


def test_the_process_worker_steps_while_the_main_thread_holds_the_lock_and_the_thread_worker_stalls():
    before = torch.get_num_threads()
    steps = {}
    try:
        for kind in ("process", "thread"):
            with new_worker(config(kind)) as worker:
                steps[kind] = steps_while_the_lock_is_held(worker, 8.0)
    finally:
        torch.set_num_threads(before)
    print(f"steps in 8 s with the lock held by the main thread: {steps}, load {os.getloadavg()[0]:.1f}")
    assert steps["process"] >= 3
    assert steps["process"] >= 3 * max(steps["thread"], 1)


def test_nothing_is_left_after_stop():
    threads = threading.active_count()
    worker = ProcessWorker(config("process")).start()
    pid = worker.pid
    assert not gone(pid) and worker.alive
    worker.stop()
    assert gone(pid) and not worker.alive
    assert threading.active_count() == threads
    worker.stop()  # idempotent


def test_the_worker_process_ends_when_the_app_is_killed(tmp_path):
    app = textwrap.dedent(f"""
        import sys, time
        from ear3d.config import load
        from ear3d.worker_client import ProcessWorker
        worker = ProcessWorker(load(None, {SETTINGS!r})).start()
        print(worker.pid, flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", app], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        child = int(proc.stdout.readline())
        assert not gone(child)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert wait_for(lambda: gone(child), 10.0), "the worker process outlived the app"
    finally:
        proc.kill()
        proc.wait()


def test_a_command_that_cannot_cross_is_answered_and_the_loop_goes_on():
    class Unpicklable:
        def __reduce__(self):
            raise TypeError("holds a lock")

    with ProcessWorker(config("process")) as worker:
        errors = worker.errors.peek()[0]
        worker.send(Command("objective", Unpicklable()))
        n, error = worker.errors.peek()
        assert n == errors + 1 and "objective" in error and "holds a lock" in error
        worker.send(Command("select", {"layer": "enc2"}))
        worker.send(Command("step", 1))
        _, frame = next_frame(worker, 0, lambda f: f.step == 1)
        assert list(frame.selected) == ["enc2"]


def test_edge_weights_come_from_the_worker_process():
    from ear3d.layout.network import ear_graph
    from ear3d.ml.model import build_ear

    cfg = config("process")
    with ProcessWorker(cfg) as worker:
        weights = worker.edge_weights()
    np.testing.assert_array_equal(weights, ear_graph(build_ear(cfg), cfg.cqt.n_bins).weight)


def test_a_crash_is_reported_once_the_worker_comes_back_with_the_last_good_clip_then_gives_up(monkeypatch):
    monkeypatch.setattr(worker_client, "MAX_CRASHES", 2)
    with ProcessWorker(config("process")) as worker:
        # Paused first: the two steps asked for are the only ones, so step 2's clip is the last.
        worker.send(Command("pause"))
        worker.send(Command("select", {"layer": "enc4"}))
        worker.send(Command("step", 2))
        version, good = next_frame(worker, 0, lambda f: f.step == 2)
        errors, first = worker.errors.peek()[0], worker.pid
        os.kill(first, signal.SIGKILL)  # a crash inside torch would look the same
        assert wait_for(lambda: worker.restarts == 1)
        # A paused worker publishes nothing new on its own: ask for a frame after the replay
        # (the pause, the clip, then the target), which the new process answers in order.
        worker.send(Command("listen"))
        version, back = next_frame(worker, version, lambda f: bool(f.selected) and not f.optimizing)
        assert worker.pid != first and worker.restarts == 1 and worker.alive
        n, error = worker.errors.peek()
        assert n == errors + 1 and "died" in error and "SIGKILL" in error and "last good clip" in error
        assert np.array_equal(back.clip.samples, good.clip.samples) and back.clip.serial != good.clip.serial
        assert list(back.selected) == ["enc4"] and not back.optimizing  # target and pause came back
        worker.send(Command("step", 1))  # and it steps again
        version, _ = next_frame(worker, version, lambda f: f.step == 1)
        os.kill(worker.pid, signal.SIGKILL)  # the second crash within the window: no more restarts
        assert wait_for(lambda: not worker.alive)
        assert "without optimization steps" in worker.errors.peek()[1]
        worker.send(Command("step", 1))  # commands are still taken, without effect
        assert worker.frames.wait_newer(version, 1.0)[0] == version


def test_wire_carries_objects_and_arrays_whole_and_aligned():
    import socket

    from ear3d import wire

    a, b = socket.socketpair()
    arrays = {"f32": np.arange(7 * 11 * 4001, dtype=np.float32).reshape(7, 11, 4001), "bool": np.eye(5, dtype=bool),
              "strided": np.arange(40.0)[::3], "empty": np.zeros((0, 4), np.float32)}
    sent = ("frame", arrays, {"nested": [1, "two", 3.0]})
    writer = threading.Thread(target=lambda: [wire.send(a, sent) for _ in range(3)])
    writer.start()  # 1.2 MB a message: more than a socket buffer holds
    for _ in range(3):
        kind, got, extra = wire.receive(b)
        assert kind == "frame" and extra == {"nested": [1, "two", 3.0]}
        for name, array in arrays.items():
            assert got[name].dtype == array.dtype and np.array_equal(got[name], array)
            assert got[name].flags.aligned
    writer.join()
    a.close()
    with pytest.raises(EOFError):
        wire.receive(b)
    b.close()


def test_a_restart_replays_the_pause_before_the_clip_and_the_target():
    replay = worker_client._Replay()
    for command in (Command("select", {"layer": "enc1"}), Command("pause"), Command("keep"),
                    Command("select", {"layer": "enc2"})):
        replay.note(command)
    clip = Clip(np.zeros(8, np.float32), 44100)
    names = [c.name for c in replay.commands(clip)]
    assert names == ["pause", "clip", "select", "keep", "select"]
    replay.note(Command("resume"))
    assert [c.name for c in replay.commands(None)] == ["select", "keep", "select"]
