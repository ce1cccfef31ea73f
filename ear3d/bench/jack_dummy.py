"""A JACK server with the dummy backend, owned by a bench: started under a unique name, killed
by its pid and started again under the same name (the soak's "audio server dies" fault).

Sound reaches it through ALSA's default PCM, which ``assets/alsa/jack.conf`` routes to JACK;
:func:`route_audio_to_jack` sets that up, and must run before the first PyAudio() of the
process (ALSA reads its configuration once).
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ear3d import paths

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100
PERIOD = 512


class JackUnavailable(RuntimeError):
    """jackd is not installed or did not start."""


#: The environment variables route_audio_to_jack sets.
ROUTING = ("ALSA_CONFIG_PATH", "JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")


def route_audio_to_jack(name: str) -> Callable[[], None]:
    """Point ALSA's default PCM, PortAudio and rtmidi at the JACK server ``name``; returns a
    function that puts the process's routing back as it was (a bench run inside a test process
    must not leave it pointing at a server the bench has stopped)."""
    saved = {key: os.environ.get(key) for key in ROUTING}
    os.environ["ALSA_CONFIG_PATH"] = str(paths.assets() / "alsa" / "jack.conf")
    os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_START_SERVER"] = "1"  # libjack must never start a server of its own

    def restore() -> None:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    return restore


class JackDummy:
    """``jackd --no-realtime -n NAME -d dummy``; ``start`` waits until its ports are listed."""

    def __init__(self, name: str, sample_rate: int = SAMPLE_RATE, period: int = PERIOD):
        if shutil.which("jackd") is None or shutil.which("jack_lsp") is None:
            raise JackUnavailable("jackd/jack_lsp not found (apt jackd2 libasound2-plugins)")
        self.name = name
        self.sample_rate = sample_rate
        self.period = period
        self.proc: subprocess.Popen | None = None
        #: the last server died by SIGKILL and holds its slot in JACK's server registry
        self._killed = False
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  (a file, not a pipe nobody drains; closed in close())

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def _env(self) -> dict[str, str]:
        return dict(os.environ, JACK_DEFAULT_SERVER=self.name, JACK_NO_START_SERVER="1")

    def ready(self) -> bool:
        """True once the server answers and lists its playback ports."""
        try:
            r = subprocess.run(["jack_lsp"], env=self._env(), capture_output=True, text=True, timeout=5,
                               check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return r.returncode == 0 and "system:playback_1" in r.stdout

    def launch(self) -> None:
        """Start the server process; returns at once (poll :meth:`ready`). A killed server's
        registry slot is reclaimed when the new one registers under the same name."""
        self._killed = False
        self.proc = subprocess.Popen(["jackd", "--no-realtime", "-n", self.name, "-d", "dummy",
                                      "-r", str(self.sample_rate), "-p", str(self.period)],
                                     env=self._env(), stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def start(self, timeout: float = 15.0) -> JackDummy:
        """Start the server and wait until it is ready (JackUnavailable with its output otherwise)."""
        self.launch()
        proc = self.proc
        assert proc is not None  # launch() started it
        deadline = time.monotonic() + timeout
        while not self.ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                self._log.seek(0)
                text = self._log.read().decode(errors="replace").strip()[-500:]
                self.stop()
                raise JackUnavailable(f"jackd {self.name!r} did not start: {text}")
            time.sleep(0.1)
        return self

    def kill(self) -> None:
        """SIGKILL, by pid: the server dies as a crashed one would, without cleaning up."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self._killed = True

    def stop(self) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL after 5 s; idempotent."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._killed = True

    def close(self) -> None:
        """Stop the server and leave JACK's shared state as it was found. A killed server (the
        soak's fault) cleans up nothing: it keeps its slot in JACK's server registry (eight per
        machine; once they are full every new server fails with "Too many servers already
        active"), so when the last server was killed, one is started again under its name, which
        reclaims the slot, and stopped cleanly. Then the /dev/shm files that it and its dead
        clients left are removed (the name is this server's alone, so nothing else's match)."""
        if self._killed and (self.proc is None or self.proc.poll() is not None):  # killed, not started again
            try:
                self.start()
            except JackUnavailable as e:
                log.warning("jackd %r was killed and could not be started again to free its registry slot: %s",
                            self.name, e)
        self.stop()
        if self._killed:  # stop() had to SIGKILL it
            log.warning("jackd %r did not stop cleanly and keeps its slot in JACK's server registry", self.name)
        self._log.close()
        name = glob.escape(self.name)
        for pattern in (f"jack_{name}_*", f"jack_sem.*_{name}_*"):
            for leftover in Path("/dev/shm").glob(pattern):
                leftover.unlink(missing_ok=True)
