"""The live loop for a long time under load, with faults injected while it runs.

`ear3d bench soak --minutes M [--faults [LIST]] --json FILE` runs the live window (a real one
when DISPLAY is set, e.g. under Xvfb; else an offscreen EGL window) with the optimizer running
flat out, sound into a JACK dummy server of its own (when jackd is installed), MIDI into the
app (JACK virtual ports, else mido ports handed over with ``add_port``) and OSC datagrams over
UDP loopback, the camera dragged and zoomed and parameters changed on a script. It reports
resident memory over time (start, end, slope per hour after the warm-up), GL objects and
GPU-buffer bytes, frame times, audio underruns (outside and inside injected faults), worker
steps and errors, and control messages received, coalesced and dropped. The faults
(ear3d.bench.soak_faults) each get a row: injected, survived, what the user sees.

It runs the worker and the audio engine ``ear3d live`` runs by default (``optimize.worker =
auto``: a worker process on a CPU; ``audio.engine = process``), so that its underruns are
those of the live app; ``--set optimize.worker=thread`` runs the thread worker (then
worker_kill is skipped). Adaptive quality is off: it would switch MSAA and bloom targets with
the load and move the GL object count the soak compares. The measurements start once the show is up (sound
playing, the MIDI port open), and a hang ends the run with every thread's stack on stderr.
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import math
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ear3d.bench import Row, census
from ear3d.config import Config

HELP = "the live loop for M minutes under load (optimizer, audio, MIDI, OSC, camera) with faults injected"

log = logging.getLogger(__name__)

#: The virtual MIDI port the soak plays into the app (and the app's midi_input pattern).
MIDI_PORT = "ear3d-soak-ctl"
#: The mido backend for MIDI through JACK's virtual ports.
JACK_MIDI = "mido.backends.rtmidi/UNIX_JACK"
#: Parameters moved by the MIDI and OSC traffic (left out of the "state kept" comparison).
TRAFFIC_PARAMS = ("exposure", "sphere_scale", "orbit_speed", "volume", "bloom", "fog", "edge_gain")
#: (parameter, values) the script steps through, one change every SCRIPT_PERIOD_S.
SCRIPT = (("target_layer", (0, 1, 2)), ("channel_pos", (0.2, 0.5, 0.8)), ("learning_rate", (0.01, 0.02)),
          ("highlight_layer", (-1, 0, 1)), ("pitch_pos", (0.3, 0.6)))
SCRIPT_PERIOD_S = 2.0
#: Seconds between display-mode changes (each mode builds its own GL targets: a leak shows).
DISPLAY_PERIOD_S = 45.0
DISPLAY_CYCLE = ("flat", "anaglyph", "sbs", "flat")
#: Seconds between census samples (memory, threads, fds) and between GL-object censuses.
SAMPLE_S = 5.0
GL_SAMPLE_S = 30.0
#: Longest wait, after the model is ready, for the show to be up (sound playing, the MIDI port
#: open): the measurements start then. The audio process may fail to start under load (libjack
#: gives its threads a second to start) and the retry comes 5, then 10, 20 s later.
SETTLE_TIMEOUT_S = 120.0
#: Seconds without a finished frame after which the soak counts as hung: every thread's stack
#: goes to stderr, and WATCHDOG_EXIT_S later the process ends (JACK server killed first).
WATCHDOG_S = 120.0
WATCHDOG_EXIT_S = 30.0


def fault_list(spec: str) -> str:
    """argparse type of ``--faults``: the spec, checked (unknown names are a usage error)."""
    from ear3d.bench.soak_faults import selected

    try:
        selected(spec)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return spec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ear3d.bench.soak_faults import FAULTS

    parser.add_argument("--minutes", type=float, default=30.0, help="minutes of the live loop (default 30)")
    parser.add_argument("--faults", nargs="?", const="all", default="", type=fault_list,
                        help=f"inject faults while it runs: 'all' or a comma list of {', '.join(FAULTS)}")
    parser.add_argument("--warmup", type=float, default=None,
                        help="minutes before the memory slope is measured (default: a fifth of the run, ≤ 5)")
    parser.add_argument("--headless", action="store_true", help="offscreen EGL window even when DISPLAY is set")
    parser.add_argument("--no-jack", action="store_true", help="no JACK server: no sound, mido ports for MIDI")
    parser.add_argument("--midi-rate", type=float, default=50.0, help="MIDI messages per second (default 50)")
    parser.add_argument("--osc-rate", type=float, default=50.0, help="OSC messages per second (default 50)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="a tqdm bar")


# -- traffic ---------------------------------------------------------------------------------


class Traffic:
    """A thread that sends ``rate`` messages a second through ``send(i)`` until stopped;
    ``sent`` counts those that went out, ``failed`` those the transport refused."""

    def __init__(self, name: str, rate: float, send):
        self.rate = rate
        self.sent = 0
        self.failed = 0
        self.paused = False
        self._send = send
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"soak {name}", daemon=True)

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(1.0 / self.rate):
            if self.paused:
                continue
            try:
                self._send(i)
                self.sent += 1
            except Exception:  # noqa: BLE001  (a port or server that is gone: count it, go on)
                self.failed += 1
            i += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)


def _wave(i: int, period: int, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo + (hi - lo) * (0.5 - 0.5 * math.cos(2 * math.pi * i / period))


class MidiFeed:
    """MIDI into the app: a JACK virtual output port its watcher finds (``jack=True``), else a
    mido callback port handed over with ``add_port``. ``unplug``/``plug`` make it vanish and
    return."""

    def __init__(self, app: Any, jack: bool, rate: float):
        import mido

        self.app, self.jack = app, jack
        self.backend = mido.Backend(JACK_MIDI) if jack else None
        self.port: Any = None
        self.device: Any = None
        self.plug()
        messages = [mido.Message("control_change", control=cc, value=int(_wave(i, 128, 0, 127)))
                    for i in range(128) for cc in (74, 71, 1, 7)]
        self.traffic = Traffic("midi", rate, lambda i: self._send(messages[i % len(messages)])).start()

    def _send(self, msg: Any) -> None:
        port = self.port
        if port is None:
            raise OSError("unplugged")
        if self.jack:
            port.send(msg)
        else:
            port.callback(msg)

    def plug(self) -> None:
        import mido

        if self.backend is not None:  # the JACK MIDI backend
            self.port = self.backend.open_output(MIDI_PORT, virtual=True)
        else:
            port = mido.ports.BaseInput(MIDI_PORT)
            port.callback = None
            if self.device is None:
                self.device = self.app.control.add_port(port, name=MIDI_PORT)
            else:
                self.device.attach(port)
            self.port = port

    def unplug(self) -> None:
        port, self.port = self.port, None
        if self.jack:
            if port is not None:
                port.close()
        elif self.device is not None:
            self.device.detach()

    @property
    def connected(self) -> bool:
        """Whether the app has the port open now."""
        return any(d.name.endswith(MIDI_PORT) and d.connected for d in self.app.control.devices)

    def counts(self) -> dict[str, int]:
        """The app's counts for this controller (received, mapped, dropped, …)."""
        for d in self.app.control.devices:
            if d.name.endswith(MIDI_PORT):
                return d.router.counts
        return {}

    def close(self) -> None:
        self.traffic.stop()
        if self.jack and self.port is not None:
            self.port.close()
        self.port = None


class OscFeed:
    """OSC datagrams into the app's server from a python-osc client (UDP loopback)."""

    def __init__(self, address: tuple[str, int], rate: float):
        from pythonosc.udp_client import SimpleUDPClient

        self.address = address
        self.client = SimpleUDPClient(*address)
        paths = ("/ear3d/bloom", "/ear3d/fog/normalized", "/ear3d/edge_gain/normalized")
        self.traffic = Traffic("osc", rate, lambda i: self.client.send_message(
            paths[i % len(paths)], _wave(i, 300, 0.1, 0.9))).start()

    def close(self) -> None:
        self.traffic.stop()


# -- the run ------------------------------------------------------------------------------------


class WarningLog(logging.Handler):
    """Every warning logged (time, logger, message): what the user sees on the console."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[tuple[float, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((time.perf_counter(), record.name, record.getMessage()))

    def since(self, t: float) -> list[str]:
        return [m for when, _, m in self.records if when >= t]


@dataclass
class Sample:
    t: float  # seconds since the network was ready
    rss: int
    threads: int
    fds: int
    children: int
    gl: int | None = None
    gpu_bytes: int | None = None


@dataclass
class Counters:
    underruns_clean: int = 0
    underruns_faults: int = 0
    worker_steps: int = 0
    worker_errors: int = 0
    crashes: int = 0
    crash_messages: list[str] = field(default_factory=list)
    commands_drained: dict[str, int] = field(default_factory=lambda: {"midi": 0, "osc": 0})


class Soak:
    """One soak run: the window, the traffic, the script, the faults and the measurements."""

    def __init__(self, args: argparse.Namespace, config: Config):
        from ear3d.bench.jack_dummy import JackDummy, JackUnavailable, route_audio_to_jack
        from ear3d.bench.soak_faults import selected

        self.args = args
        self.fault_names = selected(args.faults)
        self.tmp = tempfile.TemporaryDirectory(prefix="ear3d-soak-")
        self.dir = Path(self.tmp.name)
        self.jack: JackDummy | None = None
        if not args.no_jack:
            name = f"ear3d-soak-{os.getpid()}"
            route_audio_to_jack(name)
            try:
                self.jack = JackDummy(name).start()
            except JackUnavailable as e:
                log.warning("soak: %s; no sound, MIDI through mido ports", e)
        # rtmidi's JACK clients do not survive their server's restart (the watcher keeps a dead port
        # as connected; deleting such a client segfaults, rtmidi 1.5): with the audio_server fault,
        # MIDI goes through mido ports handed over with add_port instead.
        self.jack_midi = self.jack is not None and "audio_server" not in self.fault_names
        if self.jack_midi:  # mido read MIDO_BACKEND when imported: set the backend itself
            import mido

            mido.set_backend(JACK_MIDI)
        control = {"osc": True, "osc_port": 0, "hot_plug_s": 0.5,
                   "midi_input": [MIDI_PORT] if self.jack_midi else []}
        audio = {"device": ""} if self.jack is not None else {"device": "no-such-device"}
        self.config = config.replace({"control": control, "audio": audio})
        from ear3d.worker_client import worker_kind

        self.worker_kind = worker_kind(self.config)
        self.warnings = WarningLog()
        logging.getLogger().addHandler(self.warnings)
        self.real_window = bool(os.environ.get("DISPLAY")) and not args.headless
        self.live: Any = None
        self.midi: MidiFeed | None = None
        self.osc: OscFeed | None = None
        self.samples: list[Sample] = []
        self.frame_times: list[float] = []
        self.counters = Counters()
        self.faults: list[Any] = []
        self.fault_window_until = -1.0  # underruns before this time count as the faults'
        self.script_paused = False
        self.osc_counts: dict[str, int] = {}
        self.playing_at_end = False
        self.settled_s = float("nan")
        self.unsettled: list[str] = []  # what was not up when the measurements started
        self.files_start: dict[int, str] = {}
        self.files_end: dict[int, str] = {}
        self._progress = time.perf_counter()  # the watchdog's: when the last frame finished
        self._watchdog_stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    # -- setup ----------------------------------------------------------------------------

    def open(self) -> None:
        from ear3d.live_window import LiveWindow

        backend = None if self.real_window else "headless"
        self.live = LiveWindow(self.config, backend=backend, session_path=self.dir / "session.toml",
                               out_dir=self.dir / "out")
        app = self.live.app
        app.session_path.parent.mkdir(parents=True, exist_ok=True)
        start = last = time.perf_counter()
        while app.loading:  # the loading screen draws while the model loads
            now = time.perf_counter()
            self._frame(now - last)
            last = now
            if now - start > 600:
                raise TimeoutError("the model was not ready after 600 s")
        if not app.params.get("sonify"):
            app.command(self._command("sonify", 1))
        drain = app.control.drain

        def counted_drain() -> list:  # how many commands the coalesced traffic became
            commands = drain()
            for c in commands:
                key = "osc" if c.name in ("bloom", "fog", "edge_gain") else "midi"
                self.counters.commands_drained[key] += 1
            return commands

        app.control.drain = counted_drain
        self.midi = MidiFeed(app, self.jack_midi, self.args.midi_rate)
        osc = app.control.osc
        if osc is not None:
            self.osc = OscFeed(osc.address, self.args.osc_rate)

    def not_up(self) -> list[str]:
        """What of the show is not up yet: sound (with a JACK server), the MIDI port, a frame."""
        app, missing = self.app, []
        if self.jack is not None and (app.playback is None or app.playback.output is None):
            missing.append("sound")
        if self.midi is not None and not self.midi.connected:
            missing.append("the MIDI port")
        if app.frames_drawn < 1:
            missing.append("a frame")
        return missing

    def settle(self) -> None:
        """Draw until the show is up (:meth:`not_up` empty; at most SETTLE_TIMEOUT_S): the start
        figures (memory, threads, file descriptors) are then those of the running show, not of
        a start that is still under way — an audio process that is still starting, or that is
        being retried, holds other files than one that plays."""
        start = last = time.perf_counter()
        while (missing := self.not_up()) and last - start < SETTLE_TIMEOUT_S:
            time.sleep(0.02)
            now = time.perf_counter()
            self._frame(now - last)
            last = now
        self.settled_s = last - start
        self.unsettled = missing
        if missing:
            log.warning("soak: %s not up after %.0f s; measuring anyway", " and ".join(missing), self.settled_s)

    # -- the watchdog -------------------------------------------------------------------------

    def _start_watchdog(self) -> None:
        """A hang (a call that never returns) ends the soak with every thread's stack on stderr
        instead of holding a test or a night run forever. faulthandler's dump works while a
        C call holds the interpreter lock; the exit needs this thread to run."""
        faulthandler.enable()  # a crash (SIGSEGV in a native library) also leaves its stacks
        faulthandler.dump_traceback_later(WATCHDOG_S, exit=False)
        self._watchdog = threading.Thread(target=self._watch, name="soak watchdog", daemon=True)
        self._watchdog.start()

    def _watch(self) -> None:
        while not self._watchdog_stop.wait(1.0):
            stuck = time.perf_counter() - self._progress
            if stuck > WATCHDOG_S + WATCHDOG_EXIT_S:
                log.error("soak: no frame finished for %.0f s: hung (stacks above); ending the process", stuck)
                if self.jack is not None:
                    self.jack.kill()
                os._exit(3)

    def _stop_watchdog(self) -> None:
        faulthandler.cancel_dump_traceback_later()
        self._watchdog_stop.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=5.0)
            self._watchdog = None

    def _alive(self) -> None:
        """Progress: the watchdog's count starts again."""
        self._progress = time.perf_counter()
        faulthandler.dump_traceback_later(WATCHDOG_S, exit=False)

    @staticmethod
    def _command(name: str, value: Any = None) -> Any:
        from ear3d.messages import Command

        return Command(name, value)

    @property
    def app(self) -> Any:
        return self.live.app

    # -- one frame --------------------------------------------------------------------------

    def _frame(self, dt: float) -> None:
        """One frame of the window; an exception is counted as a crash (a real window would
        have died) and the soak goes on to see what else breaks."""
        try:
            self.live.draw(dt)
            self.live.wnd.swap_buffers()
        except Exception as e:
            self.counters.crashes += 1
            if len(self.counters.crash_messages) < 5:
                self.counters.crash_messages.append(f"{type(e).__name__}: {e}")
            log.exception("soak: the frame raised")
        self._alive()

    def state(self) -> dict[str, Any]:
        """What a fault must not lose: the session object, every parameter the traffic does not
        move, the scenes, the kept regions and the origin."""
        app = self.app
        params = {k: v for k, v in app.params.snapshot().items() if k not in TRAFFIC_PARAMS}
        return {"session": id(app.session), "params": params, "scenes": sorted(app.scenes),
                "kept": list(app.kept), "origin": app.origin}

    def run(self) -> None:
        from tqdm import tqdm

        from ear3d.bench.soak_faults import FaultRunner, worker_steps

        args = self.args
        self._start_watchdog()
        self.open()
        self.settle()
        app = self.app
        seconds = args.minutes * 60.0
        warmup = (args.warmup * 60.0) if args.warmup is not None else min(300.0, seconds / 5)
        self.warmup_s = warmup
        runner = FaultRunner(self, self.fault_names, start=min(max(5.0, warmup / 2), seconds * 0.2), end=seconds * 0.9)
        self.faults = runner.records
        ready = last = time.perf_counter()
        next_sample = next_gl = ready
        next_script = ready + SCRIPT_PERIOD_S
        next_display = ready + DISPLAY_PERIOD_S
        script_i = display_i = 0
        drag: list[tuple[float, float]] = []
        last_out, last_under = None, 0
        worker = app.session.worker
        err_version = worker.errors.peek()[0]
        last_steps = worker_steps(worker)
        bar = tqdm(total=round(seconds), unit="s", desc="soak", disable=not args.progress)
        try:
            while True:
                now = time.perf_counter()
                t = now - ready
                if t >= seconds and not runner.active:  # a fault under way is let finish (its own timeouts)
                    break
                dt, last = now - last, now
                self._frame(dt)
                self.frame_times.append(dt)
                # audio underruns, split into those inside fault windows and the rest
                out = app.playback.output if app.playback is not None else None
                under = int(out.underruns) if out is not None else 0
                if out is not last_out:
                    last_out, last_under = out, 0
                if under > last_under:
                    if runner.active or now < self.fault_window_until:
                        self.counters.underruns_faults += under - last_under
                    else:
                        self.counters.underruns_clean += under - last_under
                    last_under = under
                # worker steps (the count restarts at an origin change or reset) and errors
                session = app.session
                if session is not None:
                    steps = worker_steps(session.worker)
                    self.counters.worker_steps += max(0, steps - last_steps) if steps >= last_steps else steps
                    last_steps = steps
                    version = session.worker.errors.peek()[0]
                    if version != err_version:
                        self.counters.worker_errors += max(1, version - err_version)
                        err_version = version
                # the script: parameters and the camera
                if now >= next_script and not self.script_paused:
                    next_script = now + SCRIPT_PERIOD_S
                    name, values = SCRIPT[script_i % len(SCRIPT)]
                    app.command(self._command(name, values[(script_i // len(SCRIPT)) % len(values)]))
                    script_i += 1
                    w, h = app.view_size
                    drag = [(w * (0.4 + 0.04 * k), h * (0.5 + 0.02 * k)) for k in range(6)]
                    app.mouse_press(*drag[0], 1)
                    if script_i % 5 == 0:
                        app.scroll(1.0 if script_i % 10 else -1.0, w / 2, h / 2)
                elif drag:
                    x, y = drag.pop(0)
                    app.mouse_move(x, y)
                    if not drag:
                        app.mouse_release(x, y, 1)
                if now >= next_display and not self.script_paused:
                    next_display = now + DISPLAY_PERIOD_S
                    display_i += 1
                    app.command(self._command("display", self._display_index(DISPLAY_CYCLE[display_i % 4])))
                runner.step(now, start_more=t < seconds)
                if now >= next_sample:
                    next_sample = now + SAMPLE_S
                    with_gl = now >= next_gl
                    if with_gl:
                        next_gl = now + GL_SAMPLE_S
                    self._sample(t, with_gl)
                    last = time.perf_counter()  # the census is the bench's time, not a frame's
                    bar.n = min(round(t), bar.total)
                    bar.set_postfix(fps=f"{app.status()['fps']:.1f}", rss=f"{self.samples[-1].rss / 2**20:.0f}M",
                                    refresh=False)
                    bar.refresh()
            runner.finish(time.perf_counter())
            # The last census in the display mode of the first (a stereo mode's eye targets are
            # the mode's, not a leak): back to it, and a frame drawn so that it applies.
            app.command(self._command("display", self._display_index(DISPLAY_CYCLE[0])))
            for _ in range(2):
                now = time.perf_counter()
                self._frame(now - last)
                last = now
            self._sample(time.perf_counter() - ready, True)
            osc = app.control.osc
            self.osc_counts = {**osc.counts, "dropped": osc.queue.dropped} if osc is not None else {}
            self.playing_at_end = app.playback is not None and app.playback.output is not None
        finally:
            bar.close()

    def _display_index(self, mode: str) -> int:
        from ear3d.config import DISPLAY_MODES

        return self.app.params.spec("display").lo + DISPLAY_MODES.index(mode)

    def _sample(self, t: float, with_gl: bool) -> None:
        c = census.take(gl=with_gl)
        files = census.open_files()
        if not self.samples:
            self.files_start = files
        self.files_end = files
        self.samples.append(Sample(t, census.rss_bytes(), len(c.threads), c.fds, len(c.children),
                                   c.gl_total if with_gl else None, c.gpu_bytes if with_gl else None))

    def close(self) -> None:
        self._alive()  # closing may take a while (the worker's step), but not forever
        for feed in (self.midi, self.osc):
            if feed is not None:
                feed.close()
        if self.live is not None:
            self.live.close()
        self._stop_watchdog()
        logging.getLogger().removeHandler(self.warnings)
        if self.jack is not None:
            self.jack.close()
        self.tmp.cleanup()

    # -- the report -------------------------------------------------------------------------

    def rows(self) -> list[Row]:
        rows: list[Row] = []
        s = self.samples
        mib = 2.0**20
        rows.append(Row("window", "real window (Xvfb/X11)" if self.real_window else "headless EGL", 1, "flag"))
        rows.append(Row("midi", "JACK virtual ports" if self.jack_midi else "mido ports (add_port)", 1, "flag"))
        rows.append(Row("worker", f"kind: {self.worker_kind}", 1, "flag"))
        if self.live is not None and self.app.playback is not None:
            rows.append(Row("audio", f"engine: {self.app.playback.engine}", 1, "flag"))
        rows.append(Row("run", "minutes", s[-1].t / 60 if s else 0.0, "min"))
        rows.append(Row("run", "show up after", self.settled_s, "s"))
        if self.unsettled:
            rows.append(Row("run", f"not up when measuring started: {', '.join(self.unsettled)}", 1, "flag"))
        if s:
            rows.append(Row("memory", "rss start", s[0].rss / mib, "MiB"))
            rows.append(Row("memory", "rss end", s[-1].rss / mib, "MiB"))
            rows.append(Row("memory", "rss max", max(x.rss for x in s) / mib, "MiB"))
            after = [x for x in s if x.t >= self.warmup_s]
            if len(after) >= 3:
                t = np.array([x.t for x in after]) / 3600.0
                slope = np.polyfit(t, np.array([x.rss for x in after]) / mib, 1)[0]
                rows.append(Row("memory", "rss slope after warm-up", float(slope), "MiB/h"))
                rows.append(Row("memory", "warm-up", self.warmup_s / 60, "min"))
            for k in range(min(len(s), 13)):  # the curve, at most 13 points
                x = s[round(k * (len(s) - 1) / max(1, min(len(s), 13) - 1))]
                rows.append(Row("memory curve", f"rss at {x.t / 60:.1f} min", x.rss / mib, "MiB"))
            objects = [x.gl for x in s if x.gl is not None]
            gpu = [x.gpu_bytes for x in s if x.gpu_bytes is not None]
            if objects:
                rows.append(Row("gl", "objects start", objects[0], "objects"))
                rows.append(Row("gl", "objects end", objects[-1], "objects"))
                rows.append(Row("gl", "objects max", max(objects), "objects"))
            if gpu:
                rows.append(Row("gl", "gpu buffer start", gpu[0] / mib, "MiB"))
                rows.append(Row("gl", "gpu buffer end", gpu[-1] / mib, "MiB"))
            rows.append(Row("process", "threads start", s[0].threads, "threads"))
            rows.append(Row("process", "threads end", s[-1].threads, "threads"))
            rows.append(Row("process", "fds start", s[0].fds, "fds"))
            rows.append(Row("process", "fds end", s[-1].fds, "fds"))
            if s[-1].fds != s[0].fds:  # say which: a leak, or a start that was not over
                opened, closed = census.file_difference(self.files_start, self.files_end)
                rows.append(Row("process", f"fds opened: {'; '.join(opened)}"[:300], len(opened), "fds"))
                rows.append(Row("process", f"fds closed: {'; '.join(closed)}"[:300], len(closed), "fds"))
            rows.append(Row("process", "child processes end", s[-1].children, "processes"))
        ft = np.asarray(self.frame_times[1:], np.float64) * 1e3
        if ft.size:
            rows.append(Row("frames", "frames", ft.size, "frames"))
            rows.append(Row("frames", "frame time median", float(np.median(ft)), "ms"))
            rows.append(Row("frames", "frame time p99", float(np.percentile(ft, 99)), "ms"))
            rows.append(Row("frames", "frame time max", float(ft.max()), "ms"))
        c = self.counters
        rows.append(Row("frames", "crashes (frames that raised)", c.crashes, "frames"))
        rows.append(Row("audio", "sound at the end", float(self.playing_at_end), "flag"))
        rows.append(Row("audio", "underruns outside faults", c.underruns_clean, "underruns"))
        rows.append(Row("audio", "underruns in fault windows", c.underruns_faults, "underruns"))
        rows.append(Row("worker", "steps", c.worker_steps, "steps"))
        rows.append(Row("worker", "errors reported", c.worker_errors, "errors"))
        if self.midi is not None:
            counts = self.midi.counts()
            rows.append(Row("midi", "sent", self.midi.traffic.sent, "messages"))
            rows.append(Row("midi", "send failed (port gone)", self.midi.traffic.failed, "messages"))
            rows.append(Row("midi", "received", counts.get("received", 0), "messages"))
            rows.append(Row("midi", "dropped", counts.get("dropped", 0), "messages"))
            rows.append(Row("midi", "coalesced away", max(0, counts.get("mapped", 0) - c.commands_drained["midi"]),
                            "messages"))
        if self.osc is not None:
            osc = self.osc_counts
            rows.append(Row("osc", "sent", self.osc.traffic.sent, "messages"))
            rows.append(Row("osc", "received", osc.get("received", 0), "messages"))
            rows.append(Row("osc", "malformed", osc.get("malformed", 0), "datagrams"))
            rows.append(Row("osc", "dropped", osc.get("dropped", 0), "messages"))
            rows.append(Row("osc", "coalesced away", max(0, osc.get("applied", 0) - c.commands_drained["osc"]),
                            "messages"))
        for f in self.faults:
            rows += f.rows()
        for i, m in enumerate(c.crash_messages):
            log.warning("soak crash %d: %s", i + 1, m)
        return rows


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    import signal

    # A second SIGTERM (timeout(1) forwards its own, a user presses twice) must not cut the
    # cleanup short and leave the JACK server running.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)  # unwinds through close(): the JACK server and the window are released


def run(args: argparse.Namespace, config: Config) -> list[Row]:
    import signal

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # The worker and the audio engine are those `ear3d live` runs by default (optimize.worker
    # auto = a worker process on a CPU, audio.engine = process): the soak measures what an
    # audience hears.
    # Adaptive quality switches MSAA and bloom targets on and off with the load, which would
    # move the GL object count the soak compares: it holds one quality level.
    config = config.replace({"render": {"adaptive": False}})
    soak = Soak(args, config)
    try:
        soak.run()
        rows = soak.rows()
    finally:
        soak.close()
    from ear3d.bench.soak_faults import print_table

    print_table(soak.faults)
    return rows
