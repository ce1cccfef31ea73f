"""Recording what the audio callback plays, without I/O on the audio thread.

The callback copies each block into a preallocated ring (no allocation, no lock); a writer
thread drains the ring into a WAV file, which appears under its final name when closed.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

import numpy as np


class WavRecorder:
    """Single producer (the audio callback) → single consumer (a writer thread) → WAV.

    path: the final file; sample_rate in Hz; capacity_seconds of audio may wait in the ring
    before blocks are dropped (counted in ``dropped_samples``, never blocking the producer).
    Samples are stored as 32-bit float, so the file holds exactly what was played.
    """

    def __init__(self, path: str | Path, sample_rate: int, capacity_seconds: float = 10.0):
        import soundfile as sf

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.sample_rate = int(sample_rate)
        self._ring = np.zeros(max(1, int(capacity_seconds * sample_rate)), np.float32)
        self._written = 0  # total samples pushed (only the producer writes it)
        self._read = 0  # total samples drained (only the consumer writes it)
        self.dropped_samples = 0
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".wav", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._file = sf.SoundFile(tmp, "w", self.sample_rate, 1, subtype="FLOAT", format="WAV")
        self._wake = threading.Event()
        self._running = True
        self._thread = threading.Thread(target=self._drain_loop, name="ear3d-recorder", daemon=True)
        self._thread.start()

    def push(self, block: np.ndarray) -> None:
        """Audio thread: append (n,) float32 samples; drops them if the ring is full."""
        n = block.shape[0]
        cap = self._ring.shape[0]
        w = self._written
        if n > cap - (w - self._read):
            self.dropped_samples += n
            return
        i = w % cap
        first = min(n, cap - i)
        self._ring[i : i + first] = block[:first]
        self._ring[: n - first] = block[first:]
        self._written = w + n  # publish after the copy
        self._wake.set()

    def _drain(self) -> None:
        cap = self._ring.shape[0]
        while self._read < self._written:
            r, w = self._read, self._written
            i = r % cap
            n = min(w - r, cap - i)
            self._file.write(self._ring[i : i + n])
            self._read = r + n

    def _drain_loop(self) -> None:
        while self._running:
            self._wake.wait(0.1)
            self._wake.clear()
            self._drain()

    @property
    def samples(self) -> int:
        """Samples pushed so far (written to the file once drained)."""
        return self._written

    def close(self) -> Path:
        """Stop after draining everything, close the file and move it into place (idempotent)."""
        if self._running:
            self._running = False
            self._wake.set()
            self._thread.join()
            self._drain()
            self._file.close()
            os.chmod(self._tmp, 0o644)
            os.replace(self._tmp, self.path)
        return self.path
