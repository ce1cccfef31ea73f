"""Audio callback cost under load: how long each PortAudio callback takes (median, p99,
max) and how many underruns happen while the sonification worker optimizes flat out in
another thread. Our preallocated loop buffer
is measured against a straightforward callback that indexes and allocates per buffer."""

from __future__ import annotations

import argparse
import time

import numpy as np

from ear3d.audio import AudioOutput, LoopBuffer
from ear3d.bench import Row
from ear3d.config import Config

HELP = "audio callback time and underruns while the optimizer runs flat out"


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
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds per variant (default 60)")


class OptimizerLoad:
    """The sonification worker stepping flat out toward ``optimize.start_target`` (or ar6)."""

    def __init__(self, config: Config):
        from ear3d.ml.worker import Worker

        self.config = config
        self.worker = Worker(config)
        self.steps = 0

    def __enter__(self) -> "OptimizerLoad":
        from ear3d.clips import origin_clip
        from ear3d.control.sonify import start_commands
        from ear3d.messages import Command

        self.worker.start()
        self.worker.send(Command("clip", origin_clip(self.config)))
        _, frame = self.worker.frames.wait_newer(0, timeout=300)
        _, commands = start_commands(self.config.optimize.start_target or "ar6", list(frame.layers))
        for command in commands:
            self.worker.send(command)
        return self

    def __exit__(self, *exc: object) -> None:
        _, frame = self.worker.frames.peek()
        self.steps = frame.step if frame is not None else 0
        self.worker.stop()


def measure(loop: LoopBuffer, config: Config, seconds: float) -> dict[str, float]:
    ac = config.audio
    with AudioOutput(loop, ac.sample_rate, ac.buffer_frames, ac.device, ac.volume) as out:
        with OptimizerLoad(config) as load:  # measured once the worker is optimizing
            c0, u0, t0 = out.callbacks, out.underruns, time.perf_counter()
            time.sleep(seconds)
            n = out.callbacks - c0
            underruns = out.underruns - u0
        elapsed = time.perf_counter() - t0
        durations = out.callback_durations()[-n:] if n else np.zeros(1)
        return {"callbacks": n, "underruns": underruns, "load_steps_per_s": load.steps / elapsed,
                "median": float(np.median(durations)), "p99": float(np.percentile(durations, 99)),
                "max": float(durations.max()), "buffer": ac.buffer_frames / out.stream_rate}


def run(args: argparse.Namespace, config: Config) -> list[Row]:
    from tqdm import tqdm

    from ear3d.clips import origin_clip

    clip = origin_clip(config).samples
    rows: list[Row] = []
    results = {}
    for case, loop in tqdm([("loop_buffer", LoopBuffer(clip, config.audio.crossfade_samples)),
                            ("naive", NaiveLoop(clip, 0))], desc="bench audio", unit="variant"):
        r = results[case] = measure(loop, config, args.seconds)
        rows += [
            Row(case, "callback_median", r["median"] * 1e3, "ms"),
            Row(case, "callback_p99", r["p99"] * 1e3, "ms"),
            Row(case, "callback_max", r["max"] * 1e3, "ms"),
            Row(case, "callback_p99_of_buffer", 100 * r["p99"] / r["buffer"], "%"),
            Row(case, "underruns", r["underruns"], "count"),
            Row(case, "callbacks", r["callbacks"], "count"),
            Row(case, "optimizer_load", r["load_steps_per_s"], "steps/s"),
        ]
    rows.append(Row("naive/loop_buffer", "callback_median_ratio",
                    results["naive"]["median"] / max(results["loop_buffer"]["median"], 1e-12), "x"))
    return rows
