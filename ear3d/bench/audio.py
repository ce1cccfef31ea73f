"""`ear3d bench audio`: does the loop play in real time while the app draws and the worker
optimizes?

Cases, each ``--seconds`` long:

- ``cause_thread`` / ``cause_process``: the main thread alternates idle and a stand-in of one
  ``Scene.draw`` on llvmpipe (a C call that holds the interpreter lock for DRAW_SECONDS, as
  moderngl does through its GL calls); every gap between two callback starts is set against
  that timeline: gaps overlapping a draw vs gaps while idle (``late`` = over 1.5 buffers).
- ``{thread,process}_{1024,256}``: draws back to back, FRAME_GAP_SECONDS apart (the render loop), while the
  sonification worker steps flat out; ``audio.engine = "thread"`` (the callback in this
  process) next to ``"process"`` (the audio process): underflows, frames played per second
  against the nominal rate, callback lateness (gap between callback starts − one buffer).
  With ``--window`` the load is the real thing instead (cases ``window_{engine}_{frames}``):
  a ``LiveApp`` (session, worker sonifying toward ``optimize.start_target``, playback, scene)
  drawing frames back to back at render.width × render.height into an EGL framebuffer, or
  into the real window (moderngl-window, pyglet) when ``$DISPLAY`` is set (Xvfb). Measured
  once the model is loaded; each case also reports frames drawn and worker steps per second
  and the load average (other programs sharing the cores show there).
- ``loop_buffer`` / ``naive``: time inside the callback, our preallocated loop buffer against a
  straightforward callback that indexes and allocates per buffer (thread engine, worker running).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ear3d.audio import AudioOutput, LoopBuffer
from ear3d.audio_client import ProcessOutput
from ear3d.bench import Row
from ear3d.config import Config

HELP = "audio under load: underflows, real rate and callback lateness, thread vs process engine"

#: Seconds one stand-in draw holds the interpreter lock (one Scene.draw of the default graph on
#: llvmpipe holds it 189–334 ms, measured in issue 19).
DRAW_SECONDS = 0.25
#: Seconds between back-to-back draws (event handling, buffer swap: the lock is free), in which
#: the worker's Python code gets its turn.
FRAME_GAP_SECONDS = 0.02
#: A gap between callback starts longer than this many buffers counts as late.
LATE_BUFFERS = 1.5
BUFFERS = (1024, 256)
ENGINES = ("thread", "process")


class NaiveLoop(LoopBuffer):
    """The straightforward loop: a fancy-indexed copy of the clip per buffer (allocates)."""

    def fill(self, out: np.ndarray) -> None:
        n, length = out.shape[0], self._front.shape[0]
        idx = (np.arange(n) + self._pos) % length
        out[:] = self._front[idx]
        loops, self._pos = divmod(self._pos + n, length)
        self._loops += loops
        self._written += n
        self._snap = self._snap._replace(position=self._pos, loop_count=self._loops, frames_written=self._written,
                                         fill_time=time.perf_counter())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds per case (default 30)")
    parser.add_argument("--window", action="store_true",
                        help="load = a real LiveApp drawing (the real window when $DISPLAY is set, else EGL) "
                             "while its worker sonifies, instead of the draw stand-in")
    parser.add_argument("--cases", default="all",
                        help="comma-separated subset of: cause, engines, callback (default all)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"engines of the engines cases (default {','.join(ENGINES)})")
    parser.add_argument("--buffers", default=",".join(map(str, BUFFERS)),
                        help=f"buffer sizes in frames of the engines cases (default {','.join(map(str, BUFFERS))})")


class GilHog:
    """Holds the interpreter lock for a chosen time in one C call (``sum`` over
    ``itertools.repeat`` never returns to the bytecode loop, so no other thread runs), the
    way a long moderngl call does. Calibrated at construction."""

    def __init__(self) -> None:
        n = 200_000
        while True:
            t0 = time.perf_counter()
            sum(itertools.repeat(1, n))
            dt = time.perf_counter() - t0
            if dt > 0.02:
                break
            n *= 4
        self.per_second = n / dt

    def hold(self, seconds: float) -> None:
        sum(itertools.repeat(1, max(1, int(seconds * self.per_second))))


class Timeline:
    """(start, end) perf_counter seconds of each draw the main thread made."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []

    def run(self, draw: Callable[[], None]) -> None:
        t0 = time.perf_counter()
        draw()
        self.spans.append((t0, time.perf_counter()))

    def busy_seconds(self, t0: float, t1: float) -> float:
        return sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in self.spans)


def gap_rows(case: str, starts: np.ndarray, buffer_s: float, timeline: Timeline | None) -> list[Row]:
    """Lateness of the callback starts ``starts`` (seconds, ascending); with a timeline, gaps
    that overlap a draw against gaps that do not."""
    gaps = np.diff(starts)
    if gaps.size == 0:
        return [Row(case, "callback_gaps", 0, "count")]
    lateness = gaps - buffer_s
    rows = [Row(case, "lateness_p99", 1e3 * float(np.percentile(lateness, 99)), "ms"),
            Row(case, "lateness_max", 1e3 * float(lateness.max()), "ms"),
            Row(case, "late_gaps", int(np.sum(gaps > LATE_BUFFERS * buffer_s)), "count")]
    if timeline is not None and timeline.spans:
        spans = np.array(timeline.spans)
        a, b = starts[:-1], starts[1:]
        # a gap overlaps a draw when some draw starts before the gap ends and ends after it starts
        i = np.searchsorted(spans[:, 0], b) - 1
        during = (i >= 0) & (spans[np.maximum(i, 0), 1] > a)
        late = gaps > LATE_BUFFERS * buffer_s
        for name, mask in (("during_draw", during), ("idle", ~during)):
            if mask.any():
                rows += [Row(case, f"gap_max_{name}", 1e3 * float(gaps[mask].max()), "ms"),
                         Row(case, f"late_share_{name}", 100 * float(late[mask].mean()), "%"),
                         Row(case, f"gaps_{name}", int(mask.sum()), "count")]
    return rows


class OptimizerLoad:
    """The sonification worker stepping flat out toward ``optimize.start_target`` (or ar6)."""

    def __init__(self, config: Config):
        from ear3d.ml.worker import Worker

        self.config = config
        self.worker = Worker(config)
        self.steps = 0

    def __enter__(self) -> OptimizerLoad:
        from ear3d.clips import origin_clip
        from ear3d.control.params import live_specs
        from ear3d.control.sonify import start_commands
        from ear3d.messages import Command

        self.worker.start()
        self.worker.send(Command("clip", origin_clip(self.config)))
        _, frame = self.worker.frames.wait_newer(0, timeout=300)
        if frame is None:
            raise RuntimeError("the worker produced no activations within 300 s")
        config = self.config if self.config.optimize.start_target else self.config.replace(
            {"optimize": {"start_target": "ar6"}})
        values = {spec.name: spec.default for spec in live_specs(config, list(frame.layers))}
        for command in start_commands(values, list(frame.layers)):
            self.worker.send(command)
        return self

    def step_count(self) -> int:
        _, frame = self.worker.frames.peek()
        return frame.step if frame is not None else 0

    def __exit__(self, *exc: object) -> None:
        self.steps = self.step_count()
        self.worker.stop()


def _output(engine: str, clip: np.ndarray, config: Config, frames: int) -> AudioOutput | ProcessOutput:
    ac = config.audio
    if engine == "process":
        return ProcessOutput(clip, 0, ac.crossfade_samples, ac.sample_rate, frames, ac.device, ac.volume,
                             clip_seconds=ac.clip_seconds)
    return AudioOutput(LoopBuffer(clip, ac.crossfade_samples), ac.sample_rate, frames, ac.device, ac.volume)


def _fifo_priority(out: Any) -> int:
    """The audio process's SCHED_FIFO priority; 0 when it is not real time (or the thread engine)."""
    kind, _, priority = getattr(out, "scheduling", "").partition(" ")
    return int(priority) if kind == "fifo" else 0


def _callback_timing(out: Any) -> tuple[np.ndarray, np.ndarray]:
    """(starts, durations) in seconds of the latest callbacks, oldest first (one request to
    the audio process, so that both cover the same callbacks)."""
    if isinstance(out, ProcessOutput):
        stats = out.stats()
        return stats.get("starts", np.zeros(0)), stats.get("durations", np.zeros(0))
    return out.callback_starts(), out.callback_durations()


def play_under_load(case: str, out: Any, seconds: float, draw: Callable[[], None], pause: float,
                    steps: Callable[[], int] | None) -> list[Row]:
    """Run ``draw`` on this thread (then sleep ``pause``) for ``seconds`` while ``out`` plays;
    rows of what was played. ``steps``: the worker's step count so far (None: no worker)."""
    timeline = Timeline()
    time.sleep(0.5)  # let the stream settle
    c0, u0, f0 = out.callbacks, out.underruns, out.loop.frames_written
    s0, t0 = steps() if steps else 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        timeline.run(draw)
        if pause:
            time.sleep(pause)
    t1 = time.perf_counter()
    c1, u1, f1 = out.callbacks, out.underruns, out.loop.frames_written
    stepped = (steps() - s0) if steps else 0
    starts, durations = _callback_timing(out)
    n = min(starts.size, durations.size)  # the same callbacks, oldest first
    inside = (starts[-n:] >= t0) & (starts[-n:] <= t1)
    starts, durations = starts[-n:][inside], durations[-n:][inside]
    rate = (f1 - f0) / (t1 - t0)
    buffer_s = out.buffer_frames / out.stream_rate
    rows = [Row(case, "underruns", u1 - u0, "count"), Row(case, "callbacks", c1 - c0, "count"),
            Row(case, "played_rate", rate, "frames/s"),
            Row(case, "played_of_nominal", 100 * rate / out.stream_rate, "%"),
            Row(case, "draws_per_s", len(timeline.spans) / (t1 - t0), "1/s"),
            Row(case, "draw_share", 100 * timeline.busy_seconds(t0, t1) / (t1 - t0), "%"),
            Row(case, "load_average_1min", os.getloadavg()[0], "runnable"),
            Row(case, "audio_fifo_priority", _fifo_priority(out), "SCHED_FIFO (0: not real time)")]
    if steps is not None:
        rows.append(Row(case, "worker_steps_per_s", stepped / (t1 - t0), "steps/s"))
    if durations.size:  # time inside the callback (its shared-memory reads and writes included)
        rows += [Row(case, "callback_p99", 1e3 * float(np.percentile(durations, 99)), "ms"),
                 Row(case, "callback_max", 1e3 * float(durations.max()), "ms")]
    return rows + gap_rows(case, starts, buffer_s, timeline)


@contextmanager
def live_app_drawing(config: Config) -> Iterator[tuple[Any, Callable[[], None]]]:
    """A LiveApp and a function that draws one frame of it: into the real window when
    ``$DISPLAY`` is set, else into an EGL framebuffer (render.width × render.height)."""
    if os.environ.get("DISPLAY"):
        from ear3d.live_window import LiveWindow

        live = LiveWindow(config, "pyglet")
        wnd, app = live.wnd, live.app
        last = [time.perf_counter()]

        def window_frame() -> None:
            now = time.perf_counter()
            wnd.use()
            app.frame(wnd.fbo, now - last[0])
            app.after_frame(wnd.fbo)
            wnd.swap_buffers()  # also handles the window's events
            last[0] = now

        try:
            yield app, window_frame
        finally:
            app.close()
            wnd.destroy()
        return

    from ear3d.app import LiveApp
    from ear3d.gfx.context import headless_context

    ctx = headless_context()
    try:
        fbo = ctx.simple_framebuffer((config.render.width, config.render.height))
        try:
            app = LiveApp(config, ctx)
            last = [time.perf_counter()]

            def egl_frame() -> None:
                now = time.perf_counter()
                app.frame(fbo, now - last[0])
                ctx.finish()  # the frame's GL work is done here, as a swap would wait for it
                last[0] = now

            try:
                yield app, egl_frame
            finally:
                app.close()
        finally:
            fbo.release()
    finally:
        ctx.release()


#: Seconds the window case waits for the model (built on a background thread) to be ready.
LOAD_TIMEOUT = 600.0
#: Frames drawn after loading before measuring (the first ones compile shaders).
WARMUP_FRAMES = 3


def run_window_case(case: str, config: Config, seconds: float) -> list[Row]:
    """A real LiveApp (session, worker sonifying, playback, scene) drawing back to back."""
    with live_app_drawing(config) as (app, frame):
        deadline = time.perf_counter() + LOAD_TIMEOUT
        while app.loading:  # the loading screen, drawn as the window does while the model builds
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{case}: the model was not ready after {LOAD_TIMEOUT:g} s")
            frame()
            time.sleep(0.01)
        out = app.playback.output
        if out is None:
            raise RuntimeError(f"{case}: no sound: {app.playback.problem}")
        if out.buffer_frames != config.audio.buffer_frames:
            raise RuntimeError(f"{case}: the stream plays {out.buffer_frames}-frame buffers, not the configured ones")
        for _ in range(WARMUP_FRAMES):
            frame()
        worker = app.session.worker

        def steps() -> int:
            _, latest = worker.frames.peek()
            return latest.step if latest is not None else 0

        return play_under_load(case, out, seconds, frame, 0.0, steps)


def callback_rows(clip: np.ndarray, config: Config, seconds: float, load: OptimizerLoad) -> list[Row]:
    """Time inside the callback: LoopBuffer against NaiveLoop (thread engine, worker running)."""
    ac = config.audio
    rows, medians = [], {}
    for case, loop in (("loop_buffer", LoopBuffer(clip, ac.crossfade_samples)), ("naive", NaiveLoop(clip, 0))):
        with AudioOutput(loop, ac.sample_rate, ac.buffer_frames, ac.device, ac.volume) as out:
            c0, u0, s0, t0 = out.callbacks, out.underruns, load.step_count(), time.perf_counter()
            time.sleep(seconds)
            n, underruns = out.callbacks - c0, out.underruns - u0
            steps_per_s = (load.step_count() - s0) / (time.perf_counter() - t0)
            d = out.callback_durations()[-n:] if n else np.zeros(1)
            buffer_s = ac.buffer_frames / out.stream_rate
        medians[case] = float(np.median(d))
        rows += [Row(case, "callback_median", float(np.median(d)) * 1e3, "ms"),
                 Row(case, "callback_p99", float(np.percentile(d, 99)) * 1e3, "ms"),
                 Row(case, "callback_max", float(d.max()) * 1e3, "ms"),
                 Row(case, "callback_p99_of_buffer", 100 * float(np.percentile(d, 99)) / buffer_s, "%"),
                 Row(case, "underruns", underruns, "count"), Row(case, "callbacks", n, "count"),
                 Row(case, "optimizer_load", steps_per_s, "steps/s")]
    ratio = medians["naive"] / max(medians["loop_buffer"], 1e-12)
    rows.append(Row("naive/loop_buffer", "callback_median_ratio", ratio, "x"))
    return rows


def run(args: argparse.Namespace, config: Config) -> list[Row]:

    from ear3d.clips import origin_clip

    wanted = {c.strip() for c in args.cases.split(",")} if args.cases != "all" else {"cause", "engines", "callback"}
    unknown = wanted - {"cause", "engines", "callback"}
    if unknown:
        raise SystemExit(f"bench audio: unknown case group(s) {', '.join(sorted(unknown))}; "
                         "choose from cause, engines, callback")
    clip = origin_clip(config).samples
    hog = GilHog()

    def stand_in_draw() -> None:
        hog.hold(DRAW_SECONDS)

    rows: list[Row] = []
    if "cause" in wanted:  # idle and drawing alternate: is the callback late exactly while drawing?
        for engine in ENGINES:
            with _output(engine, clip, config, config.audio.buffer_frames) as out:
                rows += play_under_load(f"cause_{engine}", out, args.seconds, stand_in_draw, DRAW_SECONDS, None)
    try:
        engines = [e.strip() for e in args.engines.split(",") if e.strip()]
        buffers = [int(b) for b in args.buffers.split(",") if b.strip()]
    except ValueError:
        raise SystemExit(f"bench audio: --buffers takes frame counts, e.g. 1024,256 (got {args.buffers!r})") from None
    if set(engines) - set(ENGINES) or not engines or not buffers:
        raise SystemExit(f"bench audio: --engines takes some of {', '.join(ENGINES)} (got {args.engines!r})")
    if "engines" in wanted and args.window:
        for engine, frames in itertools.product(engines, buffers):
            audio = dataclasses.replace(config.audio, engine=engine, buffer_frames=frames)
            rows += run_window_case(f"window_{engine}_{frames}", dataclasses.replace(config, audio=audio), args.seconds)
    if ("engines" in wanted and not args.window) or "callback" in wanted:
        with OptimizerLoad(config) as load:
            if "engines" in wanted and not args.window:
                for engine, frames in itertools.product(engines, buffers):
                    with _output(engine, clip, config, frames) as out:
                        rows += play_under_load(f"{engine}_{frames}", out, args.seconds, stand_in_draw,
                                                FRAME_GAP_SECONDS, load.step_count)
            if "callback" in wanted:
                rows += callback_rows(clip, config, args.seconds, load)
    return rows
