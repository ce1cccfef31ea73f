"""`ear3d bench live`: the live app as a performer meets it — launch times, frame times with the
worker idle and optimizing flat out, adaptive quality off and on, and optimization speed with
and without rendering, the cases alternated in one run.

A :class:`~ear3d.app.LiveApp` draws into an offscreen framebuffer of an EGL context (default
1280×720), or with ``--window`` into a real window (needs a display: Xvfb or a desktop; vsync
off). A frame is timed as the window loop runs it: ``app.frame`` and then the wait for the
drawing (``ctx.finish()`` offscreen, the buffer swap in a window); each frame is handed the
previous frame's duration, so adaptive quality sees what a window would.

Rows:

- ``launch``: seconds from launch (GL context and LiveApp created) to the first frame drawn
  (the loading screen), to the first frame of the network, and to the first sonified clip (a
  clip from an optimization step reaching the sound); the frame times while the model loads
  on its thread (the loop does not wait for it), and the one frame that builds the scene on
  the GL thread (shaders, buffers);
- per case ``worker idle|running, adaptive off|on``: frame time median, p99 and max, frames/s
  (1 / median), the adaptive level, render scale and edges drawn at the end, the load average,
  and for ``running`` cases optimization steps/s; ``worker running, no rendering``: steps/s
  with the frame loop asleep;
- ``worker running, adaptive on, GIL held|released while GL draws``: as ``worker running,
  adaptive on`` but waiting for the drawing the other way than the app does on a software
  renderer (``LiveApp.wait_for_gl``: with the GIL released, as a window's swap alone would,
  when the worker runs in a process; inside moderngl, which holds it, with a worker thread);
- ratios: running vs idle frame time, adaptive on vs off frames/s, steps/s with rendering vs
  without, and with the GIL released vs held while GL draws;
- ``thread|process worker, drawing (adaptive off)|lock held in 0.2 s C calls|no rendering``
  (``--workers both``, the default): optimization steps/s with the worker in the app's process
  (``optimize.worker = "thread"``) and in a process of its own (``"process"``) while the frame
  loop draws at full quality, while it holds the interpreter lock in long C calls without
  using a core (a stand-in for a GL driver), and while it sleeps; frame time while drawing; the
  load average. A second LiveApp runs the other kind, the two alternated round by round (the
  idle one paused); ratio rows process vs thread.

The cases above run with the configured ``optimize.worker`` (auto: process on the CPU).

The machine is shared: read the ratios and the load average beside the absolute figures. On
a software renderer (llvmpipe) the renderer and the worker compete for the same cores.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from ear3d.argtypes import frame_size, positive_seconds
from ear3d.bench import Row
from ear3d.config import Config

HELP = "live app: launch times, frame time (worker idle/running, adaptive off/on), steps/s with and without drawing"
log = logging.getLogger(__name__)

#: (case name, worker optimizing, adaptive quality on)
CASES = (
    ("worker idle, adaptive off", False, False),
    ("worker idle, adaptive on", False, True),
    ("worker running, adaptive off", True, False),
    ("worker running, adaptive on", True, True),
)
NO_RENDERING = "worker running, no rendering"
#: The running case with adaptive quality on, waiting for GL the other way than the app does
#: (LiveApp.wait_for_gl): inside moderngl, which holds the GIL, or with it released (glFinish
#: through ctypes, as a window's swap does).
GIL_HELD = "worker running, adaptive on, GIL held while GL draws"
GIL_RELEASED = "worker running, adaptive on, GIL released while GL draws"
#: What the frame loop's thread does while the thread and the process worker are compared: draw
#: at full quality, hold the interpreter lock in long C calls as a GL driver does (a stand-in
#: without the drawing's CPU load), or sleep.
WORKER_LOADS = ("drawing (adaptive off)", "lock held in 0.2 s C calls", "no rendering")
LOCK_HELD_S = 0.2
#: Seconds without a change of level after which adaptive quality counts as settled.
SETTLED_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=frame_size, default=(1280, 720), help="output size WxH (default 1280x720)")
    parser.add_argument("--seconds", type=positive_seconds, default=4.0,
                        help="seconds measured per case and round (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the alternated cases (default 2)")
    parser.add_argument("--warmup", type=positive_seconds, default=1.5,
                        help="seconds drawn before each case is measured (default 1.5)")
    parser.add_argument("--settle", type=positive_seconds, default=20.0,
                        help="most seconds adaptive quality may take to settle before its first measurement "
                             "(default 20)")
    parser.add_argument("--window", nargs="?", const="pyglet", default=None, metavar="BACKEND",
                        help="draw into a real window (moderngl-window backend, default pyglet; needs a display)")
    parser.add_argument("--screenshot", type=Path, default=None,
                        help="save PNGs of the last frame of each 'worker running' case (name-<case>.png)")
    parser.add_argument("--workers", choices=("both", "config"), default="both",
                        help="both: also compare the thread and the process worker side by side (default); "
                             "config: only the configured optimize.worker")
    parser.add_argument("--launch-timeout", type=positive_seconds, default=300.0,
                        help="most seconds to wait for the model and the first sonified clip (default 300)")


class _Offscreen:
    """An offscreen framebuffer on a headless EGL context."""

    def __init__(self, size: tuple[int, int]):
        from ear3d.gfx.context import gil_free_finish, headless_context
        from ear3d.gfx.offscreen import OffscreenTarget

        self.ctx = headless_context()
        self.target = OffscreenTarget(self.ctx, *size, samples=0)  # like a window's: the scene multisamples itself
        self.fbo = self.target.fbo
        #: waits for the drawing as a window's buffer swap does (through ctypes: GIL released)
        self.released_wait = gil_free_finish(self.ctx)

    def begin(self) -> None:
        self.fbo.use()

    def end(self) -> None:
        self.released_wait()

    def read_rgb(self) -> np.ndarray:
        return self.target.read_rgb()

    def release(self) -> None:
        self.target.release()
        self.ctx.release()


class _Window:
    """A real window (moderngl-window ``backend``), vsync off."""

    def __init__(self, size: tuple[int, int], backend: str):
        import moderngl_window as mglw

        if backend in ("pyglet", "glfw", "sdl2") and not os.environ.get("DISPLAY") and not os.environ.get(
                "WAYLAND_DISPLAY"):
            raise RuntimeError("--window needs a display (DISPLAY); start Xvfb or drop --window")
        self.wnd = mglw.get_local_window_cls(backend)(title="ear3d bench live", size=size, resizable=False,
                                                      vsync=False, gl_version=(4, 3), samples=0)
        mglw.activate_context(window=self.wnd)
        self.ctx = self.wnd.ctx
        from ear3d.gfx.context import gil_free_finish

        self.released_wait = gil_free_finish(self.ctx)

    @property
    def fbo(self) -> Any:
        return self.wnd.fbo

    def begin(self) -> None:
        self.wnd.use()

    def end(self) -> None:
        self.wnd.swap_buffers()  # through ctypes: waits with the GIL released

    def read_rgb(self) -> np.ndarray:
        from ear3d.live_record import read_rgb

        return read_rgb(self.wnd.fbo)

    def release(self) -> None:
        self.wnd.destroy()


@dataclasses.dataclass
class _Measured:
    """The frames and steps of one case over all rounds."""

    times: list[float] = dataclasses.field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    loads: list[float] = dataclasses.field(default_factory=list)
    state: Any = None
    edges: int | None = None


class _Driver:
    """Runs the frame loop of a LiveApp on a surface, as the window does."""

    def __init__(self, app: Any, surface: Any):
        self.app = app
        self.surface = surface
        self.last_dt = 1 / 30

    def frame(self) -> float:
        start = time.perf_counter()
        self.surface.begin()
        self.app.frame(self.surface.fbo, self.last_dt)
        self.surface.end()
        self.last_dt = time.perf_counter() - start
        return self.last_dt

    def draw_for(self, seconds: float) -> list[float]:
        times, end = [], time.perf_counter() + seconds
        while time.perf_counter() < end:
            times.append(self.frame())
        return times

    def settle(self, most: float) -> None:
        """Draw until adaptive quality has not changed for SETTLED_S (at most ``most`` s)."""
        quality = self.app.quality
        end = time.perf_counter() + most
        changes, since = quality.changes, time.perf_counter()
        while time.perf_counter() < end and time.perf_counter() - since < SETTLED_S:
            self.frame()
            if quality.changes != changes:
                changes, since = quality.changes, time.perf_counter()


def _steps(app: Any) -> int:
    """Optimization steps the worker has taken."""
    _, frame = app.session.worker.frames.peek()
    return frame.step if frame is not None else 0


def _launch(app: Any, driver: _Driver, started: float, timeout: float) -> list[Row]:
    """Draw until the first sonified clip; the launch rows."""
    first = driver.frame()
    first_frame = time.perf_counter() - started
    loading: list[float] = [first]
    deadline = started + timeout
    while app.loading:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the model was not ready after {timeout:g} s")
        loading.append(driver.frame())
    network = time.perf_counter() - started
    build = loading.pop()  # the frame that built the scene on the GL thread (shaders, buffers)
    if not app.params.get("sonify"):
        app.params.set("sonify", 1)
    while app.session.frame.step < 1:  # the clip of an optimization step has reached the sound
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no sonified clip after {timeout:g} s")
        driver.frame()
    sonified = time.perf_counter() - started
    return [Row("launch", "to first frame drawn", first_frame, "s"),
            Row("launch", "to first frame of the network", network, "s"),
            Row("launch", "to first sonified clip", sonified, "s"),
            Row("launch", "longest frame while the model loads", max(loading) * 1e3, "ms"),
            Row("launch", "frame time median while the model loads", statistics.median(loading) * 1e3, "ms"),
            Row("launch", "frames drawn while the model loads", len(loading), "frames"),
            Row("launch", "frame that builds the scene", build * 1e3, "ms")]


def run(args: argparse.Namespace, config: Config) -> list[Row]:
    from tqdm import tqdm

    from ear3d.adaptive import AdaptiveQuality
    from ear3d.app import LiveApp
    from ear3d.worker_client import worker_kind

    if args.rounds < 1:
        raise ValueError(f"--rounds must be at least 1, got {args.rounds}")
    rc = config.render
    started = time.perf_counter()
    surface = _Window(args.size, args.window) if args.window else _Offscreen(args.size)
    app = None
    try:
        app = LiveApp(config, surface.ctx, out_dir=Path("out"))
        app.quality.configure(enabled=False)
        driver = _Driver(app, surface)
        rows = _launch(app, driver, started, args.launch_timeout)
        # One controller per worker state, each keeping its level across rounds.
        controllers = {running: AdaptiveQuality(rc.target_fps, rc.scale, rc.min_scale) for running in (False, True)}
        fixed = AdaptiveQuality(rc.target_fps, rc.scale, rc.min_scale, enabled=False)
        measured = {name: _Measured() for name, _, _ in CASES}
        measured[NO_RENDERING] = _Measured()
        default_wait = app.wait_for_gl
        waits = {GIL_HELD: surface.ctx.finish, GIL_RELEASED: surface.released_wait}
        other_wait = GIL_HELD if worker_kind(config) == "process" else GIL_RELEASED
        measured[other_wait] = _Measured()
        plan = [(r, case) for r in range(args.rounds)
                for case in (*CASES, (NO_RENDERING, True, False), (other_wait, True, True))]
        for r, (name, running, adaptive) in tqdm(plan, desc="bench live", unit="case"):
            app.params.set("sonify", int(running))
            app.quality = controllers[running] if adaptive else fixed
            other = name == other_wait
            app.wait_for_gl = waits[name] if other and default_wait is not None else default_wait
            m = measured[name]
            if name == NO_RENDERING:
                time.sleep(args.warmup)
                steps0, t0 = _steps(app), time.perf_counter()
                time.sleep(args.seconds)
                m.steps += _steps(app) - steps0
                m.seconds += time.perf_counter() - t0
                m.loads.append(os.getloadavg()[0])
                continue
            driver.draw_for(args.warmup)
            if adaptive and r == 0:
                driver.settle(args.settle)
            steps0, t0 = _steps(app), time.perf_counter()
            m.times += driver.draw_for(args.seconds)
            m.steps += _steps(app) - steps0
            m.seconds += time.perf_counter() - t0
            m.loads.append(os.getloadavg()[0])
            m.state = app.quality.state
            m.edges = app.status()["edges_drawn"]
            if args.screenshot is not None and running and not other:
                path = args.screenshot.with_name(f"{args.screenshot.stem}-{'adaptive' if adaptive else 'full'}.png")
                from ear3d.live_record import save_png

                save_png(path, surface.read_rgb())
        app.params.set("sonify", 0)
        rows += _case_rows(measured)
        rows += _ratio_rows(measured)
        if args.workers == "both":
            rows += _compare_workers(args, config, surface, app, driver, fixed)
        return rows
    finally:
        if app is not None:
            app.close()
        surface.release()


def _case_rows(measured: dict[str, _Measured]) -> list[Row]:
    rows: list[Row] = []
    for name, m in measured.items():
        if m.times:
            times = np.asarray(m.times)
            median = float(np.median(times))
            rows += [Row(name, "frame time median", median * 1e3, "ms"),
                     Row(name, "frame time p99", float(np.percentile(times, 99)) * 1e3, "ms"),
                     Row(name, "frame time max", float(times.max()) * 1e3, "ms"),
                     Row(name, "frames/s (1 / median)", 1.0 / median, "frames/s"),
                     Row(name, "frames", len(times), "frames")]
            state = m.state
            rows += [Row(name, "adaptive level", state.level, "level"),
                     Row(name, "render scale", state.scale, "fraction")]
            if m.edges is not None:
                rows.append(Row(name, "edges drawn", m.edges, "edges"))
        if name.startswith("worker running") and m.seconds > 0:
            rows.append(Row(name, "optimization steps/s", m.steps / m.seconds, "steps/s"))
        rows.append(Row(name, "load average (1 min)", statistics.mean(m.loads), "load"))
    return rows


def _ratio_rows(measured: dict[str, _Measured]) -> list[Row]:
    def median(name: str) -> float:
        return float(np.median(measured[name].times))

    def rate(name: str) -> float:
        m = measured[name]
        return m.steps / m.seconds if m.seconds > 0 else float("nan")

    rows = [Row("worker running vs idle", "frame time median, adaptive off",
                median("worker running, adaptive off") / median("worker idle, adaptive off"), "ratio"),
            Row("worker running vs idle", "frame time p99, adaptive off",
                float(np.percentile(measured["worker running, adaptive off"].times, 99))
                / float(np.percentile(measured["worker idle, adaptive off"].times, 99)), "ratio"),
            Row("adaptive on vs off", "frames/s, worker idle",
                median("worker idle, adaptive off") / median("worker idle, adaptive on"), "ratio"),
            Row("adaptive on vs off", "frames/s, worker running",
                median("worker running, adaptive off") / median("worker running, adaptive on"), "ratio")]
    default = "worker running, adaptive on"
    held, released = (GIL_HELD, default) if GIL_HELD in measured else (default, GIL_RELEASED)
    rows += [Row("GIL released vs held while GL draws", "frame time median, worker running, adaptive on",
                 median(released) / median(held), "ratio"),
             Row("GIL released vs held while GL draws", "optimization steps/s, worker running, adaptive on",
                 rate(released) / rate(held) if rate(held) > 0 else float("nan"), "ratio")]
    no_render = rate(NO_RENDERING)
    if no_render > 0:
        for name in ("worker running, adaptive off", "worker running, adaptive on"):
            rows.append(Row(f"{name} vs no rendering", "optimization steps/s", rate(name) / no_render, "ratio"))
    return rows


def _compare_workers(args: argparse.Namespace, config: Config, surface: Any, app: Any, driver: _Driver,
                     fixed: Any) -> list[Row]:
    """Steps/s of the thread and the process worker, drawing and not: ``app`` runs the configured
    kind, a second LiveApp the other one; rounds alternate between them."""
    from ear3d.app import LiveApp
    from ear3d.worker_client import worker_kind

    mine = worker_kind(config)
    other_kind = "thread" if mine == "process" else "process"
    other = LiveApp(config.replace({"optimize": {"worker": other_kind}}), surface.ctx, out_dir=Path("out"))
    try:
        other.quality = fixed
        other_driver = _Driver(other, surface)
        deadline = time.perf_counter() + args.launch_timeout
        while other.loading:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the {other_kind} worker's model was not ready after {args.launch_timeout:g} s")
            other_driver.frame()
        apps = {mine: (app, driver), other_kind: (other, other_driver)}
        measured = {(kind, load): _Measured() for kind in ("thread", "process") for load in WORKER_LOADS}
        for _ in range(args.rounds):
            for kind in ("thread", "process"):
                for k, (a, d) in apps.items():  # only the measured one steps
                    a.quality = fixed
                    a.params.set("sonify", int(k == kind))
                    d.frame()  # applies the controls
                a, d = apps[kind]
                for load in WORKER_LOADS:
                    m = measured[(kind, load)]
                    _load_for(load, d, args.warmup)
                    steps0, t0 = _steps(a), time.perf_counter()
                    m.times += _load_for(load, d, args.seconds)
                    m.steps += _steps(a) - steps0
                    m.seconds += time.perf_counter() - t0
                    m.loads.append(os.getloadavg()[0])
        for a, d in apps.values():
            a.params.set("sonify", 0)
            d.frame()
    finally:
        other.close()
    rows: list[Row] = []
    for (kind, load), m in measured.items():
        name = f"{kind} worker, {load}"
        rows.append(Row(name, "optimization steps/s", m.steps / m.seconds, "steps/s"))
        if m.times:
            rows.append(Row(name, "frame time median", float(np.median(m.times)) * 1e3, "ms"))
        rows.append(Row(name, "load average (1 min)", statistics.mean(m.loads), "load"))

    def rate(kind: str, load: str) -> float:
        m = measured[(kind, load)]
        return m.steps / m.seconds

    for load in WORKER_LOADS:
        thread = rate("thread", load)
        rows.append(Row("process vs thread worker", f"optimization steps/s, {load}",
                        rate("process", load) / thread if thread > 0 else float("nan"), "ratio"))
    drawing = WORKER_LOADS[0]
    rows.append(Row("process vs thread worker", f"frame time median, {drawing}",
                    float(np.median(measured[("process", drawing)].times))
                    / float(np.median(measured[("thread", drawing)].times)), "ratio"))
    return rows


def _load_for(load: str, driver: _Driver, seconds: float) -> list[float]:
    """Run one of WORKER_LOADS for ``seconds``; the frame times when drawing."""
    end = time.perf_counter() + seconds
    if load == WORKER_LOADS[0]:
        return driver.draw_for(seconds)
    if load == WORKER_LOADS[1]:
        import ctypes

        hold = ctypes.PyDLL(None).usleep  # through PyDLL: the lock stays held, no core is used
        while time.perf_counter() < end:
            hold(int(LOCK_HELD_S * 1e6))
        return []
    time.sleep(seconds)
    return []
