"""ear3d.audio: LoopBuffer logic, clocks, device lookup, and a real PortAudio stream
into a JACK dummy server through ALSA's default PCM (see tests/jack_server.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from ear3d.audio import (
    AudioClock,
    AudioOutput,
    AudioUnavailable,
    LoopBuffer,
    OfflineClock,
    find_output_device,
)

SR = 44100


def play(loop: LoopBuffer, total: int, chunks: list[int] | None = None) -> np.ndarray:
    """Run ``fill`` for ``total`` samples in the given chunk sizes (cycled)."""
    out = np.empty(total, dtype=np.float32)
    chunks = chunks or [512]
    i = k = 0
    while i < total:
        n = min(chunks[k % len(chunks)], total - i)
        buf = np.full(n, np.nan, dtype=np.float32)  # NaN: catches unwritten samples
        loop.fill(buf)
        out[i:i + n] = buf
        i += n
        k += 1
    return out


def ramp_clip(n: int, offset: float = 0.0) -> np.ndarray:
    """Distinct values per sample, so any misplaced sample shows."""
    return (offset + np.arange(n) / n).astype(np.float32)


def sine(n: int, cycles: int, phase: float, amp: float = 0.5) -> np.ndarray:
    """A whole number of cycles: loops onto itself without a jump."""
    return (amp * np.sin(2 * np.pi * cycles * np.arange(n) / n + phase)).astype(np.float32)


def expected_fade(old: np.ndarray, new: np.ndarray, f: int) -> np.ndarray:
    """First f samples after a switch: old clip (continuing to loop) faded into new."""
    w = (np.arange(f) + 0.5) / f
    old_cont = old[np.arange(f) % len(old)]
    return (old_cont + w * (new[:f] - old_cont)).astype(np.float32)


# ------------------------------------------------------------------ LoopBuffer logic


@pytest.mark.parametrize("chunks", [[512], [1], [7, 300, 1999], [5000]])
def test_loop_is_seamless(chunks):
    clip = ramp_clip(1000)
    lb = LoopBuffer(clip, crossfade=64)
    out = play(lb, 4321, chunks)
    np.testing.assert_array_equal(out, np.tile(clip, 5)[:4321])
    assert lb.frames_written == 4321
    assert lb.loop_count == 4
    assert lb.position == 321
    assert lb.loop_length == 1000


def test_submit_mid_loop_starts_at_next_boundary():
    a, b = ramp_clip(1000), ramp_clip(800, offset=10.0)
    lb = LoopBuffer(a, crossfade=0, serial=1)
    first = play(lb, 300)
    assert lb.submit(b, serial=2) == 2
    assert lb.pending_serial == 2
    rest = play(lb, 700 + 2 * 800 + 50, [128])
    out = np.concatenate([first, rest])
    np.testing.assert_array_equal(out[:1000], a)  # old clip plays out its loop
    np.testing.assert_array_equal(out[1000:], np.tile(b, 3)[:1650])
    assert lb.front_serial == 2
    assert lb.pending_serial is None
    assert lb.loop_length == 800 and lb.position == 50 and lb.loop_count == 3


def test_only_newest_waiting_clip_plays():
    a = ramp_clip(500)
    clips = {s: ramp_clip(300 + s, offset=float(s)) for s in (2, 3, 4)}
    lb = LoopBuffer(a, crossfade=0, serial=1)
    play(lb, 100)
    for s, c in clips.items():
        lb.submit(c, serial=s)
    assert lb.front_serial == 1 and lb.pending_serial == 4
    out = play(lb, 400 + 2 * 304, [64])
    np.testing.assert_array_equal(out[:400], a[100:])
    np.testing.assert_array_equal(out[400:], np.tile(clips[4], 2))
    assert lb.front_serial == 4
    # Clips 2 and 3 never played: their values (offsets 2.x, 3.x) never appear.
    assert not np.any((out >= 2.0) & (out < 4.0))


def test_default_serials_count_submits():
    lb = LoopBuffer(ramp_clip(10), crossfade=0)
    assert lb.front_serial == 0
    assert lb.submit(ramp_clip(10)) == 1
    assert lb.submit(ramp_clip(10)) == 2
    play(lb, 10)
    assert lb.front_serial == 2


def test_crossfade_values_and_lengths():
    # Old clip shorter than the fade: the old continuation wraps within the fade.
    a, b = ramp_clip(40), ramp_clip(300, offset=5.0)
    lb = LoopBuffer(a, crossfade=100)
    lb.submit(b)
    out = play(lb, 40 + 300 + 300, [33])
    np.testing.assert_array_equal(out[:40], a)
    np.testing.assert_allclose(out[40:140], expected_fade(a, b, 100), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(out[140:340], b[100:])
    np.testing.assert_array_equal(out[340:], b)  # the new clip's own loop is not faded


def test_crossfade_longer_than_new_clip_is_limited_to_it():
    a, b = ramp_clip(500), ramp_clip(60, offset=3.0)
    lb = LoopBuffer(a, crossfade=256)
    lb.submit(b)
    out = play(lb, 500 + 60 * 3, [17])
    np.testing.assert_allclose(out[500:560], expected_fade(a, b, 60), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(out[560:], np.tile(b, 2))


def test_crossfade_leaves_no_click():
    n, cyc = 4410, 44  # 440 Hz at 44.1 kHz, whole cycles
    old, new = sine(n, cyc, 0.0), sine(n, cyc, np.pi / 2)
    within = max(np.abs(np.diff(np.tile(old, 2))).max(),
                 np.abs(np.diff(np.tile(new, 2))).max())

    def max_step(crossfade: int) -> float:
        lb = LoopBuffer(old, crossfade)
        play(lb, 1000)
        lb.submit(new)
        out = play(lb, 2 * n, [256])
        return float(np.abs(np.diff(out)).max())

    assert max_step(0) > 5 * within  # a hard cut clicks: the test can see clicks
    assert max_step(256) < 1.2 * within


def test_concurrent_submits_switch_only_at_boundaries():
    # Each clip is a constant (its serial) with its own length: a run of equal output
    # values is one clip playing, and must last a whole number of its loops.
    def clip(s: int) -> np.ndarray:
        return np.full(50 + (s * 7) % 61, float(s), dtype=np.float32)

    lb = LoopBuffer(clip(0), crossfade=0, serial=0)
    stop = threading.Event()

    def submitter():
        s = 1
        while not stop.is_set():
            lb.submit(clip(s), serial=s)
            s += 1
            time.sleep(0)

    t = threading.Thread(target=submitter)
    t.start()
    chunks = []
    try:
        for k in range(3000):
            buf = np.empty((64, 100, 3)[k % 3], dtype=np.float32)
            lb.fill(buf)
            chunks.append(buf)
            time.sleep(0)  # let the submitter in between callbacks, as a real one is
    finally:
        stop.set()
        t.join()
    out = np.concatenate(chunks)
    edges = np.flatnonzero(np.diff(out)) + 1
    starts = np.concatenate([[0], edges])
    lengths = np.diff(np.concatenate([starts, [len(out)]]))
    serials = out[starts].astype(int)
    assert len(serials) > 10  # the submitter did get in
    assert np.all(np.diff(serials) > 0)  # never an older clip after a newer one
    for s, run in zip(serials[:-1], lengths[:-1], strict=True):
        assert run % len(clip(s)) == 0, (s, run)


def test_bad_clips_rejected():
    with pytest.raises(ValueError):
        LoopBuffer(np.zeros(0, np.float32), 10)
    with pytest.raises(ValueError):
        LoopBuffer(np.zeros((2, 10), np.float32), 10)
    with pytest.raises(ValueError):
        LoopBuffer(np.zeros(10, np.float32), -1)


def test_clip_is_copied():
    clip = ramp_clip(100)
    lb = LoopBuffer(clip, 0)
    clip[:] = 9.0
    assert play(lb, 100)[0] == 0.0


# ------------------------------------------------------------------ clocks


def test_audio_clock_subtracts_latency():
    lb = LoopBuffer(ramp_clip(1000), 0)
    clock = AudioClock(lb, latency_samples=300)
    assert clock.phase() == 0.0 and clock.loop_count() == 0  # nothing heard yet
    play(lb, 200)
    assert clock.position_samples() == 0  # still within the latency
    play(lb, 600)
    assert clock.position_samples() == 500
    assert clock.phase() == pytest.approx(0.5)
    play(lb, 300)  # buffer at 100 of loop 1; heard at 800 of loop 0
    assert lb.loop_count == 1
    assert clock.position_samples() == 800 and clock.loop_count() == 0


def test_audio_clock_across_clip_change_uses_previous_length():
    lb = LoopBuffer(ramp_clip(1000), 0)
    lb.submit(ramp_clip(400))
    clock = AudioClock(lb, latency_samples=100)
    play(lb, 1050)  # new clip at 50; heard: old clip at 950
    assert clock.phase() == pytest.approx(0.95)
    play(lb, 100)
    assert clock.phase() == pytest.approx(50 / 400)


def test_audio_clock_smoothing_is_bounded_by_last_fill():
    lb = LoopBuffer(ramp_clip(10_000), 0)
    clock = AudioClock(lb, latency_samples=0, sample_rate=SR)
    play(lb, 2000, [500])
    # Right after a fill the heard sample is the first of that buffer ...
    assert 1500 <= clock.position_samples() <= 1600
    time.sleep(0.05)  # ... and it never runs past the buffer's end (~2200 samples later)
    assert clock.position_samples() == 2000


def test_offline_clock():
    c = OfflineClock(2.0, sample_rate=100)
    c.set_time(5.0)
    assert c.phase() == pytest.approx(0.5)
    assert c.position_samples() == 100
    assert c.loop_count() == 2
    c2 = OfflineClock.for_clip(np.zeros(441, np.float32), 44100)
    c2.set_time(0.015)
    assert c2.phase() == pytest.approx(0.5)
    assert 0.0 <= c2.phase() < 1.0


# ------------------------------------------------------------------ device lookup


class FakePA:
    """Just enough of pyaudio.PyAudio for find_output_device."""

    def __init__(self, devices, default=None):
        self.devices = devices  # list of (name, max output channels)
        self.default = default

    def get_device_count(self):
        return len(self.devices)

    def get_device_info_by_index(self, i):
        name, ch = self.devices[i]
        return {"index": i, "name": name, "maxOutputChannels": ch}

    def get_default_output_device_info(self):
        if self.default is None:
            raise OSError("No Default Output Device Available")
        return self.get_device_info_by_index(self.default)


def test_find_output_device():
    pa = FakePA([("Mic", 0), ("sysdefault", 2), ("default", 128), ("USB Speaker", 2)],
                default=2)
    assert find_output_device(pa, "") == 2
    assert find_output_device(pa, "3") == 3
    assert find_output_device(pa, "DEFAULT") == 2  # exact name beats 'sysdefault'
    assert find_output_device(pa, "speak") == 3
    with pytest.raises(AudioUnavailable, match="'0'"):
        find_output_device(pa, "0")  # an input-only device
    with pytest.raises(AudioUnavailable, match="'nope'.*USB Speaker"):
        find_output_device(pa, "nope")
    assert find_output_device(FakePA([]), "") is None


# ------------------------------------------------------------------ real stream


def test_stream_runs_at_real_rate(jack_server):
    clip = sine(SR // 2, 220, 0.0, amp=0.2)  # 0.5 s loop
    lb = LoopBuffer(clip, crossfade=256, serial=1)
    with AudioOutput(lb, SR, 512, volume=0.5) as out:
        clock = out.clock
        time.sleep(0.3)  # let the stream settle before timing
        assert out.active and out.error is None
        f0, t0 = lb.frames_written, time.perf_counter()
        phases = []
        for _ in range(20):
            time.sleep(0.1)
            phases.append(clock.phase())
        f1, t1 = lb.frames_written, time.perf_counter()
        rate = (f1 - f0) / (t1 - t0)
        print(f"frames/s {rate:.0f}, underruns {out.underruns}, latency "
              f"{clock.latency_samples} samples, device {out.device_name!r}")
        assert abs(rate - SR) < 0.1 * SR
        assert all(0.0 <= p < 1.0 for p in phases)
        # 0.1 s steps on a 0.5 s loop: the phase moves by ~0.2 (mod 1) each time.
        steps = np.mod(np.diff(phases), 1.0)
        assert np.median(steps) == pytest.approx(0.2, abs=0.05)
        assert clock.loop_count() >= 3

        # A clip submitted to the live stream takes over within one loop.
        lb.submit(sine(SR // 4, 110, 0.0, amp=0.2), serial=2)
        deadline = time.monotonic() + 2.0
        while lb.front_serial != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert lb.front_serial == 2 and lb.loop_length == SR // 4
        out.muted = True
        before = lb.frames_written
        time.sleep(0.1)
        assert lb.frames_written > before  # muted: silent, but the loop keeps time
        assert out.error is None
    assert not out.active
    out.close()  # idempotent


def test_missing_device_raises(jack_server):
    lb = LoopBuffer(np.zeros(100, np.float32), 0)
    out = AudioOutput(lb, SR, 512, device="no-such-device-xyz")
    with pytest.raises(AudioUnavailable, match="no-such-device-xyz"):
        out.start()
    out.close()


def test_no_devices_raises_audio_unavailable():
    # A fresh process with the stock ALSA configuration and no JACK server: PortAudio
    # lists no devices at all (as on a machine with no sound card).
    env = dict(os.environ, JACK_DEFAULT_SERVER="ear3d-no-such-server",
               JACK_NO_START_SERVER="1")
    env.pop("ALSA_CONFIG_PATH", None)
    code = (
        "import numpy as np\n"
        "from ear3d.audio import AudioOutput, AudioUnavailable, LoopBuffer\n"
        "out = AudioOutput(LoopBuffer(np.zeros(10, np.float32), 0), 44100, 512)\n"
        "try:\n"
        "    out.start()\n"
        "except AudioUnavailable as e:\n"
        "    print('UNAVAILABLE:', e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "UNAVAILABLE: no audio output devices" in r.stdout
