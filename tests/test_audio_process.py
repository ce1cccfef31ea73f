"""The audio process (audio.engine = "process") on the JACK dummy server: real rate while this
process holds the interpreter lock and torch steps, the picture's clock against what is heard,
recording, hand-over and newest-clip-wins through shared memory, and nothing left behind."""

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
import soundfile as sf

from ear3d.audio_client import ProcessOutput
from ear3d.audio_shm import SharedAudioState, segment_bytes

from jack_server import prioritize

SR = 44100


def ramp(n: int, offset: float = 0.0) -> np.ndarray:
    return (offset + np.arange(n) / n).astype(np.float32)


def hold_lock_waiting(seconds: float) -> None:
    """A slow driver call: blocks in C for ``seconds`` holding the interpreter lock (a PyDLL call
    keeps it), without taking a core from the sound server on a small machine."""
    ctypes.PyDLL(None).usleep(int(seconds * 1e6))


def gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_audio_process_imports_neither_torch_nor_moderngl():
    code = "import sys, ear3d.audio_process; print(sorted({'torch', 'moderngl'} & set(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "[]"


def test_mailbox_hands_over_whole_clips_newest_first():
    buf = bytearray(segment_bytes(100))
    app, audio = SharedAudioState(buf, 100), SharedAudioState(buf)
    assert audio.capacity == 100 and audio.take_clip(0) is None
    app.post_clip(ramp(50), 7)
    app.post_clip(ramp(80, 3.0), 8)
    gen, clip, serial = audio.take_clip(0)
    assert (gen, serial) == (2, 8)
    np.testing.assert_array_equal(clip, ramp(80, 3.0))
    assert audio.take_clip(gen) is None
    with pytest.raises(ValueError, match="101 samples"):
        app.post_clip(np.zeros(101, np.float32), 9)


def test_real_rate_and_clock_while_this_process_holds_the_lock_and_torch_steps(jack_server):
    import torch

    stop = threading.Event()
    ticks: list[float] = []

    def worker():  # forward + backward of a conv net, like the sonification worker
        net = torch.nn.Sequential(torch.nn.Conv1d(1, 32, 255), torch.nn.ReLU(), torch.nn.Conv1d(32, 1, 255))
        x = torch.randn(1, 1, 22050, requires_grad=True)
        while not stop.is_set():
            net(x).square().mean().backward()
            ticks.append(time.perf_counter())

    prioritize(jack_server.pid)
    clip = ramp(20 * SR)  # 20 s: no loop wrap while measuring
    with ProcessOutput(clip, 1, 2000, SR, 1024, clip_seconds=20) as out:
        clock, latency = out.clock, out.clock.latency_samples
        time.sleep(0.3)
        t = threading.Thread(target=worker)
        t.start()
        try:
            u0, f0, t0 = out.underruns, out.loop.frames_written, time.perf_counter()
            heard, gaps = [], []
            while time.perf_counter() - t0 < 4.0:
                h0 = time.perf_counter()
                hold_lock_waiting(0.2)  # a slow GL call: no other thread of this process runs meanwhile
                gaps.append(time.perf_counter() - h0)
                time.sleep(0.01)  # between frames the lock is free: the worker steps
                heard.append((time.perf_counter(), clock.phase() * len(clip)))
            f1, t1 = out.loop.frames_written, time.perf_counter()
        finally:
            stop.set()
            t.join()
        rate = (f1 - f0) / (t1 - t0)
        print(f"played {rate:.0f} frames/s, underruns {out.underruns - u0}, worker steps {len(ticks)}, "
              f"latency {latency} samples")
        assert np.median(gaps) > 4 * 1024 / SR  # the stand-in really held the lock for buffers on end
        assert len(ticks) > 0  # the worker did step
        assert abs(rate - SR) < 0.02 * SR
        # What the picture reads follows what is heard: a straight line at the stream rate,
        # within one buffer.
        ts, pos = np.array(heard).T
        slope, icept = np.polyfit(ts - ts[0], pos, 1)
        assert abs(slope - SR) < 0.02 * SR
        assert np.abs(pos - (icept + slope * (ts - ts[0]))).max() < 1024
        # and the heard sample trails the last written one by the output latency, within a buffer
        heard_now = clock.phase() * len(clip)
        behind = out.loop.frames_written - heard_now  # read after: at most one more buffer written
        assert latency - 2 <= behind <= latency + 2 * 1024


def test_recording_hand_over_and_newest_clip_through_the_process(jack_server, tmp_path):
    a, b, c = ramp(SR // 2), ramp(SR // 3, 10.0), ramp(SR // 4, 40.0)
    fade = 300
    path = tmp_path / "played.wav"
    out = ProcessOutput(a, 1, fade, SR, 512, volume=0.5, record=path, clip_seconds=0.5)
    with out:
        # Just after a boundary of clip a: post b then c within the same loop.
        assert wait_for(lambda: out.loop.loop_count >= 1 and out.loop.position < len(a) // 3)
        out.submit(b, 2)
        out.submit(c, 3)
        assert wait_for(lambda: out.loop.front_serial == 3, timeout=2.0)
        assert out.loop.loop_length == len(c)
        time.sleep(0.3)
        out.volume = 0.25
        time.sleep(0.3)
    played = out.loop.frames_written
    recorded, rate = sf.read(path, dtype="float32")
    assert rate == SR and len(recorded) == played  # everything played, nothing else
    as_a = np.tile(a, len(recorded) // len(a) + 1)[: len(recorded)] * np.float32(0.5)
    switch = int(np.flatnonzero(recorded != as_a)[0])
    assert switch >= len(a) and switch % len(a) == 0  # clip a played whole loops, then the switch
    after = recorded[switch:]
    w = (np.arange(fade) + 0.5) / fade
    np.testing.assert_allclose(after[:fade], 0.5 * (a[:fade] + w * (c[:fade] - a[:fade])), atol=1e-5)
    # then exactly clip c (b never played), at one volume or the other
    as_c = np.tile(c, len(after) // len(c) + 1)[: len(after)]
    gain = after[fade:] / as_c[fade:]
    assert set(np.unique(gain)) == {np.float32(0.5), np.float32(0.25)}


def test_no_device_comes_back_as_one_line(jack_server):
    out = ProcessOutput(ramp(1000), 1, 0, SR, 512, device="no-such-device-xyz")
    from ear3d.audio import AudioUnavailable

    with pytest.raises(AudioUnavailable, match="no-such-device-xyz") as e:
        out.start()
    assert "\n" not in str(e.value)
    assert gone(out.pid)


def real_time_permitted() -> bool:
    """Whether a process of ours may take SCHED_FIFO (asked of a throwaway one)."""
    probe = "import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))"
    return subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True).returncode == 0


def test_audio_threads_run_real_time_where_permitted(jack_server):
    from ear3d.audio_process import AUDIO_RT_PRIORITY

    if not real_time_permitted():
        pytest.skip("real-time scheduling needs CAP_SYS_NICE or an RLIMIT_RTPRIO")
    with ProcessOutput(ramp(SR), 1, 0, SR, 512) as out:
        assert out.scheduling == f"fifo {AUDIO_RT_PRIORITY}"
        policies = []
        for tid in os.listdir(f"/proc/{out.pid}/task"):
            try:
                policies.append(os.sched_getscheduler(int(tid)))
            except OSError:
                pass
        # the callback's thread and the JACK client thread that carries its samples, at least
        assert policies.count(os.SCHED_FIFO) >= 2


def test_close_leaves_nothing(jack_server):
    out = ProcessOutput(ramp(SR), 1, 0, SR, 512)
    out.start()
    pid, segment = out.pid, out.segment
    assert not gone(pid) and os.path.exists(f"/dev/shm/{segment}")
    out.close()
    assert gone(pid) and not os.path.exists(f"/dev/shm/{segment}")
    assert out.loop.frames_written > 0  # the last state stays readable after close


def test_sigterm_ends_the_audio_process_with_its_cleanup_done(jack_server, tmp_path):
    # SIGTERM only asks the serving loop to end: the recording is finished and the segment
    # unlinked on the way out, and the app's own close afterwards is harmless.
    wav = tmp_path / "rec.wav"
    out = ProcessOutput(ramp(SR), 1, 0, SR, 512, record=str(wav))
    out.start()
    try:
        pid, segment = out.pid, out.segment
        time.sleep(0.3)
        os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: gone(pid), timeout=5.0)
        assert not os.path.exists(f"/dev/shm/{segment}")
        assert sf.info(str(wav)).frames > 0
    finally:
        out.close()


def test_killed_app_leaves_nothing(jack_server, tmp_path):
    script = textwrap.dedent("""
        import sys, time, numpy as np
        from ear3d.audio_client import ProcessOutput
        out = ProcessOutput(np.zeros(44100, np.float32), 1, 0, 44100, 512, record=sys.argv[1])
        out.start()
        print(out.pid, out.segment, flush=True)
        time.sleep(60)
    """)
    wav = tmp_path / "rec.wav"
    app = subprocess.Popen([sys.executable, "-c", script, str(wav)], stdout=subprocess.PIPE, text=True)
    try:
        pid_text, segment = app.stdout.readline().split()
        pid = int(pid_text)
        assert not gone(pid) and os.path.exists(f"/dev/shm/{segment}")
        time.sleep(0.3)
        app.send_signal(signal.SIGKILL)
        app.wait(timeout=10)
        assert wait_for(lambda: gone(pid), timeout=5.0)
        assert not os.path.exists(f"/dev/shm/{segment}")
        assert sf.info(str(wav)).frames > 0  # the audio process finished the recording on its way out
    finally:
        if app.poll() is None:
            app.kill()
