"""Control floods vs the quiet case: the time of the frame loop's control path (drain every
MIDI and OSC source, apply the commands to the parameter registry, send feedback) plus a
fixed stand-in for drawing (a 256×256 matrix product), per frame, while 10 k MIDI messages/s
(fed to a controller's callback from another thread, as rtmidi does) or 10 k OSC messages/s
(real UDP datagrams from another process) arrive. A full LiveApp frame on llvmpipe varies by
more than 10 % on its own on a shared 2-core machine, so this measures the control path
with a stand-in frame, not a real one."""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial

import mido
import numpy as np

from ear3d.bench import Row
from ear3d.config import Config

HELP = "frame time under 10 k MIDI or OSC messages/s vs quiet (control path + stand-in frame)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per case (default 5)")
    parser.add_argument("--rate", type=float, default=10_000.0, help="messages per second (default 10000)")


def _paced(rate: float, seconds: float, send, stop: threading.Event | None = None) -> int:
    sent, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds and not (stop is not None and stop.is_set()):
        due = int((time.perf_counter() - start) * rate)
        while sent < due:
            send(sent)
            sent += 1
        time.sleep(0.001)
    return sent


def _cycling(callback: Callable[[mido.Message], object], messages: Sequence[mido.Message], i: int) -> None:
    """Hand ``callback`` the ``i``-th message of ``messages`` repeated without end."""
    callback(messages[i % len(messages)])


def _osc_sender(address: tuple[str, int], rate: float, seconds: float) -> None:
    from pythonosc.udp_client import SimpleUDPClient

    client = SimpleUDPClient(*address)
    _paced(rate, seconds, lambda i: client.send_message("/ear3d/volume", (i % 100) / 100))


def run(args: argparse.Namespace, config: Config) -> list[Row]:
    from ear3d.config import ControlConfig
    from ear3d.control.mapping import load_mapping
    from ear3d.control.params import Parameters, live_specs
    from ear3d.control.surfaces import ControlSurfaces

    params = Parameters(live_specs(config))
    surfaces = ControlSurfaces(ControlConfig(midi_input=(), osc=True), params, osc_port=0)  # () = no MIDI ports
    osc = surfaces.osc
    assert osc is not None  # asked for above
    port = mido.ports.BaseInput("flood")  # a callback port: messages go straight to the router
    port.callback = None
    device = surfaces.add_port(port, name="BCF2000 flood", mapping=load_mapping("bcf2000"),
                               output=mido.ports.BaseOutput("feedback"))
    a = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
    rows: list[Row] = []
    version = params.version
    try:
        for case in ("quiet", "midi", "osc", "quiet again"):
            stop = threading.Event()
            feeder: threading.Thread | multiprocessing.Process | None = None
            if case == "midi":
                messages = [mido.Message("control_change", control=81 + i % 8, value=i % 128) for i in range(1024)]
                send = partial(_cycling, port.callback, messages)
                feeder = threading.Thread(target=_paced, args=(args.rate, args.seconds + 1, send, stop))
            elif case == "osc":
                feeder = multiprocessing.Process(target=_osc_sender, args=(osc.address, args.rate,
                                                                           args.seconds + 1))
            if feeder is not None:
                feeder.start()
                time.sleep(0.3)
            times, control = [], []
            start = time.perf_counter()
            while time.perf_counter() - start < args.seconds:
                t0 = time.perf_counter()
                for command in surfaces.drain():
                    params.apply(command)
                version, changed = params.changed_since(version)
                surfaces.feedback(changed)
                t1 = time.perf_counter()
                a @ a  # the stand-in for drawing
                times.append(time.perf_counter() - t0)
                control.append(t1 - t0)
            stop.set()
            if feeder is not None:
                feeder.join()
            rows.append(Row(case, "frame median", statistics.median(times) * 1e3, "ms"))
            rows.append(Row(case, "control path median", statistics.median(control) * 1e3, "ms"))
            rows.append(Row(case, "frames", len(times), "frames"))
        counts = device.router.counts
        rows.append(Row("midi", "messages received", counts["received"], "messages"))
        rows.append(Row("osc", "messages received", osc.counts["received"], "messages"))
        quiet = statistics.mean(r.value for r in rows if r.case.startswith("quiet") and r.metric == "frame median")
        for case in ("midi", "osc"):
            flood = next(r.value for r in rows if r.case == case and r.metric == "frame median")
            rows.append(Row(case, "frame time vs quiet", flood / quiet, "ratio"))
    finally:
        surfaces.close()
    return rows
