"""The audio process: plays the loop in a process of its own, so that no thread of the app
(the renderer inside a long GL call, the torch worker) can hold the interpreter lock the
audio callback needs. Started by :class:`ear3d.audio_client.ProcessOutput` as
``python -m ear3d.audio_process FD PARENT_PID``; it imports numpy, PyAudio and
:mod:`ear3d.audio` only (never torch or moderngl).

Protocol over the socket ``FD`` (pickled tuples, see multiprocessing.connection):

1. app → ``("open", params)``: params name the segment the app will create (so that this
   process can remove it should the app die at any point); the process opens the device (:meth:`AudioOutput.open`) and
   answers ``("opened", info)`` or ``("error", one-line message)`` and exits;
2. app → ``("play", segment name)``: the segment (:mod:`ear3d.audio_shm`) holds the first clip,
   already at the stream rate; the stream starts; answer ``("playing",)``;
3. then clips arrive through the segment's mailbox, volume and mute through its header;
   ``("stats",)`` → ``("stats", dict)``; ``("close",)`` stops the stream, finishes a
   recording and exits. When the stream stops on its own, status STOPPED and ``("lost", message)``.

It asks for real-time scheduling (SCHED_FIFO at AUDIO_RT_PRIORITY, as sound servers run)
before PortAudio makes its threads, which inherit it; where that is not permitted, a higher
nice priority (AUDIO_NICE). The process dies with the app: the kernel sends it SIGTERM when
the app's thread that started it ends (prctl PR_SET_PDEATHSIG), and it also exits on the socket's end of file or a
changed parent pid; then it unlinks the segment itself, as nobody else will. SIGTERM only
asks the serving loop to end: a handler that raised could land inside the cleanup (the death
arrives twice, end of file and signal, a moment apart) and leave a recording unfinished and the
segment behind.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from ear3d import audio_shm
from ear3d.audio import AudioOutput, AudioUnavailable, LoopBuffer
from ear3d.audio_shm import SharedAudioState
from ear3d.child_process import die_with_parent

#: Seconds between the main thread's looks at the mailbox and the parent (it is idle otherwise).
POLL_SECONDS = 0.02
#: SCHED_FIFO priority the audio process asks for (PortAudio's callback thread and the JACK/ALSA
#: client threads inherit it). Why not just nice: with autogrouping (Linux's default on desktops)
#: nice ranks threads only within their session, so under load from other sessions a niced
#: callback still waits its turn — measured in `ear3d bench audio --window`. Below JACK's own
#: default (10) so that a real-time sound server's cycle comes first. Needs CAP_SYS_NICE or an
#: RLIMIT_RTPRIO (the `audio` group's limits on most distributions).
AUDIO_RT_PRIORITY = 9
#: Nice value asked for when real-time scheduling is not permitted (ahead of the app's threads).
AUDIO_NICE = -10


class SharedStateOutput(AudioOutput):
    """An AudioOutput whose callback takes volume and mute from the segment and publishes
    the playback state there after each buffer."""

    shared: SharedAudioState | None = None

    def _callback(self, in_data: Any, frame_count: int, time_info: Any, status_flags: int) -> tuple[bytes, int]:
        shared = self.shared
        if shared is not None:
            self.volume, self.muted = shared.volume, shared.muted
        result = super()._callback(in_data, frame_count, time_info, status_flags)
        if shared is not None:
            shared.publish(self.loop.snapshot(), self.callbacks, self.underruns)
        return result


def _raise_priority() -> str:
    """Real-time scheduling if permitted, else a better nice value; says which ("fifo N",
    "nice N" or "normal")."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(AUDIO_RT_PRIORITY))
        return f"fifo {AUDIO_RT_PRIORITY}"
    except (OSError, AttributeError):
        pass  # not permitted (or not Linux)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, AUDIO_NICE)
        return f"nice {AUDIO_NICE}"
    except (OSError, AttributeError):
        return "normal"


def _threads() -> set[int]:
    """Ids of this process's threads."""
    try:
        return {int(tid) for tid in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def _raise_threads(tids: set[int]) -> None:
    """Real-time scheduling for threads the audio libraries made: libjack creates its client
    thread with an explicit policy (SCHED_OTHER when the server is not real-time) instead of
    inheriting ours, and that thread moves our samples into the server each cycle."""
    for tid in tids:
        try:
            os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(AUDIO_RT_PRIORITY))
        except (OSError, AttributeError):
            pass  # not permitted, or the thread is gone


class AudioProcess:
    """The process's state: the stream, its loop and the segment."""

    def __init__(self, conn: Connection, parent_pid: int, scheduling: str = "normal",
                 stop: threading.Event | None = None) -> None:
        self.conn = conn
        self.parent_pid = parent_pid
        self.scheduling = scheduling
        #: set by SIGTERM: the serving loop ends as if the app had gone
        self.stop = stop if stop is not None else threading.Event()
        self.output: SharedStateOutput | None = None
        self.segment: str | None = None
        self._mmap: Any = None
        self.shared: SharedAudioState | None = None
        self._taken = 0  # generation of the latest clip handed to the loop
        self._library_threads: set[int] = set()
        self._lost_said = False

    def open(self, params: dict[str, Any]) -> dict[str, Any]:
        """Open the device; the loop starts with a one-sample placeholder until ``play``."""
        loop = LoopBuffer(np.zeros(1, np.float32), params["crossfade"])
        out = SharedStateOutput(loop, params["sample_rate"], params["buffer_frames"], params["device"],
                                params["volume"], stream_rate=params["stream_rate"], record=params["record"])
        self.output = out
        self.segment = params["segment"]  # removed by us if the app dies, created by it or not yet
        self._library_threads = _threads()  # threads present before PortAudio opened the device
        out.open()
        return {"stream_rate": out.stream_rate, "latency_samples": out.clock.latency_samples,
                "device_name": out.device_name, "device_index": out.device_index, "pid": os.getpid(),
                "scheduling": self.scheduling}

    def play(self, segment: str) -> None:
        """Attach the segment, load its first clip and start the stream."""
        out = self.output
        assert out is not None
        if segment != self.segment:
            raise AudioUnavailable(f"the app named segment {segment!r} after {self.segment!r}")
        self._mmap, self.shared = audio_shm.attach(segment)
        first = self.shared.take_clip(0)
        if first is None:
            raise AudioUnavailable("the audio process found no clip in its shared memory")
        self._taken, clip, serial = first
        out.loop.restart(clip, serial)
        out.loop_rate = out.sample_rate = out.stream_rate  # the app sends clips at the stream rate
        out.shared = self.shared
        out.start()
        if self.scheduling.startswith("fifo"):
            _raise_threads(_threads() - self._library_threads)
        self.shared.status = audio_shm.PLAYING

    def step(self) -> None:
        """Hand a newly posted clip to the loop; report a stream that stopped."""
        shared, out = self.shared, self.output
        if shared is None or out is None:
            return
        new = shared.take_clip(self._taken)
        if new is not None:
            self._taken, clip, serial = new
            out.loop.submit(clip, serial)
        if not self._lost_said and (out.error is not None or not out.active):
            self._lost_said = True
            shared.status = audio_shm.STOPPED
            self.conn.send(("lost", f"the audio stream stopped ({out.error or 'device gone'})"))

    def stats(self) -> dict[str, Any]:
        out = self.output
        if out is None:
            return {}
        return {"durations": out.callback_durations(), "starts": out.callback_starts(),
                "callbacks": out.callbacks, "underruns": out.underruns}

    def serve(self) -> bool:
        """Answer the app until ``close``; False when the app went away without it."""
        while True:
            if self.conn.poll(POLL_SECONDS):
                msg = self.conn.recv()
                if msg[0] == "close":
                    return True
                if msg[0] == "stats":
                    self.conn.send(("stats", self.stats()))
            if os.getppid() != self.parent_pid or self.stop.is_set():
                return False
            self.step()

    def close(self, orphaned: bool) -> None:
        """Stop the stream (finishing a recording), unmap the segment; unlink it when orphaned."""
        if self.output is not None:
            self.output.close()  # returns once the last callback has run (and was published)
            self.output.shared = None
        if self.shared is not None:
            self.shared.release()
            self._mmap.close()
        if orphaned and self.segment is not None:
            audio_shm.unlink(self.segment)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``FD PARENT_PID``."""
    fd_text, pid_text = (argv if argv is not None else sys.argv[1:])[:2]
    parent_pid = int(pid_text)
    die_with_parent()
    scheduling = _raise_priority()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    if os.getppid() != parent_pid:  # the app died before prctl took effect
        return 1
    conn = Connection(int(fd_text))
    proc = AudioProcess(conn, parent_pid, scheduling, stop)
    orphaned = True
    try:
        msg = conn.recv()
        try:
            info = proc.open(msg[1])
        except AudioUnavailable as e:
            conn.send(("error", str(e)))
            return 0
        conn.send(("opened", info))
        msg = conn.recv()
        if msg[0] != "play":
            orphaned = msg[0] != "close"
            return 0
        try:
            proc.play(msg[1])
        except AudioUnavailable as e:
            conn.send(("error", str(e)))
            orphaned = False
            return 0
        conn.send(("playing",))
        orphaned = not proc.serve()
    except (EOFError, OSError):
        pass  # the app's end of the socket closed: it is gone
    finally:
        proc.close(orphaned)  # SIGTERM no longer raises: nothing cuts this short
    return 0


if __name__ == "__main__":
    sys.exit(main())
