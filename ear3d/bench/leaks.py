"""Open/close cycles of each live subsystem: what the process holds (GL objects, GPU-buffer
bytes, threads, file descriptors, child processes, PortAudio instances; ear3d.bench.census)
must be the same after N cycles as after one.

`ear3d bench leaks --cycles 100` runs every subsystem (with ``model.preset=tiny`` and a
small frame, as the tests do); the test suite runs the same cycles with fewer repetitions.
Subsystems: playback with either engine (into a JACK dummy server when jackd is installed),
the control surfaces (MIDI through JACK virtual ports, else a mido port, plus OSC), the GUI,
the scene (drawn once per cycle), the session (a worker and a scene; its model is built
every cycle, so it gets ``--session-cycles``, 10 by default) and the recorder (a short MP4).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ear3d.bench import Row, census
from ear3d.config import Config

HELP = "open/close each live subsystem N times: GL objects, threads, fds, processes, PortAudio unchanged"

SUBSYSTEMS = ("playback-process", "playback-thread", "control", "gui", "scene", "session", "recorder")
#: The JACK virtual port the control cycles' watcher opens.
LEAK_PORT = "ear3d-leak-ctl"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cycles", type=int, default=100, help="open/close cycles per subsystem (default 100)")
    parser.add_argument("--session-cycles", type=int, default=10,
                        help="cycles of the whole session (each builds the model; default 10)")
    parser.add_argument("--only", default="", help=f"a comma list of {', '.join(SUBSYSTEMS)} (default: all)")


def cycles(open_close: Callable[[], None], n: int) -> tuple[census.Census, census.Census, float]:
    """Run ``open_close`` once, take a census, run it ``n - 1`` more times, take another;
    returns both and the seconds per cycle. The first cycle may leave lasting singletons
    (PortAudio's library state, compiled shaders): the comparison starts after it."""
    open_close()
    first = census.take()
    start = time.perf_counter()
    for _ in range(n - 1):
        open_close()
    per_cycle = (time.perf_counter() - start) / max(1, n - 1)
    return first, census.take(), per_cycle


class Rig:
    """What the cycles share: a GL context with a target, the tiny live app (for the GUI and
    the scene), a clip, and a JACK dummy server when jackd is installed."""

    def __init__(self, config: Config, jack: bool = True):
        from ear3d.bench.jack_dummy import JackDummy, JackUnavailable, route_audio_to_jack
        from ear3d.gfx.context import headless_context
        from ear3d.gfx.offscreen import OffscreenTarget

        self.jack = None
        self._restore_routing: Any = None
        if jack:
            import os

            name = f"ear3d-leaks-{os.getpid()}"
            self._restore_routing = route_audio_to_jack(name)  # put back by close()
            try:
                self.jack = JackDummy(name).start()
            except JackUnavailable:
                self.jack = None
        audio = {"device": ""} if self.jack is not None else {"device": "no-such-device"}
        self.config = config.replace({"audio": audio, "control": {"midi_input": [], "osc_port": 0}})
        self.ctx = headless_context()
        self.target = OffscreenTarget(self.ctx, config.render.width, config.render.height, samples=0)
        self.tmp = tempfile.TemporaryDirectory(prefix="ear3d-leaks-")
        self._app: Any = None
        self._midi_out: Any = None

    @property
    def app(self) -> Any:
        """The live app, built on first use (the model loads once)."""
        if self._app is None:
            from ear3d.app import LiveApp

            self._app = LiveApp(self.config, self.ctx, out_dir=Path(self.tmp.name))
            self._app.wait_until_ready()
            self._app.frame(self.target.fbo, 1 / 30)
        return self._app

    def clip(self) -> Any:
        from ear3d.messages import Clip

        sr = self.config.audio.sample_rate
        t = np.arange(int(sr * 1.0)) / sr
        return Clip((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr)

    # -- one open/close cycle of each subsystem ----------------------------------------------

    def playback(self, engine: str) -> Callable[[], None]:
        import dataclasses

        from ear3d.playback import Playback

        audio = dataclasses.replace(self.config.audio, engine=engine)
        clip = self.clip()

        def cycle() -> None:
            playback = Playback(audio, clip)
            try:
                if self.jack is not None and playback.output is None:
                    raise RuntimeError(f"no sound from the {engine} engine: {playback.problem}")
                playback.check()
            finally:
                playback.close()

        return cycle

    def control(self) -> Callable[[], None]:
        import mido

        from ear3d.config import ControlConfig
        from ear3d.control.params import Parameters, live_specs
        from ear3d.control.surfaces import ControlSurfaces

        params = Parameters(live_specs(self.config))
        backend = None
        if self.jack is not None:
            backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
            if self._midi_out is None:  # the controller stays plugged in; the app's side cycles
                self._midi_out = backend.open_output(LEAK_PORT, virtual=True)
        config = ControlConfig(midi_input=(LEAK_PORT,) if backend is not None else (), osc=True, osc_port=0,
                               hot_plug_s=0.1)

        def cycle() -> None:
            surfaces = ControlSurfaces(config, params, backend=backend, osc_port=0)
            try:
                if backend is None:
                    port = mido.ports.BaseInput(LEAK_PORT)
                    port.callback = None
                    surfaces.add_port(port, name=LEAK_PORT)
                elif not any(d.connected for d in surfaces.devices):
                    raise RuntimeError(f"the control surfaces did not open {LEAK_PORT}")
                surfaces.drain()
            finally:
                surfaces.close()

        return cycle

    def gui(self) -> Callable[[], None]:
        from ear3d.ui.gui import Gui

        app, fbo = self.app, self.target.fbo

        def cycle() -> None:
            gui = Gui(self.ctx, app, size=fbo.size)
            try:
                for _ in range(2):
                    fbo.use()
                    gui.render(1 / 30, fbo)
            finally:
                gui.release()

        return cycle

    def scene(self) -> Callable[[], None]:
        from ear3d.gfx.scene import Scene
        from ear3d.palette import load_palette

        session, render = self.app.session, self.config.render
        palette = load_palette(render.palette)

        def cycle() -> None:
            scene = Scene(self.ctx, session.positions, session.table.layer, palette, render,
                          layer_names=session.layer_names)
            try:
                scene.draw(self.target.fbo, 0.25)
            finally:
                scene.release()

        return cycle

    def session(self) -> Callable[[], None]:
        from ear3d.session import Session

        def cycle() -> None:
            session = Session(self.config, self.ctx)
            try:
                session.poll()
                session.scene.draw(self.target.fbo, 0.5)
            finally:
                session.release()

        return cycle

    def recorder(self) -> Callable[[], None]:
        from ear3d.live_record import LiveRecording
        from ear3d.playback import Playback

        playback = Playback(self.config.audio, self.clip())
        self._recorder_playback = playback
        path = Path(self.tmp.name) / "leak.mp4"
        frame = np.zeros((48, 64, 3), np.uint8)

        def cycle() -> None:
            recording = LiveRecording(path, 64, 48, 10, playback)
            try:
                for _ in range(3):
                    recording.add_frame(frame, playback.latest)
            except BaseException:
                recording.abort()
                raise
            recording.close().unlink()

        return cycle

    def cycle_for(self, name: str) -> Callable[[], None]:
        if name.startswith("playback-"):
            return self.playback(name.split("-", 1)[1])
        return getattr(self, name)()

    def close(self) -> None:
        playback = getattr(self, "_recorder_playback", None)
        if playback is not None:
            playback.close()
        if self._app is not None:
            self._app.close()
        if self._midi_out is not None:
            self._midi_out.close()
        self.target.release()
        self.ctx.release()
        if self.jack is not None:
            self.jack.close()
        if self._restore_routing is not None:
            self._restore_routing()
        self.tmp.cleanup()


def run(args: argparse.Namespace, config: Config) -> list[Row]:
    from tqdm import tqdm

    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(SUBSYSTEMS)
    unknown = [n for n in names if n not in SUBSYSTEMS]
    if unknown:
        raise ValueError(f"unknown subsystem {unknown[0]!r}; known: {', '.join(SUBSYSTEMS)}")
    rig = Rig(config)
    rows: list[Row] = []
    try:
        for name in tqdm(names, desc="leaks", unit="subsystem"):
            n = args.session_cycles if name == "session" else args.cycles
            first, last, per_cycle = cycles(rig.cycle_for(name), n)
            diff = last.difference(first)
            rows.append(Row(name, "cycles", n, "cycles"))
            rows.append(Row(name, "seconds per cycle", per_cycle, "s"))
            rows.append(Row(name, "leaked (anything held more after N cycles than after 1)", float(bool(diff)), "flag"))
            for what, value in diff.items():
                rows.append(Row(name, f"more after {n} cycles: {what}", value, "count"))
            rows.append(Row(name, "gl objects after 1", first.gl_total, "objects"))
            rows.append(Row(name, f"gl objects after {n}", last.gl_total, "objects"))
            rows.append(Row(name, "threads after N", len(last.threads), "threads"))
            rows.append(Row(name, "fds after N", last.fds, "fds"))
    finally:
        rig.close()
    return rows
