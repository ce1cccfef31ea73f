"""Faults the soak bench (ear3d.bench.soak) injects into the running live loop, one after
another, each counted: the audio server dies and comes back, the MIDI port vanishes and
returns, OSC receives garbage, the worker raises in the middle of a step or gets a NaN, the
worker process is killed, an origin clip file is unreadable, a session file is corrupt, the
disk is full while recording, and the window is resized to tiny and huge sizes, hidden,
minimised, fullscreen and back.

Each fault is a generator that the frame loop advances between frames (``yield s``: come back
after s seconds), so the picture keeps drawing while it happens. A fault survives when it
raised no FaultFailed, frames kept being drawn, no frame raised, and the session's state
(everything but the parameters the MIDI and OSC traffic move) is what it was before.
The worker faults need no test hook in the worker. With the thread worker they monkeypatch
the bench's own worker instance (the next ``hear`` of a step raises or turns NaN); with the
worker process (``optimize.worker = auto`` on a CPU, what ``ear3d live`` runs) they send it a
scripted objective, the app's own target, whose first evaluation in a step raises or is NaN
(it crosses to the process by value, as any scripted objective does), and give the target
back afterwards. worker_kill kills the worker process (SIGKILL) while it steps: it is
restarted with the last good clip (skipped with the thread worker).
"""

from __future__ import annotations

import functools
import logging
import os
import resource
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ear3d.bench import Row

# INFO (ear3d -v): which fault, and which step of it, is under way — what a crash report needs
# when a native library takes the process down and no Python record survives.
log = logging.getLogger(__name__)

FAULTS = ("osc_garbage", "worker_raise", "worker_nan", "worker_kill", "session_corrupt", "origin_unreadable",
          "disk_full", "midi_unplug", "audio_server", "window")
#: The "full disk" a recording runs into: a tmpfs of FULL_DISK (else a file size limit of FREE_BYTES).
FULL_DISK = "1m"
FREE_BYTES = 16 * 1024
#: Seconds after a fault during which audio underruns still count as the fault's.
FAULT_GRACE_S = 10.0


class FaultFailed(RuntimeError):
    """The show did not go on (the message says what was lost)."""


@dataclass
class FaultRecord:
    """One injected fault: what the user saw, what was lost, whether the show went on."""

    name: str
    skipped: str = ""  # why it did not run
    started: float = 0.0
    ended: float = 0.0
    seen: str = ""
    lost: str = "nothing"
    survived: bool = False
    frames_during: int = 0
    recovery_s: float = float("nan")
    warnings: list[str] = field(default_factory=list)

    def rows(self) -> list[Row]:
        case = f"fault {self.name}"
        if self.skipped:
            return [Row(case, f"skipped: {self.skipped}", 0, "flag")]
        rows = [Row(case, "injected", 1, "count"), Row(case, "survived", float(self.survived), "flag"),
                Row(case, "frames drawn during", self.frames_during, "frames"),
                Row(case, "seconds", self.ended - self.started, "s"),
                Row(case, f"seen: {self.seen[:160]}", len(self.warnings), "warnings"),
                Row(case, f"lost: {self.lost[:160]}", 0.0 if self.lost == "nothing" else 1.0, "flag")]
        if self.recovery_s == self.recovery_s:
            rows.append(Row(case, "recovered after", self.recovery_s, "s"))
        return rows


def selected(spec: str) -> list[str]:
    """The fault names ``--faults`` asks for ('all' or a comma list); ValueError for unknown ones."""
    if not spec:
        return []
    names = list(FAULTS) if spec == "all" else [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {unknown[0]!r}; known: {', '.join(FAULTS)}")
    return names


def until(condition: Callable[[], bool], timeout: float, what: str) -> Generator[float, None, None]:
    """Yield (letting frames draw) until ``condition()``; FaultFailed(``what``) after ``timeout`` s."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise FaultFailed(f"{what} (after {timeout:g} s)")
        yield 0.05


class FaultRunner:
    """Runs the faults one after another between ``start`` and ``end`` seconds of the soak."""

    def __init__(self, soak: Any, names: list[str], start: float, end: float):
        self.soak = soak
        self.records: list[FaultRecord] = []
        self.queue: list[tuple[FaultRecord, Callable[..., Generator[float, None, None]]]] = []
        for name in names:
            record = FaultRecord(name)
            self.records.append(record)
            reason = self._skip_reason(name)
            if reason:
                record.skipped = reason
            else:
                self.queue.append((record, FAULT_FUNCTIONS[name]))
        self.t0 = time.perf_counter()
        n = max(1, len(self.queue))
        self.times = [start + i * (end - start) / n for i in range(n)]
        self._current: tuple[FaultRecord, Generator[float, None, None]] | None = None
        self._wake = 0.0
        self._before: dict[str, Any] = {}
        self._frames0 = self._crashes0 = self._warn0 = self._started = 0

    def _skip_reason(self, name: str) -> str:
        if name == "window" and not self.soak.real_window:
            return "needs a real window (set DISPLAY, e.g. under Xvfb)"
        if name == "audio_server" and self.soak.jack is None:
            return "needs jackd (apt jackd2)"
        if name == "worker_kill" and self.soak.worker_kind != "process":
            return "needs the worker process (the thread worker is the app's own thread)"
        return ""

    @property
    def active(self) -> bool:
        return self._current is not None

    def step(self, now: float, start_more: bool = True) -> None:
        """Called once a frame: start the next fault when due, advance the current one."""
        if self._current is None:
            if not start_more or not self.queue or now - self.t0 < self.times[self._started]:
                return
            self._started += 1
            record, fault = self.queue.pop(0)
            app = self.soak.app
            record.started = now
            log.info("soak: fault %s starts", record.name)
            self._before = self.soak.state()
            self._frames0, self._crashes0 = app.frames_drawn, self.soak.counters.crashes
            self._warn0 = len(self.soak.warnings.records)
            self.soak.script_paused = True
            self._current = (record, fault(self.soak, record))
            self._wake = now
        if now < self._wake:
            return
        assert self._current is not None  # a fault is under way (started above or before)
        record, gen = self._current
        try:
            wait = next(gen)
        except StopIteration:
            self._end(record, now, None)
        except FaultFailed as e:
            self._end(record, now, str(e))
        except Exception as e:  # noqa: BLE001  (the app raised into the fault's call: not survived)
            self._end(record, now, f"{type(e).__name__}: {e}")
        else:
            self._wake = now + (wait or 0.0)

    def _end(self, record: FaultRecord, now: float, failure: str | None) -> None:
        soak, app = self.soak, self.soak.app
        self._current = None
        soak.script_paused = False
        soak.fault_window_until = now + FAULT_GRACE_S
        record.ended = now
        record.frames_during = app.frames_drawn - self._frames0
        record.warnings = [m for _, _, m in soak.warnings.records[self._warn0:]]
        problems = []
        if failure:
            problems.append(failure)
        if record.frames_during <= 0:
            problems.append("no frame was drawn")
        crashes = soak.counters.crashes - self._crashes0
        if crashes:
            problems.append(f"{crashes} frames raised ({soak.counters.crash_messages[-1:]})")
        after = soak.state()
        changed = [k for k in self._before if self._before[k] != after[k]]
        if changed:
            diff = ", ".join(f"{k}: {self._before[k]!r} → {after[k]!r}" for k in changed if k != "params")
            if "params" in changed:
                diff += " params " + ", ".join(f"{k}: {v} → {after['params'].get(k)}"
                                               for k, v in self._before["params"].items()
                                               if after["params"].get(k) != v)
            problems.append(f"state changed: {diff}")
        if app.session is None or not app.session.worker.alive:
            problems.append("the worker is gone")
        if problems:
            record.lost = "; ".join(problems)
        record.survived = not problems
        if not record.seen:
            record.seen = record.warnings[0] if record.warnings else "nothing"

    def finish(self, now: float) -> None:
        """The soak is over: a fault still running fails; faults never started are marked."""
        if self._current is not None:
            self._current[1].close()
            self._end(self._current[0], now, "the soak ended before the fault was over")
        for record, _ in self.queue:
            record.skipped = "the soak ended before its turn (run longer)"
        self.queue = []


# -- the faults ---------------------------------------------------------------------------------


def osc_garbage(soak: Any, rec: FaultRecord) -> Generator[float, None, None]:
    """Random datagrams, truncated packets, wrong types and unknown addresses at the OSC port."""
    from pythonosc.osc_message_builder import build_msg

    osc = soak.app.control.osc
    if osc is None:
        raise FaultFailed("OSC is not listening")
    before = dict(osc.counts)
    rng = np.random.default_rng(17)
    garbage = [rng.bytes(int(n)) for n in rng.integers(1, 2000, 150)]
    garbage += [b"", b"/", b"#bundle\x00", b"/ear3d/bloom\x00\x00\x00\x00,f\x00\x00", b"\xff" * 60000]
    garbage += [build_msg("/ear3d/bloom", ["loud"]).dgram, build_msg("/ear3d/no_such_thing", [1.0]).dgram,
                build_msg("/ear3d/bloom", [1.0, 2.0]).dgram, build_msg("/ear3d/action/recall_scene", ["x"]).dgram,
                build_msg("/ear3d/register", [70000]).dgram]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in garbage:
            try:
                sock.sendto(data, osc.address)
            except OSError:
                pass  # a datagram too big for loopback: the kernel refused it, nothing to count
    yield 1.0
    applied = osc.counts["applied"]
    yield from until(lambda: osc.counts["applied"] > applied, 10, "no OSC message applied after the garbage")
    bad = {k: osc.counts[k] - before[k] for k in ("malformed", "bad", "unknown")}
    if bad["malformed"] < 100:
        raise FaultFailed(f"only {bad['malformed']} malformed datagrams counted of {len(garbage) - 6}")
    rec.seen = (f"nothing on screen; counted {bad['malformed']} malformed datagrams, {bad['bad']} bad values, "
                f"{bad['unknown']} unknown addresses (logged at debug level)")


def _patch_hear_once(worker: Any, spoil: Callable[[Any], Any]) -> None:
    """Make the worker's next ``hear`` (called in the middle of a step) go through ``spoil``;
    the patch removes itself (an instance attribute over the class's method)."""
    son = worker.sonifier
    original = type(son).hear

    def hear(*args: Any, **kwargs: Any) -> Any:
        del son.hear
        return spoil(original(son, *args, **kwargs))

    son.hear = hear


def _worker_fault(soak: Any, rec: FaultRecord, spoil: Callable[[Any], Any],
                  expect: str) -> Generator[float, None, None]:
    app = soak.app
    worker = app.session.worker
    son = worker.sonifier
    if son.objective is None:
        raise FaultFailed("the optimizer was not running before the fault")
    version = worker.errors.peek()[0]
    clip_serial = app.playback.latest.serial
    _patch_hear_once(worker, spoil)
    t0 = time.perf_counter()
    yield from until(lambda: worker.errors.peek()[0] != version, 120, "the worker did not report the fault")
    yield 0.2
    _status_shows(app, rec, expect)
    steps = son.steps
    yield from until(lambda: son.steps > steps and son.objective is not None, 120,
                     "the optimizer did not go on after the failure")
    rec.recovery_s = time.perf_counter() - t0
    _check_loop_goes_on(app, clip_serial)


def _status_shows(app: Any, rec: FaultRecord, expect: str) -> None:
    """The status line names the failure (``expect`` in it); it is what the user saw."""
    status = app.status()["last_error"]
    if expect not in status:
        raise FaultFailed(f"the status line does not show the failure: {status!r}")
    rec.seen = f"status line: {status}"


def _until_stepping(worker: Any) -> Generator[float, None, None]:
    """Wait until the worker publishes a new frame (it optimizes)."""
    frame_version = worker.frames.peek()[0]
    yield from until(lambda: worker.frames.peek()[0] > frame_version, 120, "the optimizer was not stepping")


def _check_loop_goes_on(app: Any, clip_serial: int) -> None:
    """After a worker fault: the loop plays a finite clip no older than ``clip_serial``."""
    latest = app.playback.latest
    if not np.isfinite(latest.samples).all():
        raise FaultFailed("the loop now plays a non-finite clip")
    if latest.serial < clip_serial:
        raise FaultFailed("the loop went back to an older clip")


def worker_steps(worker: Any) -> int:
    """Optimisation steps since the origin: the sonifier's count (thread worker), else the
    newest frame's (worker process)."""
    son = getattr(worker, "sonifier", None)
    if son is not None:
        return int(son.steps)
    frame = worker.frames.peek()[1]
    return int(frame.step) if frame is not None else 0


def worker_raise(soak: Any, rec: FaultRecord) -> Generator[float, None, None]:
    """An exception in the middle of a step (after the forward pass, before the backward pass)."""

    def boom(heard: Any) -> Any:
        raise RuntimeError("injected fault in the middle of a step")

    if getattr(soak.app.session.worker, "sonifier", None) is not None:
        yield from _worker_fault(soak, rec, boom, "injected fault")
    else:
        yield from _worker_process_fault(soak, rec, "raise", "injected fault")


def worker_nan(soak: Any, rec: FaultRecord) -> Generator[float, None, None]:
    """NaN activations in the middle of a step: the loss and the proposed clip are not finite."""

    def poison(heard: Any) -> Any:
        heard.evaluated = {k: v * float("nan") for k, v in heard.evaluated.items()}
        return heard

    if getattr(soak.app.session.worker, "sonifier", None) is not None:
        yield from _worker_fault(soak, rec, poison, "non-finite")
    else:
        yield from _worker_process_fault(soak, rec, "nan", "non-finite")


def _failing_once(target: dict, kind: str) -> Any:
    """A scripted objective: the ``select`` region ``target``, whose first evaluation raises
    (``kind`` "raise") or is NaN ("nan"); picklable by value (cloudpickle), so that it fails
    once inside a worker process."""
    from ear3d.ml.objectives import Objective, Selection, combine

    selection = Selection.parse(target)
    objective = combine([selection])
    assert objective is not None
    fired = [False]  # the process's own copy

    def fn(acts: Any) -> Any:
        value = objective(acts)
        if not fired[0]:
            fired[0] = True
            if kind == "raise":
                raise RuntimeError("injected fault in the middle of a step")
            return value * float("nan")
        return value

    return Objective(fn, f"{objective.name}, failing once ({kind})", (selection,))


def _worker_process_fault(soak: Any, rec: FaultRecord, kind: str, expect: str) -> Generator[float, None, None]:
    from ear3d.control.sonify import selection
    from ear3d.messages import Command

    app = soak.app
    worker = app.session.worker
    version = worker.errors.peek()[0]
    yield from _until_stepping(worker)
    clip_serial = app.playback.latest.serial
    target = selection(app.params.snapshot(), app.layer_names)
    worker.send(Command("objective", _failing_once(target, kind)))
    t0 = time.perf_counter()
    yield from until(lambda: worker.errors.peek()[0] != version, 120, "the worker did not report the fault")
    yield 0.2
    _status_shows(app, rec, expect)
    steps = worker_steps(worker)
    yield from until(lambda: worker_steps(worker) > steps, 120, "the optimizer did not go on after the failure")
    rec.recovery_s = time.perf_counter() - t0
    worker.send(Command("select", selection(app.params.snapshot(), app.layer_names)))  # the app's target back
    _check_loop_goes_on(app, clip_serial)


def worker_kill(soak: Any, rec: FaultRecord) -> Generator[float, None, None]:
    """SIGKILL to the worker process while it steps: it is restarted with the last good clip."""
    app = soak.app
    worker = app.session.worker
    version, pid = worker.errors.peek()[0], worker.pid
    yield from _until_stepping(worker)
    clip_serial = app.playback.latest.serial
    os.kill(pid, signal.SIGKILL)
    t0 = time.perf_counter()
    yield from until(lambda: worker.errors.peek()[0] != version, 60, "the worker did not report its death")
    yield 0.2
    _status_shows(app, rec, "worker process died")
    frame_version = worker.frames.peek()[0]
    yield from until(lambda: worker.pid != pid and worker.frames.peek()[0] > frame_version, 300,
                     "no frame from a new worker process")
    rec.recovery_s = time.perf_counter() - t0
    _check_loop_goes_on(app, clip_serial)


def session_corrupt(soak: Any, rec: FaultRecord) -> Generator[float, None, None]:
    """Loading a session file of binary garbage, then one cut in half: one-line errors, nothing changes."""
    app = soak.app
    path = app.session_path
    good = app.save_session(path).read_text()
    seen = []
    for corrupt in (b"\x00\xff\xfe[[[ not toml \x00" * 20, good[: len(good) // 2].encode() + b"\n[broken"):
        path.write_bytes(corrupt)
        errors = app.errors
        from ear3d.messages import Command

        app.command(Command("app:load_session"))
        yield 0.2
        if app.errors != errors + 1:
            raise FaultFailed("loading a corrupt session file gave no error")
        if "\n" in app.last_error:
            raise FaultFailed(f"the error is not one line: {app.last_error!r}")
        seen.append(app.last_error)
    path.write_text(good)
    rec.seen = " | ".join(s[:100] for s in seen)


def origin_unreadable(soak: Any, rec: FaultRecord) -> Generator[float, None, None]:
    """An origin clip file that is garbage, then one that disappeared: errors, the loop plays on."""
    from ear3d.clips import write_wav
    from ear3d.messages import Command

    app = soak.app
    worker = app.session.worker
    sr = soak.config.audio.sample_rate
    path = soak.dir / "origin-unreadable.wav"
    write_wav(path, (0.1 * np.random.default_rng(0).uniform(-1, 1, sr)).astype(np.float32), sr)
    path.write_bytes(os.urandom(3000))  # it became unreadable (as root, chmod 000 would not stop a read)
    seen = []
    for case in ("garbage", "gone"):
        if case == "gone":
            path.unlink()
        version, errors = worker.errors.peek()[0], app.errors
        app.command(Command("app:origin", str(path)))
        def answered(v: int = version, e: int = errors) -> bool:
            return worker.errors.peek()[0] != v or app.errors != e

        yield from until(answered, 30,
                         f"no error for an origin file that is {case}")
        yield 0.2
        seen.append(app.last_error)
    rec.seen = " | ".join(s[:100] for s in seen)


def disk_full(soak: Any, rec: FaultRecord) -> Generator[float, None, None]:
    """The disk fills while recording: a tmpfs of FULL_DISK (mount needs root) filled up a second
    after the recording starts, else RLIMIT_FSIZE on the encoder. The encoder fails when it next
    writes (the recording stops by itself) or, for a picture that compresses well, when the
    recording is stopped (F9): either way one message, and drawing, sound and the session go on."""
    from ear3d.messages import Command

    app = soak.app
    full = soak.dir / "full-disk"
    full.mkdir(exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FULL_DISK}", "tmpfs", str(full)],
                             capture_output=True, check=False).returncode == 0
    out_dir, temp = app.out_dir, tempfile.tempdir
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    how = f"a {FULL_DISK} tmpfs filled up" if mounted else f"RLIMIT_FSIZE {FREE_BYTES // 1024} KiB on the encoder"
    try:
        app.out_dir, tempfile.tempdir = full, str(full)
        if not mounted:  # the encoder inherits the limit; this process gets its own back at once
            resource.setrlimit(resource.RLIMIT_FSIZE, (FREE_BYTES, limit[1]))
        try:
            app.command(Command("app:record"))
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, limit)
            tempfile.tempdir = temp
        if app.recording is None:
            raise FaultFailed(f"the recording did not start: {app.last_error}")
        yield 1.0
        if mounted:  # the disk is full from now on
            stat = os.statvfs(full)
            with open(full / "filler", "wb") as f:
                try:
                    f.write(b"\0" * (stat.f_bavail * stat.f_frsize))
                except OSError:
                    pass
        t0 = time.perf_counter()
        errors = app.errors
        deadline = t0 + 4.0
        while app.recording is not None and time.perf_counter() < deadline:
            yield 0.1
        how += ", stopped by itself" if app.recording is None else ", stopped with F9"
        if app.recording is not None:
            app.command(Command("app:record"))
        if app.recording is not None or app.errors != errors + 1:
            raise FaultFailed(f"the recording on a full disk did not end with one message ({app.last_error!r})")
        rec.recovery_s = time.perf_counter() - t0
        yield 0.5
        rec.seen = f"({how}) {app.last_error}"
    finally:
        if app.recording is not None:
            app.recording.abort()
            app.recording = None
        app.out_dir = out_dir
        if mounted:
            subprocess.run(["umount", "-l", str(full)], capture_output=True, check=False)


def midi_unplug(soak: Any, rec: FaultRecord) -> Generator[float, None, None]:
    """The controller's port vanishes, then returns: one warning, its mapping back, messages arrive."""
    midi = soak.midi
    yield from until(lambda: midi.connected, 10, "the MIDI port was not connected before the fault")
    midi.unplug()
    yield from until(lambda: not midi.connected, 10, "the app did not notice the port vanish")
    yield 1.0
    t0 = time.perf_counter()
    midi.plug()
    yield from until(lambda: midi.connected, 15, "the port was not reopened when it returned")
    received = midi.counts().get("received", 0)
    yield from until(lambda: midi.counts().get("received", 0) > received, 10, "no MIDI arrived after the return")
    rec.recovery_s = time.perf_counter() - t0


def audio_server(soak: Any, rec: FaultRecord) -> Generator[float, None, None]:
    """kill -9 the JACK server, wait, start it again under the same name: one warning, the picture
    follows the wall clock meanwhile, the sound comes back by itself (the automatic retry)."""
    app, jack = soak.app, soak.jack
    playback = app.playback
    yield from until(lambda: playback.output is not None, 30, "no sound before the fault")
    warn0 = len(soak.warnings.records)
    jack.kill()
    t_kill = time.perf_counter()
    yield from until(lambda: playback.output is None, 15, "the app did not notice the server die")
    detect = time.perf_counter() - t_kill
    phase = playback.phase()
    yield 2.0
    if playback.phase() == phase:
        raise FaultFailed("the loop clock stood still without sound")
    jack.launch()
    yield from until(jack.ready, 30, "jackd did not start again")
    t_back = time.perf_counter()
    yield from until(lambda: playback.output is not None, 120, "the sound did not come back by itself")
    rec.recovery_s = time.perf_counter() - t_back
    messages = [m for _, _, m in soak.warnings.records[warn0:]]
    lost = [m for m in messages if m.startswith("no sound")]
    if len(lost) != 1:
        raise FaultFailed(f"{len(lost)} 'no sound' warnings, not one: {lost}")
    back = next((m for m in messages if "sound is back" in m), "")
    rec.seen = f"{lost[0]} (after {detect:.1f} s) … {back}"


def window(soak: Any, rec: FaultRecord) -> Generator[float, None, None]:
    """Tiny and huge window sizes, hidden and shown, minimised and restored, fullscreen and back."""
    live = soak.live
    wnd, app = live.wnd, live.app
    size0 = wnd.size
    steps: list[tuple[str, Callable[[], None]]] = [
        (f"{w}x{h}", functools.partial(setattr, wnd, "size", (w, h)))
        for w, h in ((1, 1), (2, 2), (17, 9), (3840, 2160), (200, 1600))]
    steps += [("hidden", lambda: setattr(wnd, "visible", False)), ("shown", lambda: setattr(wnd, "visible", True)),
              ("minimised", lambda: wnd._window.minimize()), ("restored", lambda: wnd._window.maximize()),
              ("fullscreen", lambda: live.set_fullscreen(True)), ("windowed", lambda: live.set_fullscreen(False)),
              ("fullscreen key", lambda: app.command(soak._command("app:fullscreen"))),
              ("fullscreen key again", lambda: app.command(soak._command("app:fullscreen"))),
              ("back", lambda: setattr(wnd, "size", size0))]
    sizes = []
    for name, action in steps:
        log.info("soak: window fault: %s", name)
        action()
        frames = app.frames_drawn
        yield 0.3
        yield from until(functools.partial(_drew_more_than, app, frames + 2), 30, f"no frames drawn while {name}")
        sizes.append(f"{name}→{wnd.buffer_size[0]}x{wnd.buffer_size[1]}")
    rec.seen = ("the picture follows: " + ", ".join(sizes) +
                " (minimise/restore are requests a window manager carries out; plain Xvfb has none)")


FAULT_FUNCTIONS: dict[str, Callable[[Any, FaultRecord], Generator[float, None, None]]] = {
    "osc_garbage": osc_garbage, "worker_raise": worker_raise, "worker_nan": worker_nan, "worker_kill": worker_kill,
    "session_corrupt": session_corrupt, "origin_unreadable": origin_unreadable, "disk_full": disk_full,
    "midi_unplug": midi_unplug, "audio_server": audio_server, "window": window,
}


def print_table(records: list[FaultRecord]) -> None:
    """The faults table: fault, survived, what the user sees, what was lost."""
    if not records:
        return
    print("\nfaults:")
    for r in records:
        if r.skipped:
            print(f"  {r.name:18s} skipped ({r.skipped})")
            continue
        print(f"  {r.name:18s} {'survived' if r.survived else 'FAILED  '}  seen: {r.seen}\n"
              f"  {'':18s}           lost: {r.lost}")


def _drew_more_than(app: Any, frames: int) -> bool:
    """Whether ``app`` has drawn more than ``frames`` frames."""
    return bool(app.frames_drawn > frames)
