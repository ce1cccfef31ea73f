"""`ear3d bench control`: the live app's frame time while 10 k MIDI or 10 k OSC messages a
second arrive, against the quiet case and against the same senders flooding a port nobody
listens to, the five cases alternated round by round in one run.

A :class:`~ear3d.app.LiveApp` draws real frames into an offscreen framebuffer of an EGL
context (default 640×360) as ``ear3d bench live`` does (``app.frame`` and the wait for the
drawing), with the worker idle (``sonify`` off: the frame time is the picture's) and adaptive
quality off (the quality does not move during the measurement). The floods come from processes
of their own:

- MIDI: a JACK dummy server is started and a sender process writes control changes for the
  BCF2000's eight faders (CC 81–88) through rtmidi's JACK backend into a virtual input port
  of the app (``app.control.add_port``, the BCF2000 mapping, feedback to a virtual output),
  so they arrive on rtmidi's thread as a plugged-in controller's do. Without jackd the
  messages are handed to the port's callback by a thread of the bench instead (the row
  ``midi path`` says which).
- OSC: a sender process sends ``/ear3d/<parameter>/normalized x`` datagrams over UDP on
  loopback (python-osc) to the app's OSC server, cycling through the same eight parameters.

On this machine's two cores the senders themselves (and jackd passing the MIDI on) take CPU
from the software rasterizer, which a controller on a USB cable or a tablet on the network
would not: the ``unheard`` cases run the same senders into a port nobody listens to (the
MIDI sender's own unconnected JACK port; a UDP socket of its own that is never read), so
``heard vs unheard`` is the cost of ear3d receiving, parsing, coalescing and applying them.

Rows per case (``quiet``, ``midi flood``, ``midi flood, unheard``, ``osc flood``, ``osc
flood, unheard``): frame time median and p99, frames. Per heard flood: messages sent and
received (per second too), the changes applied (commands the frame loop drained), messages
coalesced away (received − applied), the most changes one parameter got in one frame (the
contract: at most 1), dropped and malformed counts. Ratios, median and p99: each flood vs
quiet, and heard vs unheard (the goal: within 1.10).

The machine may be shared: read the ratios (the cases are alternated, so drift hits all
alike) beside the load average.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import logging
import multiprocessing
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ear3d.argtypes import frame_size, positive_seconds
from ear3d.bench import Row
from ear3d.config import Config

log = logging.getLogger(__name__)

HELP = "live app frame time under 10 k MIDI or OSC messages/s vs quiet (real frames, JACK MIDI, UDP OSC)"

JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"
#: the app's virtual MIDI input the sender writes to
FLOOD_PORT = "ear3d bench flood"
#: The BCF2000's faders: what the MIDI flood moves and the OSC flood sets.
FADERS = tuple(range(81, 89))
#: The floods the app hears; each also runs unheard (UNHEARD).
FLOODS = ("midi flood", "osc flood")
UNHEARD = ", unheard"
CASES = ("quiet", *(f"{flood}{suffix}" for flood in FLOODS for suffix in ("", UNHEARD)))
#: Seconds the frame loop runs after a flood stops, unmeasured, so the next case starts clean.
SETTLE_S = 0.4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=frame_size, default=(640, 360), help="output size WxH (default 640x360)")
    parser.add_argument("--seconds", type=positive_seconds, default=3.0,
                        help="seconds measured per case and round (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the alternated cases (default 3)")
    parser.add_argument("--warmup", type=positive_seconds, default=0.7,
                        help="seconds drawn before each case is measured (default 0.7)")
    parser.add_argument("--rate", type=float, default=10_000.0, help="messages per second (default 10000)")
    parser.add_argument("--launch-timeout", type=positive_seconds, default=300.0,
                        help="most seconds to wait for the model (default 300)")


# -- senders (their own processes, or a thread where there is no JACK) --------------------------


def _paced(rate: float, go: Any, quit_: Any, sent: Any, send: Callable[[int], None]) -> None:
    """Call ``send(i)`` ``rate`` times a second while ``go`` is set, until ``quit_``; count in ``sent``."""
    i = 0
    while not quit_.is_set():
        if not go.wait(0.05):
            continue
        start, n = time.perf_counter(), 0
        while go.is_set() and not quit_.is_set():
            due = int((time.perf_counter() - start) * rate)
            while n < due:
                send(i)
                i += 1
                n += 1
            time.sleep(0.0005)
        with sent.get_lock():
            sent.value += n


def _midi_messages() -> list[Any]:
    import mido

    return [mido.Message("control_change", control=FADERS[i % len(FADERS)], value=(i * 7) % 128)
            for i in range(1024)]


def _midi_sender(rate: float, jack_server: str, heard: bool, go: Any, quit_: Any, sent: Any, ready: Any) -> None:
    """Process: open the app's flood port through JACK (``heard``; else a virtual port of its
    own that nothing is connected to) and send control changes while ``go``."""
    import mido

    os.environ["JACK_DEFAULT_SERVER"] = jack_server
    os.environ["JACK_NO_START_SERVER"] = "1"
    backend = mido.Backend(JACK_BACKEND)
    if heard:
        deadline = time.monotonic() + 20
        name = None
        while name is None and time.monotonic() < deadline:
            name = next((n for n in backend.get_output_names() if FLOOD_PORT in n), None)
            time.sleep(0.05)
        if name is None:
            return  # the bench sees ``ready`` never set and says so
        port = backend.open_output(name)
    else:
        port = backend.open_output("ear3d bench flood, unheard", virtual=True)
    messages = _midi_messages()
    ready.set()
    try:
        _paced(rate, go, quit_, sent, lambda i: port.send(messages[i % len(messages)]))
    finally:
        port.close()


def _osc_sender(address: tuple[str, int] | None, names: tuple[str, ...], rate: float, go: Any, quit_: Any,
                sent: Any, ready: Any) -> None:
    """Process: send ``/ear3d/<name>/normalized x`` datagrams to ``address`` while ``go``
    (None: to a socket of its own that is never read)."""
    import socket

    from pythonosc.osc_message_builder import build_msg

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink = None
    if address is None:
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        address = sink.getsockname()
    # Built ahead: the sender's own Python cost is not what is measured.
    datagrams = [build_msg(f"/ear3d/{names[i % len(names)]}/normalized", [(i * 7 % 128) / 127]).dgram
                 for i in range(1024)]
    ready.set()
    try:
        def send(i: int) -> None:
            sock.sendto(datagrams[i % len(datagrams)], address)

        _paced(rate, go, quit_, sent, send)
    finally:
        sock.close()
        if sink is not None:
            sink.close()


@dataclasses.dataclass
class _Flood:
    """One sender: started once, flooding while ``go`` is set."""

    go: Any
    quit: Any
    sent: Any
    ready: Any
    worker: multiprocessing.process.BaseProcess | threading.Thread | None = None

    def stop(self) -> None:
        self.go.clear()
        self.quit.set()
        if self.worker is not None:
            self.worker.join(timeout=5)
            if isinstance(self.worker, multiprocessing.process.BaseProcess) and self.worker.is_alive():
                self.worker.kill()
                self.worker.join()


def _flood(mp: Any, target: Callable[..., None], *args: Any) -> _Flood:
    flood = _Flood(mp.Event(), mp.Event(), mp.Value("q", 0), mp.Event())
    flood.worker = mp.Process(target=target, args=(*args, flood.go, flood.quit, flood.sent, flood.ready),
                              daemon=True)
    flood.worker.start()
    return flood


def _thread_flood(rate: float, callback: Callable[[Any], None] | None) -> _Flood:
    """Without JACK: a thread hands messages to the port callback, as rtmidi's thread would."""
    flood = _Flood(threading.Event(), threading.Event(), multiprocessing.Value("q", 0), threading.Event())
    messages = _midi_messages()
    flood.worker = threading.Thread(target=_paced, args=(rate, flood.go, flood.quit, flood.sent,
                                                         lambda i: callback(messages[i % len(messages)])
                                                         if callback is not None else None),
                                    name="midi flood", daemon=True)
    flood.worker.start()
    flood.ready.set()
    return flood


# -- what the frame loop applied ---------------------------------------------------------------


class _DrainCounter:
    """Wraps ``ControlSurfaces.drain``: per drain (at most one a frame), how many value changes
    each parameter got."""

    def __init__(self, drain: Callable[[], list[Any]]):
        self._drain = drain
        self.applied = 0
        self.most_per_parameter = 0

    def __call__(self) -> list[Any]:
        commands = self._drain()
        per_parameter = collections.Counter(c.name for c in commands if ":" not in c.name)
        self.applied += len(commands)
        if per_parameter:
            self.most_per_parameter = max(self.most_per_parameter, max(per_parameter.values()))
        return commands


def _thread_cpu(thread: threading.Thread) -> float:
    """CPU seconds ``thread`` has run (its own clock; NaN when it is gone)."""
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))  # type: ignore[arg-type]
    except (OSError, TypeError, ValueError):
        return float("nan")


@dataclasses.dataclass
class _Measured:
    times: list[float] = dataclasses.field(default_factory=list)
    sent: int = 0
    received: int = 0
    applied: int = 0
    most_per_parameter: int = 0
    dropped: int = 0
    malformed: int = 0
    seconds: float = 0.0  # of flooding, warm-up included
    cpu: float = 0.0  # seconds the thread that parses the messages ran
    loads: list[float] = dataclasses.field(default_factory=list)


def run(args: argparse.Namespace, config: Config) -> list[Row]:
    from tqdm import tqdm

    from ear3d.app import LiveApp
    from ear3d.bench.jack_dummy import JackDummy, JackUnavailable, route_audio_to_jack
    from ear3d.bench.live import _Driver, _Offscreen
    from ear3d.control.mapping import load_mapping

    if args.rounds < 1:
        raise ValueError(f"--rounds must be at least 1, got {args.rounds}")
    config = config.replace({"render": {"adaptive": False},
                             "control": {"midi_input": (), "osc": True, "osc_port": 0}})
    mp = multiprocessing.get_context("spawn")  # the app's process has GL, JACK and server threads: no fork
    jack: JackDummy | None = None
    why_no_jack = ""
    restore_routing: Callable[[], None] | None = None
    try:
        jack = JackDummy(f"ear3d-bench-control-{os.getpid()}").start()
        restore_routing = route_audio_to_jack(jack.name)
    except JackUnavailable as e:
        why_no_jack = str(e)
    surface = _Offscreen(args.size)
    app: Any = None
    floods: dict[str, _Flood] = {}
    try:
        app = LiveApp(config, surface.ctx, out_dir=Path("out"))
        driver = _Driver(app, surface)
        deadline = time.perf_counter() + args.launch_timeout
        while app.loading:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the model was not ready after {args.launch_timeout:g} s")
            driver.frame()
        app.params.set("sonify", 0)
        control = app.control
        osc = control.osc
        if osc is None:
            raise RuntimeError("the OSC server did not start (see the log)")
        mapping = load_mapping("bcf2000", tuple(app.params.specs.values()))
        names = tuple(mapping.cc[n].param for n in FADERS)
        if jack is not None:
            import mido

            backend = mido.Backend(JACK_BACKEND)
            device = control.add_port(backend.open_input(FLOOD_PORT, virtual=True), name="BCF2000 flood",
                                      output=backend.open_output("ear3d bench feedback", virtual=True),
                                      mapping=mapping)
            for heard in (True, False):
                floods[f"midi flood{'' if heard else UNHEARD}"] = _flood(mp, _midi_sender, args.rate, jack.name, heard)
            midi_path = "rtmidi's JACK backend, sender process"
        else:
            import mido

            port = mido.ports.BaseInput("flood")  # a callback port: the thread plays rtmidi's part
            port.callback = None
            device = control.add_port(port, name="BCF2000 flood", output=mido.ports.BaseOutput("feedback"),
                                      mapping=mapping)
            floods["midi flood"] = _thread_flood(args.rate, port.callback)
            floods[f"midi flood{UNHEARD}"] = _thread_flood(args.rate, None)
            midi_path = f"callback fed by a thread (no JACK: {why_no_jack})"
        for heard in (True, False):
            floods[f"osc flood{'' if heard else UNHEARD}"] = _flood(
                mp, _osc_sender, osc.address if heard else None, tuple(str(n) for n in names), args.rate)
        for name, sender in floods.items():
            if not sender.ready.wait(30):
                raise RuntimeError(f"the {name} sender did not start")
        counter = _DrainCounter(control.drain)
        control.drain = counter  # counts what each frame applies

        receivers = {"midi flood": device._reader, "osc flood": osc._thread}  # the threads that parse

        def counts(case: str) -> tuple[float, ...]:
            """(received, dropped, malformed, sent, CPU seconds of the parsing thread) so far for ``case``."""
            thread = receivers[case]
            cpu = _thread_cpu(thread) if thread is not None else float("nan")
            if case == "midi flood":
                c = device.router.counts
                return c["received"], c["dropped"], c["malformed"], floods[case].sent.value, cpu
            c = osc.counts
            return c["received"], c.get("dropped", 0), c["malformed"], floods[case].sent.value, cpu

        measured = {case: _Measured() for case in CASES}
        plan = [case for _ in range(args.rounds) for case in CASES]
        for case in tqdm(plan, desc="bench control", unit="case"):
            m = measured[case]
            flood = floods.get(case)
            before = counts(case) if case in FLOODS else None
            flooding_since = time.perf_counter()
            if flood is not None:
                flood.go.set()
            driver.draw_for(args.warmup)
            counter.applied, counter.most_per_parameter = 0, 0
            m.times += driver.draw_for(args.seconds)
            m.loads.append(os.getloadavg()[0])
            m.applied += counter.applied
            m.most_per_parameter = max(m.most_per_parameter, counter.most_per_parameter)
            if flood is not None:
                flood.go.clear()
                m.seconds += time.perf_counter() - flooding_since
                driver.draw_for(SETTLE_S)  # what is still queued is applied, unmeasured
            if before is not None:
                after = counts(case)  # the sender has added what it sent by now
                m.received += int(after[0] - before[0])
                m.dropped += int(after[1] - before[1])
                m.malformed += int(after[2] - before[2])
                m.sent += int(after[3] - before[3])
                m.cpu += after[4] - before[4]
        log.warning("bench control: MIDI through %s; frames %dx%d", midi_path, *args.size)
        rows = [Row("midi flood", "through rtmidi's JACK ports (0: a thread fed the port callback)",
                     float(jack is not None), "yes/no")]
        return rows + _rows(measured)
    finally:
        for flood in floods.values():
            flood.stop()
        if app is not None:
            app.close()
        surface.release()
        if jack is not None:
            jack.close()
        if restore_routing is not None:
            restore_routing()


def _rows(measured: dict[str, _Measured]) -> list[Row]:
    rows: list[Row] = []
    for case, m in measured.items():
        times = np.asarray(m.times)
        rows += [Row(case, "frame time median", float(np.median(times)) * 1e3, "ms"),
                 Row(case, "frame time p99", float(np.percentile(times, 99)) * 1e3, "ms"),
                 Row(case, "frames", len(times), "frames"),
                 Row(case, "load average (1 min)", statistics.mean(m.loads), "load")]
        if case not in FLOODS:
            continue
        rows += [Row(case, "messages sent", m.sent, "messages"),
                 Row(case, "messages received", m.received, "messages"),
                 Row(case, "messages received per second of flood", m.received / m.seconds, "messages/s"),
                 Row(case, "CPU of the thread that parses them", m.cpu / m.seconds * 100, "% of a core"),
                 Row(case, "changes applied", m.applied, "changes"),
                 Row(case, "messages coalesced away", m.received - m.applied, "messages"),
                 Row(case, "most changes of one parameter in one frame", m.most_per_parameter, "changes"),
                 Row(case, "changes applied per frame (mean)", m.applied / max(1, len(m.times)), "changes"),
                 Row(case, "dropped", m.dropped, "messages"),
                 Row(case, "malformed", m.malformed, "messages")]
    def ratios(case: str, base: str, label: str) -> list[Row]:
        times, against = np.asarray(measured[case].times), np.asarray(measured[base].times)
        return [Row(label, "frame time median", float(np.median(times) / np.median(against)), "ratio"),
                Row(label, "frame time p99", float(np.percentile(times, 99) / np.percentile(against, 99)), "ratio")]

    for case in CASES[1:]:
        rows += ratios(case, "quiet", f"{case} vs quiet")
    for flood in FLOODS:
        rows += ratios(flood, flood + UNHEARD, f"{flood}: heard vs unheard")
    return rows
