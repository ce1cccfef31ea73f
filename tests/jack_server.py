"""Pytest fixture: a real-time JACK server with a dummy backend (no sound card needed).

``jack_server`` (session-scoped) starts ``jackd --no-realtime -n <unique name> -d dummy
-r 44100 -p 512``, waits until its ports are listed by ``jack_lsp``, and stops it by
its pid at teardown. Audio reaches it through ALSA's default PCM, which
``assets/alsa/jack.conf`` routes to JACK.

ALSA and PortAudio read their configuration when first initialised, so
``ALSA_CONFIG_PATH`` must be set before any PyAudio() is created: tests/conftest.py
does that at import (``os.environ.setdefault``); :func:`configure_env` does the same
for other entry points.

The server gets a unique name (exported as ``JACK_DEFAULT_SERVER``, which libjack,
the ALSA jack plugin, PortAudio and rtmidi all honour) so that concurrent test runs
on one machine do not collide on the "default" server.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
ALSA_CONF = ROOT / "assets" / "alsa" / "jack.conf"

SAMPLE_RATE = 44100
PERIOD = 512
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def configure_env() -> None:
    """Point ALSA's default PCM at JACK and stop libjack from auto-starting servers.
    Call before the first PyAudio() of the process."""
    os.environ.setdefault("ALSA_CONFIG_PATH", str(ALSA_CONF))
    os.environ.setdefault("JACK_NO_START_SERVER", "1")


@dataclass(frozen=True)
class JackServer:
    pid: int
    name: str  # server name, also in os.environ["JACK_DEFAULT_SERVER"] while running
    sample_rate: int
    period: int


def _ports(env: dict[str, str]) -> str | None:
    """jack_lsp's port list, or None while the server is not reachable."""
    try:
        r = subprocess.run(["jack_lsp"], env=env, capture_output=True, text=True,
                           timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout if r.returncode == 0 else None


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # SIGTERM: jackd shuts down cleanly and removes its shm files
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)


def prioritize(pid: int) -> None:
    """Run every thread of the (--no-realtime) JACK server real-time, above the audio process,
    as a real sound server runs: measured is our stream, not the server losing the CPU to
    other sessions' busy threads on a small machine (nice alone ranks threads only within a
    session where the kernel autogroups, so it does not help there)."""
    from ear3d.audio_process import AUDIO_NICE, AUDIO_RT_PRIORITY

    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setscheduler(int(tid), os.SCHED_FIFO, os.sched_param(AUDIO_RT_PRIORITY + 1))
        except PermissionError:
            try:
                os.setpriority(os.PRIO_PROCESS, int(tid), AUDIO_NICE)
            except PermissionError:
                pytest.skip("raising the JACK server's priority needs CAP_SYS_NICE")


@pytest.fixture(scope="session")
def jack_server() -> Iterator[JackServer]:
    """A running ``jackd`` dummy server (44100 Hz, 512-frame periods)."""
    jackd = shutil.which("jackd")
    if jackd is None or shutil.which("jack_lsp") is None:
        pytest.fail("jackd/jack_lsp not found: run `make test`, which installs jackd2 "
                    "(apt jackd2 libasound2-plugins)", pytrace=False)
    configure_env()
    name = f"ear3d-test-{os.getpid()}"
    env = dict(os.environ, JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    # A file, not a pipe, for jackd's output: a pipe nobody drains could fill up and
    # block the server.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [jackd, "--no-realtime", "-n", name, "-d", "dummy",
         "-r", str(SAMPLE_RATE), "-p", str(PERIOD)],
        env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    old_default = os.environ.get("JACK_DEFAULT_SERVER")
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                log.seek(0)
                err = log.read().decode(errors="replace").strip()
                pytest.fail(f"jackd exited with code {proc.returncode} at start: "
                            f"{err[-2000:]}", pytrace=False)
            ports = _ports(env)
            if ports is not None and "system:playback_1" in ports:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"jackd (pid {proc.pid}) not ready after "
                            f"{START_TIMEOUT_S:.0f} s", pytrace=False)
            time.sleep(0.1)
        os.environ["JACK_DEFAULT_SERVER"] = name
        os.environ["JACK_NO_START_SERVER"] = "1"
        yield JackServer(proc.pid, name, SAMPLE_RATE, PERIOD)
    finally:
        _stop(proc)
        log.close()
        if old_default is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old_default
