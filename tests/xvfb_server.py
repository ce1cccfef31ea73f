"""Pytest fixture: a virtual X server (Xvfb) for real-window tests.

``xvfb_display`` (module-scoped) starts ``Xvfb -displayfd`` (the server picks a free display
number and writes it to a pipe, so parallel runs never collide), yields the display name
(":N") and stops the server by its pid at teardown.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
from collections.abc import Iterator

import pytest

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
SCREEN = "1024x768x24"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)


@pytest.fixture(scope="module")
def xvfb_display() -> Iterator[str]:
    """The name of a running virtual X display, e.g. ":3"."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb not found: run `make test`, which installs xvfb and xdotool "
                    "(or apt-get install -y xvfb xdotool)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", SCREEN, "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], START_TIMEOUT_S)
        number = os.read(read_fd, 64).decode().strip() if ready else ""
        if not number.isdigit():
            _stop(proc)
            err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
            pytest.fail(f"Xvfb did not report a display within {START_TIMEOUT_S:g} s: {err}")
        yield f":{number}"
    finally:
        os.close(read_fd)
        _stop(proc)
