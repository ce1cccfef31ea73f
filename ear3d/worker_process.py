"""The worker process (``optimize.worker = "process"``): the sonification worker in a process of
its own, so that the app's drawing — which holds the interpreter lock through every GL call,
for most of a software-rendered frame — cannot starve its steps. Started by
:class:`ear3d.worker_client.ProcessWorker` as ``python -m ear3d.worker_process FD PARENT_PID``;
it runs the same :class:`ear3d.ml.worker.Worker` loop as the thread worker.

Protocol over the socket ``FD`` (:mod:`ear3d.wire` messages, tuples):

1. app → ``("start", config)``: the process builds the worker and answers
   ``("ready", info)`` (``layer_names``, ``shapes``, ``device``, ``pid``) or
   ``("failed", exception or None, one-line message)`` and exits;
2. app → ``("command", Command)`` (queued for the worker, in order), ``("request", id, name)``
   (answered ``("reply", id, ok, value or message)``; names: ``edge_weights``), ``("stop",)``;
3. process → ``("error", message)`` as the worker reports them, ``("config", Config)`` when
   the worker's configuration changed (before the next frame), ``("frame", ActivationFrame)``
   — the newest only: frames the app has not taken yet are replaced, and the steps never wait
   for the app.

Three threads: this one reads the socket; the worker's thread steps; a sender thread writes
(waiting on the socket with the interpreter lock released). The process dies with the app:
the kernel sends SIGTERM when the app's thread that owns it ends (PR_SET_PDEATHSIG), and it
exits on the socket's end of file or a changed parent pid. It leaves nothing behind (no
shared memory), so it then simply exits.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import select
import signal
import socket
import sys
import threading
from collections import deque
from typing import Any

from ear3d import wire
from ear3d.child_process import die_with_parent, parent_alive
from ear3d.messages import ActivationFrame

log = logging.getLogger(__name__)

#: Seconds between looks at the parent while no message arrives.
POLL_SECONDS = 0.5
#: Seconds ``stop`` gives the worker to finish its step and the sender to flush.
STOP_TIMEOUT = 30.0


class Outbox:
    """What the worker's thread hands the sender thread: messages in order (errors, replies)
    and the newest frame (one not yet sent is replaced; it follows the messages put before it)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._messages: deque[tuple] = deque()
        self._frame: ActivationFrame | None = None
        self._closed = False

    def put_message(self, message: tuple) -> None:
        with self._cond:
            self._messages.append(message)
            self._cond.notify()

    def put_error(self, message: str) -> None:
        self.put_message(("error", message))

    def put_frame(self, frame: ActivationFrame) -> None:
        if frame.device_layers is not None:  # GPU tensors stay here; the app uses the host arrays
            frame = dataclasses.replace(frame, device_layers=None)
        with self._cond:
            self._frame = frame
            self._cond.notify()

    def close(self) -> None:
        """No more puts: ``take`` returns what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify()

    def take(self) -> list[tuple] | None:
        """Everything waiting (messages first, then the frame); waits for something; None once
        closed and empty."""
        with self._cond:
            self._cond.wait_for(lambda: self._messages or self._frame is not None or self._closed)
            out = list(self._messages)
            self._messages.clear()
            if self._frame is not None:
                out.append(("frame", self._frame))
                self._frame = None
            return out or None


def _send_loop(sock: socket.socket, outbox: Outbox, worker: Any) -> None:
    """The sender thread: writes what the outbox holds, the worker's config before a frame
    whenever it changed. Ends when the outbox is closed and empty, or the app has gone."""
    sent_config = worker.config
    try:
        while (batch := outbox.take()) is not None:
            for message in batch:
                if message[0] == "frame" and worker.config is not sent_config:
                    sent_config = worker.config
                    wire.send(sock, ("config", sent_config))
                wire.send(sock, message)
    except OSError:
        pass  # the app's end closed: the reading thread ends the process


def _answer(worker: Any, name: Any) -> tuple[bool, Any]:
    """(True, value) or (False, one-line reason) for a request from the app."""
    if name == "edge_weights":
        from ear3d.layout.network import ear_graph

        # The ear's weights never change (sonification moves the clip): safe beside the steps.
        return True, ear_graph(worker.sonifier.ear, worker.config.cqt.n_bins).weight
    return False, f"unknown request {name!r}"


def _serve(sock: socket.socket, worker: Any, outbox: Outbox, parent_pid: int) -> bool:
    """Hand the app's commands to the worker until ``stop``; False when the app went away."""
    while True:
        readable, _, _ = select.select([sock], [], [], POLL_SECONDS)
        if not parent_alive(parent_pid):
            return False
        if not readable:
            continue
        try:
            message = wire.receive(sock)
        except (EOFError, OSError):
            return False
        except Exception as e:  # noqa: BLE001  (a value that cannot be rebuilt here; the stream stays in step)
            outbox.put_error(f"a command could not be read in the worker process: {type(e).__name__}: {e}")
            continue
        kind = message[0]
        if kind == "command":
            worker.send(message[1])
        elif kind == "request":
            try:
                ok, value = _answer(worker, message[2])
            except Exception as e:  # noqa: BLE001  (answered, the loop goes on)
                ok, value = False, f"{type(e).__name__}: {e}"
            outbox.put_message(("reply", message[1], ok, value))
        elif kind == "stop":
            return True


def _one_line(e: BaseException) -> str:
    return " ".join(f"{type(e).__name__}: {e}".split())


def _picklable(e: BaseException) -> BaseException | None:
    import pickle

    try:
        pickle.loads(pickle.dumps(e))
    except Exception:  # noqa: BLE001  (then the app raises the one-line message)
        return None
    return e


def _exit_now(signum: int, frame: Any) -> None:
    os._exit(0)  # the app has gone: nothing here needs cleaning up


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``FD PARENT_PID``."""
    fd_text, pid_text = (argv if argv is not None else sys.argv[1:])[:2]
    parent_pid = int(pid_text)
    die_with_parent()
    signal.signal(signal.SIGTERM, _exit_now)
    if not parent_alive(parent_pid):  # the app died before prctl took effect
        return 1
    logging.basicConfig(level=logging.WARNING, format="ear3d worker process: %(name)s: %(message)s")
    sock = socket.socket(fileno=int(fd_text))
    try:
        kind, config = wire.receive(sock)
    except (EOFError, OSError):
        return 1
    if kind != "start":
        return 1
    from ear3d.ml.worker import Worker

    outbox = Outbox()
    worker = Worker(config, on_frame=outbox.put_frame, on_error=outbox.put_error)
    try:
        worker.start()
    except BaseException as e:  # noqa: BLE001  (told to the app, which raises it)
        wire.send(sock, ("failed", _picklable(e), _one_line(e)))
        return 1
    wire.send(sock, ("ready", {"layer_names": worker.layer_names, "shapes": worker.shapes,
                               "device": str(worker.device), "pid": os.getpid()}))
    sender = threading.Thread(target=_send_loop, args=(sock, outbox, worker), name="ear3d-worker-sender",
                              daemon=True)
    sender.start()
    if not _serve(sock, worker, outbox, parent_pid):
        return 0  # orphaned: exit at once (os._exit below), the step in flight is abandoned
    worker.stop(STOP_TIMEOUT)
    outbox.close()
    sender.join(STOP_TIMEOUT)
    return 0


if __name__ == "__main__":
    code = main()
    logging.shutdown()
    os._exit(code)  # not the interpreter's shutdown: torch's threads may still be inside a step
