"""The concurrent torch worker: owns the model and the device, runs sonification steps
continuously while a target is selected, answers commands from a queue, publishes the newest
clip and activations through a latest-value mailbox. The caller never waits on it.

This is the thread worker; :class:`ear3d.worker_client.ProcessWorker` runs this same loop in a
process of its own (``optimize.worker``; :func:`ear3d.worker_client.new_worker` picks one), where
a renderer holding the interpreter lock through its GL calls cannot starve the steps.

Commands (``Command(name, value)``; a bad one is answered in ``errors`` and the loop goes on):

===================  =====================================================================
``clip``             a :class:`Clip` at the model's rate: the new origin and current loop;
                     its activations are published at once
``origin``           the same from ``"silence"``, ``"noise"``, a clip name in assets/clips/,
                     a path to any audio file (resampled, mono, cut or looped) or a Clip
``select``           a :class:`Selection` or a mapping ``{"layer", "channel": (pos, width),
                     "pitch": …, "time": …, "mode": "max"|"min", "weight", "keep"}``: the
                     current target region; with ``keep`` the previous one is kept too
``keep``             keep the current selection when the next ``select`` arrives
``clear``            no target: optimisation stops (the loop stays as it is)
``objective``        a scripted :class:`Objective` (replaces all selections), or None
``set``              ``{key: value}`` of the ``[optimize]`` config (learning_rate, batch,
                     factors, …), validated like the config file; every such key is also
                     a command of its own, e.g. ``Command("learning_rate", 0.01)``
``pause``/``resume``  hold or continue the steps (commands are still answered)
``reset``            back to the origin clip, histories cleared
``step``             run N steps now (also while paused)
``listen``           publish the current loop's activations (after the last update) once no
                     steps are running or queued
===================  =====================================================================

Each published :class:`ActivationFrame` carries the clip the activations belong to, the clean
(unshifted, unmasked) item's activations per layer, the loss and target histories, the
scalogram and the loss's gradient with respect to it, the step count, the NaN recoveries
and a mask of the selected neurons. On CUDA the activations also stay on the GPU
(``device_layers``, the step's own tensors, not copies): the renderer builds its activity
table from them there and takes it into GL through CUDA–GL interop (ear3d.activity,
ear3d.gfx.interop); on the CPU it uses the host arrays.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ear3d.config import Config, ConfigError
from ear3d.messages import ActivationFrame, Clip, Command, Mailbox
from ear3d.ml.device import choose_device
from ear3d.ml.model import Ear, build_ear
from ear3d.ml.objectives import Objective, Selection, SelectionError, combine, selected_mask
from ear3d.model_folder import stats_folder

log = logging.getLogger(__name__)

#: [optimize] keys that cannot change while the worker runs.
FIXED_KEYS = ("device", "threads", "worker", "compile")
#: Steps in a row that may raise before the target is dropped (one failure is retried: the
#: loop keeps its last good clip and the optimizer goes on).
MAX_FAILED_STEPS = 3


def listen(ear: Ear, clip: Clip, device: torch.device) -> dict[str, np.ndarray]:
    """Run the plain (not loop-aware) ear on one clip: name → (C, F, T) float32 numpy activations."""
    x = torch.from_numpy(np.ascontiguousarray(clip.samples, dtype=np.float32)).to(device)[None]
    with torch.inference_mode():
        acts = ear(x)
    return {name: a[0].float().cpu().numpy() for name, a in acts.items()}


class Worker:
    """A thread that owns the ear and the sonification. ``send`` never blocks; results appear
    in ``frames`` (newest only), problems in ``errors`` (newest message). See the module doc
    for the commands."""

    #: where the steps run (see ear3d.worker_client for "process")
    kind = "thread"

    def __init__(self, config: Config, on_frame: Callable[[ActivationFrame], None] | None = None,
                 on_error: Callable[[str], None] | None = None):
        """``on_frame`` / ``on_error`` are called on the worker's thread with each published
        frame / error message, after it was put in ``frames`` / ``errors``."""
        self.config = config
        self.frames: Mailbox[ActivationFrame] = Mailbox()
        self.errors: Mailbox[str] = Mailbox()
        self._commands: queue.Queue[Command | None] = queue.Queue()
        self._on_frame = on_frame
        self._on_error = on_error
        self._thread: threading.Thread | None = None
        self.device = choose_device(config.optimize.device)
        self.layer_names: list[str] = []
        #: name → (C, F, T) of every layer (after start)
        self.shapes: dict[str, tuple[int, int, int]] = {}
        self.sonifier: Any = None  # ear3d.ml.optimize.Sonifier, built in the thread
        self._kept: list[Selection] = []
        self._current: Selection | None = None
        self._keep_next = False
        self._scripted: Objective | None = None
        self._paused = False
        self._pending_steps = 0
        self._listen_pending = False
        self._failed_steps = 0  # steps in a row that raised

    # -- the caller's side ------------------------------------------------------------------

    def start(self) -> Worker:
        """Start the thread; returns once the model and its statistics are ready (re-raises
        what went wrong there)."""
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, failure), name="ear3d-worker", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def send(self, command: Command) -> None:
        """Queue a command (never blocks; commands are applied in order between steps)."""
        self._commands.put(command)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to finish (after the current step) and join it (idempotent)."""
        if self._thread is not None:
            self._commands.put(None)
            self._thread.join(timeout)
            self._thread = None

    @property
    def alive(self) -> bool:
        """True while steps can run (the thread lives)."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Worker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the thread ---------------------------------------------------------------------------

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        try:
            from ear3d.ml.optimize import Sonifier
            from ear3d.ml.stats import stats_for

            if self.config.optimize.threads:
                torch.set_num_threads(self.config.optimize.threads)
            ear = build_ear(self.config).to(self.device)
            self.layer_names = ear.layer_names()
            from ear3d.ml.loop import LoopedEar

            n_samples = round(self.config.audio.clip_seconds * self.config.audio.sample_rate)
            looped = LoopedEar(ear, n_samples, self.config.optimize.context_seconds).to(self.device)
            stats = stats_for(looped, stats_folder(self.config))
            self.sonifier = Sonifier(ear, self.config, stats, self.device)
            self.shapes = dict(self.sonifier.shapes)
            self.sonifier.set_origin(self._origin(self.config.optimize.origin))
        except BaseException as e:  # reported to start(), which re-raises in the caller
            failure.append(e)
            ready.set()
            return
        ready.set()
        while True:
            commands = self._next_commands()
            if commands is None:
                return
            changed = False
            for command in commands:
                if command is None:
                    return
                try:
                    changed |= self._handle(command)
                except (ConfigError, SelectionError, ValueError, TypeError, KeyError, OSError) as e:
                    self._report(f"{getattr(command, 'name', command)!s}: {e}")
                except Exception as e:  # one bad command never ends the loop
                    log.exception("worker: command %r failed", command)
                    self._report(f"{getattr(command, 'name', command)!s}: {type(e).__name__}: {e}")
            if self._running():
                self._step_and_publish()  # a fresh frame shows whatever the commands changed
            if not self._running() and (changed or self._listen_pending):
                self._listen_pending = False
                try:
                    self._publish(self.sonifier.listen())
                except Exception as e:  # e.g. a scripted objective that raises: drop it, keep serving
                    log.exception("worker: listening failed")
                    self._clear_target()
                    self._report(f"listen failed, target cleared: {type(e).__name__}: {e}")

    def _next_commands(self) -> list[Command | None] | None:
        """Everything queued now; waits for one first when there is nothing to compute."""
        out: list[Command | None] = []
        if not self._running():
            out.append(self._commands.get())
        while True:
            try:
                out.append(self._commands.get_nowait())
            except queue.Empty:
                return out

    def _running(self) -> bool:
        has_target = self.sonifier is not None and self.sonifier.objective is not None
        return has_target and (not self._paused or self._pending_steps > 0)

    def _report(self, message: str) -> None:
        log.warning("worker: %s", message)
        self.errors.put(message)
        if self._on_error is not None:
            self._on_error(message)

    def _step_and_publish(self) -> None:
        son = self.sonifier
        if self._pending_steps > 0:
            self._pending_steps -= 1
        try:
            result = son.step()
        except Exception as e:  # retried with the last good clip; an objective that keeps raising is dropped
            log.exception("worker: step failed")
            self._failed_steps += 1
            if self._failed_steps < MAX_FAILED_STEPS:
                self._report(f"step failed, retrying from the last good clip: {type(e).__name__}: {e}")
                return
            self._failed_steps = 0
            self._clear_target()
            self._report(f"step failed {MAX_FAILED_STEPS} times in a row, target cleared: {type(e).__name__}: {e}")
            return
        self._failed_steps = 0
        if not result.ok:
            self._report(f"step {son.steps}: non-finite loss or clip; back to the last good clip "
                         f"({son.recoveries} recoveries so far)")
            return
        self._publish(result)

    # -- commands -----------------------------------------------------------------------------

    def _handle(self, command: Command) -> bool:
        """Apply one command; True when the published state should be refreshed."""
        if not isinstance(command, Command):
            raise TypeError(f"expected a Command, got {type(command).__name__}")
        name, value = command.name, command.value
        son = self.sonifier
        if name in ("clip", "origin"):
            if name == "clip" and not isinstance(value, Clip):
                raise TypeError(f"'clip' needs a Clip, got {type(value).__name__}")
            son.set_origin(self._origin(value))
            return True
        if name == "select":
            self._select(value)
            return True
        if name == "keep":
            self._keep_next = True
            return False
        if name == "clear":
            self._clear_target()
            return True
        if name == "objective":
            if value is not None and not isinstance(value, Objective):
                raise TypeError(f"'objective' needs an Objective or None, got {type(value).__name__}")
            son.set_objective(value)  # checks the layers before anything changes
            self._kept, self._current, self._scripted = [], None, value
            return True
        if name == "set":
            if not isinstance(value, dict):
                raise TypeError(f"'set' needs a mapping of [optimize] keys, got {type(value).__name__}")
            self._set(value)
            return True
        if name in ("pause", "resume"):
            self._paused = name == "pause"
            return False
        if name == "reset":
            son.reset()
            return True
        if name == "listen":
            self._listen_pending = True  # published once the queued steps are done
            return False
        if name == "step":
            n = 1 if value is None else value
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"'step' needs a positive whole number of steps, got {value!r}")
            if son.objective is None:
                raise ValueError("no target selected: nothing to step toward")
            self._pending_steps += n
            return False
        if name in self._optimize_keys():
            self._set({name: value})
            return True
        raise ValueError(f"unknown command {name!r}; known: {', '.join(self.command_names())}")

    def command_names(self) -> list[str]:
        base = ["clip", "origin", "select", "keep", "clear", "objective", "set", "pause", "resume", "reset", "step",
                "listen"]
        return base + [k for k in self._optimize_keys() if k not in FIXED_KEYS]

    def _optimize_keys(self) -> list[str]:
        import dataclasses

        return [f.name for f in dataclasses.fields(self.config.optimize)]

    def _origin(self, value: Any) -> np.ndarray:
        from ear3d.ml.optimize import origin_samples

        son = self.sonifier
        return origin_samples(value, son.sample_rate, son.n_samples, seed=self.config.optimize.seed)

    def _select(self, value: Any) -> None:
        keep = False
        if isinstance(value, dict) and "keep" in value:
            value = dict(value)
            keep = value.pop("keep")
            if not isinstance(keep, bool):
                raise SelectionError(f"keep must be true or false, got {keep!r}")
        selection = Selection.parse(value)
        selection.check(self.shapes)
        kept = list(self._kept)
        if (keep or self._keep_next) and self._current is not None:
            kept.append(self._current)
        objective = combine(kept + [selection])
        self.sonifier.set_objective(objective)
        self._kept, self._current, self._scripted, self._keep_next = kept, selection, None, False

    def _clear_target(self) -> None:
        self._kept, self._current, self._scripted, self._keep_next = [], None, None, False
        self.sonifier.set_objective(None)

    def _set(self, values: dict) -> None:
        fixed = [k for k in values if k in FIXED_KEYS]
        if fixed:
            raise ConfigError(f"optimize.{fixed[0]} cannot change while the worker runs; restart it")
        config = self.config.replace({"optimize": values})  # validates names, types and ranges
        new = config.optimize
        origin_changed = new.origin != self.sonifier.settings.origin
        if origin_changed:
            samples = self._origin(new.origin)  # may raise: nothing has changed yet
        self.sonifier.update_settings(new)
        self.config = config
        if origin_changed:
            self.sonifier.set_origin(samples)

    # -- publishing ---------------------------------------------------------------------------

    def selections(self) -> tuple[Selection, ...]:
        """The selections aimed at now (kept ones first)."""
        if self._scripted is not None:
            return self._scripted.selections
        return tuple(self._kept) + ((self._current,) if self._current is not None else ())

    def _publish(self, result: Any) -> None:
        son = self.sonifier
        clip = Clip(host_copy(result.waveform), son.sample_rate)
        layers = {name: host_copy(a) for name, a in result.acts.items()}
        # On CUDA the renderer reads the activations where they are (StepResult's own tensors).
        device_layers = dict(result.acts) if son.device.type == "cuda" else None
        frame = ActivationFrame(
            clip,
            layers,
            step=son.steps,
            loss=result.loss,
            target=result.target,
            loss_history=np.asarray(son.loss_history, dtype=np.float32),
            target_history=np.asarray(son.target_history, dtype=np.float32),
            scalogram=host_copy(result.scalogram),
            scalogram_grad=host_copy(result.scalogram_grad),
            selected=selected_mask(self.selections(), self.shapes),
            recoveries=son.recoveries,
            optimizing=son.objective is not None and not self._paused,
            terms=dict(result.terms),
            device_layers=device_layers,
        )
        self.frames.put(frame)
        if self._on_frame is not None:
            self._on_frame(frame)


def host_copy(tensor: torch.Tensor) -> np.ndarray:
    """A float32 numpy array of its own with ``tensor``'s values: one copy, from any device."""
    t = tensor.detach().float()
    return t.numpy().copy() if t.device.type == "cpu" else t.cpu().numpy()
