"""The app's side of the worker process (``optimize.worker = "process"``), and the choice
between it and the thread worker (:func:`new_worker`).

:class:`ProcessWorker` offers what the app uses of :class:`ear3d.ml.worker.Worker`: ``start``,
``send``, the ``frames`` and ``errors`` mailboxes, ``stop``, ``config`` (the worker's, as it
changes), ``device``, ``layer_names``, ``shapes``, ``alive`` — plus :meth:`edge_weights`
computed in the worker process. The steps run in :mod:`ear3d.worker_process`; nothing here
waits on them: commands go out through a sender thread, frames come in through a thread that
waits on the socket with the interpreter lock released and needs it only briefly per frame
(:mod:`ear3d.wire`), however long the main thread holds it.

What differs from the thread worker:

- frames carry the host arrays only (``device_layers`` is None: no CUDA–GL interop);
- frames and clips get serials of this process on arrival;
- a scripted ``objective`` crosses by value (cloudpickle): functions defined at run time work;
  one that cannot be pickled (holding a lock, an open file, a CUDA tensor…) is answered in
  ``errors`` and changes nothing; the function runs in the worker process, so state it
  changes there (a counter, a list it appends to) is not seen here;
- ``worker.sonifier`` does not exist here.

When the worker process dies (a crash of torch, the out-of-memory killer), ``errors`` says so
once and a new one starts from the last good clip — the latest frame's — with the configuration,
target and pause state it had; when it dies MAX_CRASHES times within CRASH_WINDOW_S the session
carries on without steps: ``alive`` turns False and ``errors`` says why.
"""

from __future__ import annotations

import itertools
import logging
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import cloudpickle
import numpy as np

from ear3d import wire
from ear3d.child_process import spawn
from ear3d.config import Config
from ear3d.messages import ActivationFrame, Clip, Command, Mailbox, next_serial
from ear3d.ml.device import choose_device
from ear3d.ml.worker import Worker

log = logging.getLogger(__name__)

#: Seconds the worker process may take to build the model and its statistics.
START_TIMEOUT = 600.0
#: Seconds ``stop`` waits for the worker process to finish its step and exit before killing it.
STOP_TIMEOUT = 30.0
#: The worker process is not restarted after this many crashes within CRASH_WINDOW_S seconds.
MAX_CRASHES = 3
CRASH_WINDOW_S = 120.0

_STOP = object()


def worker_kind(config: Config) -> str:
    """"process" or "thread": ``optimize.worker``, with auto = thread on CUDA (its activations
    reach GL through interop in this process), process otherwise."""
    kind = config.optimize.worker
    if kind == "auto":
        return "thread" if choose_device(config.optimize.device).type == "cuda" else "process"
    return kind


def new_worker(config: Config, on_frame: Callable[[ActivationFrame], None] | None = None) -> Worker | ProcessWorker:
    """The worker ``optimize.worker`` asks for (not started)."""
    if worker_kind(config) == "process":
        return ProcessWorker(config, on_frame)
    return Worker(config, on_frame)


class _Replay:
    """The commands that bring a fresh worker process to where the last one was: the target
    (selections since the last clear, or a scripted objective) and the pause state."""

    def __init__(self) -> None:
        self.target: list[Command] = []
        self.paused = False
        self._lock = threading.Lock()  # noted by the caller's thread, read by the owner thread

    def note(self, command: Command) -> None:
        with self._lock:
            self._note(command)

    def _note(self, command: Command) -> None:
        name, value = command.name, command.value
        if name == "select":
            keep = isinstance(value, dict) and value.get("keep") is True
            pending_keep = bool(self.target) and self.target[-1].name == "keep"
            self.target = self.target + [command] if keep or pending_keep else [command]
        elif name == "keep":
            self.target.append(command)
        elif name in ("clear", "objective"):
            self.target = [command]
        elif name in ("pause", "resume"):
            self.paused = name == "pause"

    def commands(self, clip: Clip | None) -> list[Command]:
        """The pause state, then ``clip`` (the last good one) and the target.

        The pause goes first: a worker given its target before its pause could step the
        restored clip away in between.
        """
        with self._lock:
            out = [Command("pause")] if self.paused else []
            out += [Command("clip", clip)] if clip is not None else []
            return out + self.target


class ProcessWorker:
    """The sonification worker in a process of its own (see the module doc).

    ``start`` returns once the model is built (re-raising what went wrong there); ``send``
    never blocks; ``stop`` ends the process (killed after STOP_TIMEOUT) and the threads.
    """

    kind = "process"

    def __init__(self, config: Config, on_frame: Callable[[ActivationFrame], None] | None = None):
        self.config = config
        self.frames: Mailbox[ActivationFrame] = Mailbox()
        self.errors: Mailbox[str] = Mailbox()
        self.device = choose_device(config.optimize.device)
        self.layer_names: list[str] = []
        #: name → (C, F, T) of every layer (after start)
        self.shapes: dict[str, tuple[int, int, int]] = {}
        #: the worker process's id (a new one after a restart), None before start
        self.pid: int | None = None
        #: times the worker process was restarted after it died
        self.restarts = 0
        self._on_frame = on_frame
        self._outgoing: queue.Queue[Any] = queue.Queue()
        self._replay = _Replay()
        self._last_clip: Clip | None = None
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()  # one writer at a time; held while a new process is brought up
        self._requests: dict[int, tuple[threading.Event, list]] = {}
        self._request_ids = itertools.count(1)
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._stopping = False
        self._alive = False
        self._owner: threading.Thread | None = None
        self._sender: threading.Thread | None = None

    # -- the caller's side ------------------------------------------------------------------

    def start(self) -> ProcessWorker:
        """Start the worker process; returns once the model and its statistics are ready
        (re-raises what went wrong there, or RuntimeError with the process's one-line reason)."""
        # The owner thread starts the process (the kernel ends the process when that thread
        # ends: it lives until stop) and reads from it.
        self._owner = threading.Thread(target=self._own, name="ear3d-worker-owner", daemon=True)
        self._owner.start()
        self._ready.wait()
        if self._failure is not None:
            self._owner.join()
            self._owner = None
            raise self._failure
        self._sender = threading.Thread(target=self._send_loop, name="ear3d-worker-sender", daemon=True)
        self._sender.start()
        return self

    @property
    def alive(self) -> bool:
        """True while steps can run (a worker process runs or is being restarted)."""
        return self._alive

    def send(self, command: Command) -> None:
        """Queue a command (never blocks; applied in order between steps). One that cannot be
        pickled is answered in ``errors``."""
        try:
            parts = wire.encode(("command", command), cloudpickle.dumps)
        except Exception as e:  # noqa: BLE001  (pickling runs arbitrary code; the loop goes on)
            name = getattr(command, "name", command)
            self._report(f"{name!s}: cannot be handed to the worker process ({type(e).__name__}: {e}); "
                         "optimize.worker = 'thread' takes any value")
            return
        if isinstance(command, Command):
            self._replay.note(command)
        self._outgoing.put(parts)

    def edge_weights(self, timeout: float = 300.0) -> np.ndarray:
        """(E,) float32 edge weights of the running network (``ear3d.layout.network.ear_graph``),
        computed in the worker process. Raises RuntimeError when it cannot answer."""
        return self._request("edge_weights", timeout)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """End the worker process (after its current step; killed after ``timeout``) and the
        threads (idempotent)."""
        if self._owner is None:
            return
        self._stopping = True
        self._outgoing.put(_STOP)
        self._owner.join(timeout + 5.0)
        proc = self._proc
        if proc is not None and proc.poll() is None:  # the owner is stuck: end it the hard way
            proc.kill()
            proc.wait()
            self._owner.join(5.0)
        if self._sender is not None:
            self._sender.join(5.0)
        self._owner = self._sender = None

    def __enter__(self) -> ProcessWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- requests -----------------------------------------------------------------------------

    def _request(self, name: str, timeout: float) -> Any:
        request_id = next(self._request_ids)
        done, result = threading.Event(), list[Any]()
        self._requests[request_id] = (done, result)
        self._outgoing.put(wire.encode(("request", request_id, name)))
        try:
            if not done.wait(timeout):
                raise RuntimeError(f"the worker process did not answer {name!r} within {timeout:g} s")
        finally:
            self._requests.pop(request_id, None)
        ok, value = result[0]
        if not ok:
            raise RuntimeError(f"the worker process could not answer {name!r}: {value}")
        return value

    def _fail_requests(self, reason: str) -> None:
        for done, result in list(self._requests.values()):
            result.append((False, reason))
            done.set()

    # -- the threads ----------------------------------------------------------------------------

    def _report(self, message: str) -> None:
        log.warning("worker: %s", message)
        self.errors.put(message)

    def _send_loop(self) -> None:
        """Writes queued commands to the current worker process, in order."""
        while True:
            parts = self._outgoing.get()
            with self._send_lock:
                sock = self._sock
                if parts is _STOP:
                    if sock is not None:
                        try:
                            wire.send(sock, ("stop",))
                        except OSError:
                            pass  # already gone
                    return
                try:
                    if sock is not None:
                        wire.send_parts(sock, parts)
                except OSError:
                    pass  # the process died: the owner restarts it and replays the state

    def _launch(self, config: Config) -> dict[str, Any]:
        """Start a worker process and wait for it to be ready; its info. Raises what it reported."""
        ours, theirs = socket.socketpair()
        try:
            self._proc = spawn("ear3d.worker_process", theirs)
        except OSError as e:
            ours.close()
            raise RuntimeError(f"cannot start the worker process: {e}") from e
        finally:
            theirs.close()
        self._sock = ours
        wire.send(ours, ("start", config))
        try:
            message = wire.receive(ours)  # waits as long as the model takes to build
        except (EOFError, OSError):
            code = self._proc.wait()
            raise RuntimeError(f"the worker process exited ({_describe(code)}) while starting") from None
        if message[0] == "failed":
            self._proc.wait(STOP_TIMEOUT)
            raise message[1] if isinstance(message[1], BaseException) else RuntimeError(message[2])
        info = message[1]
        self.pid = info["pid"]
        self.layer_names, self.shapes = list(info["layer_names"]), dict(info["shapes"])
        return info

    def _own(self) -> None:
        """The owner thread: starts the worker process, reads from it, restarts it when it dies."""
        try:
            self._launch(self.config)
        except BaseException as e:  # noqa: BLE001  (handed to start(), which raises it)
            self._failure = e
            self._close_process()
            self._ready.set()
            return
        self._alive = True
        self._ready.set()
        crashes: list[float] = []
        while True:
            self._receive_until_closed()
            code = self._close_process()
            self._fail_requests("the worker process ended")
            if self._stopping:
                break
            now = time.monotonic()
            crashes = [t for t in crashes if now - t < CRASH_WINDOW_S] + [now]
            if len(crashes) >= MAX_CRASHES:
                self._alive = False
                self._report(f"the worker process died ({_describe(code)}), {len(crashes)} times within "
                             f"{CRASH_WINDOW_S:g} s: carrying on without optimization steps")
                break
            self._report(f"the worker process died ({_describe(code)}); restarting it with the last good clip")
            if not self._restart():
                break
        self._alive = False

    def _restart(self) -> bool:
        """A new worker process with the last one's configuration, clip, target and pause state."""
        with self._send_lock:  # queued commands wait: they follow the replayed state
            try:
                self._launch(self.config)
                sock = self._sock
                assert sock is not None  # _launch connected it
                for command in self._replay.commands(self._last_clip):
                    wire.send(sock, ("command", command), cloudpickle.dumps)
            except Exception as e:  # noqa: BLE001  (told once; the session carries on without steps)
                self._close_process()
                self._alive = False
                if not self._stopping:
                    self._report(f"the worker process could not be restarted ({' '.join(str(e).split())}): "
                                 "carrying on without optimization steps")
                return False
        self.restarts += 1
        return True

    def _receive_until_closed(self) -> None:
        sock = self._sock
        if sock is None:
            return
        while True:
            try:
                message = wire.receive(sock)
            except (EOFError, OSError):
                return
            except Exception as e:  # noqa: BLE001  (a message that cannot be rebuilt: say so, go on)
                self._report(f"a message from the worker process could not be read: {type(e).__name__}: {e}")
                continue
            self._dispatch(message)

    def _dispatch(self, message: tuple) -> None:
        kind = message[0]
        if kind == "frame":
            frame: ActivationFrame = message[1]
            # Serials of this process: the audio loop tells clips apart by them.
            clip = Clip(frame.clip.samples, frame.clip.sample_rate)
            frame = replace(frame, clip=clip, serial=next_serial())
            self._last_clip = clip
            self.frames.put(frame)
            if self._on_frame is not None:
                self._on_frame(frame)
        elif kind == "error":
            self.errors.put(message[1])
        elif kind == "config":
            self.config = message[1]
        elif kind == "reply":
            waiting = self._requests.get(message[1])
            if waiting is not None:
                waiting[1].append((message[2], message[3]))
                waiting[0].set()

    def _close_process(self) -> int | None:
        """Close the socket and reap the process (killed after STOP_TIMEOUT); its exit code."""
        sock, proc = self._sock, self._proc
        if sock is not None:
            sock.close()
        code = None
        if proc is not None:
            try:
                code = proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        return code


def _describe(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
