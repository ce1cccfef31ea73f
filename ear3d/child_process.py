"""Helper processes that die with the app: start one as ``python -m MODULE FD PARENT_PID`` on
one end of a socket pair, and, inside it, ask the kernel to end it with its parent.

Used by the audio process and the worker process. The kernel's parent-death signal
(prctl PR_SET_PDEATHSIG) fires when the *thread* that started the child ends, so start a
child on a thread that lives as long as the child should (the main thread, or a thread that
owns the child).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def spawn(module: str, sock: socket.socket) -> subprocess.Popen:
    """Start ``python -m module FD PARENT_PID`` with ``sock`` (one end of a socket pair) as
    file descriptor FD, importing this copy of ear3d. Raises OSError when it cannot start."""
    import ear3d

    env = dict(os.environ)
    root = str(Path(ear3d.__file__).resolve().parent.parent)  # this ear3d, not another one
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return subprocess.Popen([sys.executable, "-m", module, str(sock.fileno()), str(os.getpid())],
                            pass_fds=(sock.fileno(),), env=env, stdin=subprocess.DEVNULL)


def die_with_parent() -> None:
    """Ask the kernel for SIGTERM when the thread that started this process ends (Linux only;
    elsewhere the socket's end of file and a parent-pid check remain)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def parent_alive(parent_pid: int) -> bool:
    """False once the process that started this one has gone (this one was re-parented)."""
    return os.getppid() == parent_pid
