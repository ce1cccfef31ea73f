"""The concurrent torch worker: owns the model and the device, answers commands from a queue,
publishes the newest activations through a latest-value mailbox.

Today it listens to the clips it is given (command ``clip``); the sonification issue adds
optimization steps to the same loop. The caller never waits on it.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

import numpy as np
import torch

from ear3d.config import Config
from ear3d.messages import ActivationFrame, Clip, Command, Mailbox
from ear3d.ml.model import Ear, build_ear

log = logging.getLogger(__name__)


def choose_device(spec: str) -> torch.device:
    """'auto' → CUDA when available, else CPU; 'cuda' without CUDA is an error."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("optimize.device = 'cuda' but torch sees no CUDA device (CPU build or no GPU)")
    return torch.device(spec)


def listen(ear: Ear, clip: Clip, device: torch.device) -> dict[str, np.ndarray]:
    """Run the ear on one clip: name → (C, F, T) float32 numpy activations."""
    x = torch.from_numpy(np.ascontiguousarray(clip.samples, dtype=np.float32)).to(device)[None]
    with torch.inference_mode():
        acts = ear(x)
    return {name: a[0].float().cpu().numpy() for name, a in acts.items()}


class Worker:
    """A thread that owns the ear. ``send`` never blocks; results appear in ``frames``.

    Commands: ``Command("clip", Clip)`` listens to a new clip. A bad command is logged and
    reported through ``errors`` (newest error text); the loop goes on.
    """

    def __init__(self, config: Config, on_frame: Callable[[ActivationFrame], None] | None = None):
        self.config = config
        self.frames: Mailbox[ActivationFrame] = Mailbox()
        self.errors: Mailbox[str] = Mailbox()
        self._commands: queue.Queue[Command | None] = queue.Queue()
        self._on_frame = on_frame
        self._thread: threading.Thread | None = None
        self.device = choose_device(config.optimize.device)
        self.layer_names: list[str] = []

    def start(self) -> "Worker":
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, failure), name="ear3d-worker", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def send(self, command: Command) -> None:
        self._commands.put(command)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish and join it (idempotent)."""
        if self._thread is not None:
            self._commands.put(None)
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> "Worker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        try:
            if self.config.optimize.threads:
                torch.set_num_threads(self.config.optimize.threads)
            ear = build_ear(self.config).to(self.device)
            self.layer_names = ear.layer_names()
        except BaseException as e:  # reported to start(), which re-raises in the caller
            failure.append(e)
            ready.set()
            return
        ready.set()
        while True:
            command = self._commands.get()
            if command is None:
                return
            try:
                self._handle(ear, command)
            except Exception as e:  # one bad command never ends the loop
                log.warning("worker: command %r failed: %s", command.name, e)
                self.errors.put(f"{command.name}: {e}")

    def _handle(self, ear: Ear, command: Command) -> None:
        if command.name == "clip":
            clip = command.value
            if not isinstance(clip, Clip):
                raise TypeError(f"'clip' needs a Clip, got {type(clip).__name__}")
            if clip.sample_rate != self.config.audio.sample_rate:
                raise ValueError(
                    f"clip sample rate {clip.sample_rate} Hz differs from the model's {self.config.audio.sample_rate} Hz"
                )
            if not np.isfinite(clip.samples).all():
                raise ValueError("clip contains NaN or infinite samples")
            frame = ActivationFrame(clip, listen(ear, clip, self.device))
            self.frames.put(frame)
            if self._on_frame is not None:
                self._on_frame(frame)
        else:
            raise ValueError(f"unknown command {command.name!r}; known: clip")
