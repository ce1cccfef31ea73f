"""The shared memory between the app and its audio process (:mod:`ear3d.audio_process`).

One segment: a header of int64 and float64 fields, then two clip slots of ``capacity``
float32 samples. Who writes what:

* the audio process's callback writes the playback state (the :class:`~ear3d.audio._Snapshot`
  fields, callback and underflow counts) after every buffer, inside a seqlock: the sequence
  number is odd while the fields change, so a reader that sees the same even number before
  and after its copy holds values that belong together (readers never block the writer);
* the app writes volume and mute (single aligned 8-byte stores, read by every callback) and
  posts clips: clip ``g`` goes into slot ``g % 2``, then the mailbox (generation, length,
  serial) is published under its own seqlock. The slot of ``g`` is next overwritten by clip
  ``g + 2``, which starts only after ``g + 1`` is published: a reader that finds the
  generation unchanged after copying the slot copied a whole clip.

Times are ``time.perf_counter()`` seconds: CLOCK_MONOTONIC on Linux, the same in both
processes. Stores of aligned 8-byte fields are single instructions on the machines we run on
(x86-64, arm64); x86's store order makes the seqlock sound without fences.
"""

from __future__ import annotations

import mmap
import os
import secrets
from typing import Any

import numpy as np

from ear3d.audio import _Snapshot

# int64 header fields
_SEQ, _POSITION, _LOOP_LENGTH, _PREV_LENGTH, _LOOP_COUNT, _FRAMES_WRITTEN, _SERIAL, _LAST_FRAMES = range(8)
_CALLBACKS, _UNDERRUNS, _STATUS, _MUTED, _CAPACITY = range(8, 13)
_CLIP_SEQ, _CLIP_GEN, _CLIP_LENGTH, _CLIP_SERIAL = range(13, 17)
_N_INTS = 24
# float64 header fields
_FILL_TIME, _VOLUME = range(2)
_N_FLOATS = 8
_HEADER_BYTES = 8 * (_N_INTS + _N_FLOATS)

#: Values of the status field: the audio process sets them.
STARTING, PLAYING, STOPPED = 0, 1, 2

#: Attempts of a seqlock read before it settles for the latest values (a writer mid-update
#: for that long has stopped inside its update: the process died).
_READ_TRIES = 1000


def segment_bytes(capacity: int) -> int:
    """Size of a segment whose clip slots hold ``capacity`` samples each."""
    return _HEADER_BYTES + 2 * 4 * int(capacity)


class SharedAudioState:
    """Numpy views over one segment (see the module docstring).

    Args:
        buf: a writable buffer of at least :func:`segment_bytes` bytes (a SharedMemory's
            ``buf`` or an mmap).
        capacity: samples per clip slot; None = read it from the header (the audio process).
    """

    def __init__(self, buf: Any, capacity: int | None = None) -> None:
        self._ints = np.ndarray((_N_INTS,), np.int64, buf, 0)
        self._floats = np.ndarray((_N_FLOATS,), np.float64, buf, 8 * _N_INTS)
        if capacity is not None:
            self._ints[_CAPACITY] = capacity
        self.capacity = int(self._ints[_CAPACITY])
        self._slots = np.ndarray((2, self.capacity), np.float32, buf, _HEADER_BYTES)
        self._last = _Snapshot(0, 1, 1, 0, 0, 0, 0, 0.0)
        self._released = False

    def release(self) -> None:
        """Drop every view into the buffer (needed before it is closed); later reads return
        the last values read."""
        if not self._released:
            self._last = self.snapshot()
            self._last_counts = self.counts()
            self._released = True
            del self._ints, self._floats, self._slots

    # ------------------------------------------------------------ playback state (audio process writes)

    def publish(self, snap: _Snapshot, callbacks: int, underruns: int) -> None:
        """Audio callback: store the state after a buffer (the only writer of these fields)."""
        ints = self._ints
        ints[_SEQ] += 1  # odd: update in progress
        ints[_POSITION], ints[_LOOP_LENGTH], ints[_PREV_LENGTH] = snap.position, snap.loop_length, snap.prev_length
        ints[_LOOP_COUNT], ints[_FRAMES_WRITTEN], ints[_SERIAL] = snap.loop_count, snap.frames_written, snap.serial
        ints[_LAST_FRAMES], ints[_CALLBACKS], ints[_UNDERRUNS] = snap.last_frames, callbacks, underruns
        self._floats[_FILL_TIME] = snap.fill_time
        ints[_SEQ] += 1  # even: consistent again

    def snapshot(self) -> _Snapshot:
        """The latest published playback state, all fields from the same buffer."""
        if self._released:
            return self._last
        ints, floats = self._ints, self._floats
        for _ in range(_READ_TRIES):
            seq = int(ints[_SEQ])
            if seq & 1:
                continue
            values = ints[_POSITION:_LAST_FRAMES + 1].tolist()
            fill_time = float(floats[_FILL_TIME])
            if int(ints[_SEQ]) == seq:
                self._last = _Snapshot._make([*values, fill_time])
                break
        return self._last

    def counts(self) -> tuple[int, int]:
        """(callbacks, underflowing callbacks) so far."""
        if self._released:
            return self._last_counts
        return int(self._ints[_CALLBACKS]), int(self._ints[_UNDERRUNS])

    @property
    def status(self) -> int:
        """STARTING, PLAYING or STOPPED (the stream stopped or failed)."""
        return STOPPED if self._released else int(self._ints[_STATUS])

    @status.setter
    def status(self, value: int) -> None:
        self._ints[_STATUS] = value

    # ------------------------------------------------------------ controls (the app writes)

    @property
    def volume(self) -> float:
        return float(self._floats[_VOLUME])

    @volume.setter
    def volume(self, value: float) -> None:
        if not self._released:
            self._floats[_VOLUME] = value

    @property
    def muted(self) -> bool:
        return bool(self._ints[_MUTED])

    @muted.setter
    def muted(self, value: bool) -> None:
        if not self._released:
            self._ints[_MUTED] = int(bool(value))

    # ------------------------------------------------------------ clip mailbox

    def post_clip(self, clip: np.ndarray, serial: int) -> int:
        """The app: put a (S,) float32 clip (S <= capacity) in the mailbox; returns its generation."""
        n = clip.shape[0]
        if not 0 < n <= self.capacity:
            raise ValueError(f"clip of {n} samples does not fit the audio process's clip slot "
                             f"({self.capacity} samples)")
        ints = self._ints
        gen = int(ints[_CLIP_GEN]) + 1
        self._slots[gen % 2, :n] = clip
        ints[_CLIP_SEQ] += 1
        ints[_CLIP_LENGTH], ints[_CLIP_SERIAL], ints[_CLIP_GEN] = n, serial, gen
        ints[_CLIP_SEQ] += 1
        return gen

    def take_clip(self, taken: int) -> tuple[int, np.ndarray, int] | None:
        """The audio process: the newest posted clip if its generation is above ``taken``, as
        (generation, a private (S,) float32 copy, serial); else None."""
        ints = self._ints
        for _ in range(_READ_TRIES):
            seq = int(ints[_CLIP_SEQ])
            gen, n, serial = int(ints[_CLIP_GEN]), int(ints[_CLIP_LENGTH]), int(ints[_CLIP_SERIAL])
            if seq & 1 or int(ints[_CLIP_SEQ]) != seq:
                continue  # the mailbox is being written: read it again
            if gen <= taken:
                return None
            clip = self._slots[gen % 2, :n].copy()
            if int(ints[_CLIP_GEN]) == gen:  # slot not reused while copying
                return gen, clip, serial
        return None  # the app stopped inside a post (it died): nothing to take


def new_name() -> str:
    """A fresh segment name that says whose it is: ``ear3d_audio_<app pid>_<random>``."""
    return f"ear3d_audio_{os.getpid()}_{secrets.token_hex(4)}"


def create(name: str, capacity: int) -> tuple[mmap.mmap, SharedAudioState]:
    """The app: create segment ``name`` (POSIX shared memory under /dev/shm) with clip slots of
    ``capacity`` samples. Mapped directly, not through multiprocessing.shared_memory, whose
    resource tracker would be one more process left to clean up after a killed app; the
    audio process unlinks the segment when the app dies (it knows the name from the start)."""
    fd = os.open(f"/dev/shm/{name}", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, segment_bytes(capacity))
        buf = mmap.mmap(fd, segment_bytes(capacity))
    except BaseException:
        os.close(fd)
        unlink(name)
        raise
    os.close(fd)
    return buf, SharedAudioState(buf, capacity)


def attach(name: str) -> tuple[mmap.mmap, SharedAudioState]:
    """The audio process: map the segment the app created."""
    fd = os.open(f"/dev/shm/{name.lstrip('/')}", os.O_RDWR)
    try:
        buf = mmap.mmap(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    return buf, SharedAudioState(buf)


def unlink(name: str) -> None:
    """Remove the segment's name (the memory goes once every mapping is closed); no error if gone."""
    try:
        os.unlink(f"/dev/shm/{name.lstrip('/')}")
    except FileNotFoundError:
        pass
