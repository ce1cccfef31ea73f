"""What a process holds right now: live GL objects and GPU-buffer bytes, threads, open file
descriptors, child processes and PortAudio instances, and its resident memory. The soak bench
samples these over time; the leak tests compare them after one and after many open/close
cycles of a subsystem."""

from __future__ import annotations

import gc
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Census:
    """Counts at one moment. ``gl``: live (unreleased) moderngl objects by class name;
    ``gpu_bytes``: bytes in live moderngl buffers; ``threads``: names of live threads;
    ``fds``: open file descriptors; ``children``: pids of live child processes;
    ``portaudio``: live ``pyaudio.PyAudio`` instances."""

    gl: dict[str, int] = field(default_factory=dict)
    gpu_bytes: int = 0
    threads: tuple[str, ...] = ()
    fds: int = 0
    children: tuple[int, ...] = ()
    portaudio: int = 0

    @property
    def gl_total(self) -> int:
        return sum(self.gl.values())

    def difference(self, other: Census) -> dict[str, int]:
        """What this census holds more (positive) or less than ``other``; empty when equal."""
        diff = {f"gl {k}": self.gl.get(k, 0) - other.gl.get(k, 0) for k in set(self.gl) | set(other.gl)}
        diff["gpu bytes"] = self.gpu_bytes - other.gpu_bytes
        diff["threads"] = len(self.threads) - len(other.threads)
        diff["fds"] = self.fds - other.fds
        diff["children"] = len(self.children) - len(other.children)
        diff["portaudio"] = self.portaudio - other.portaudio
        return {k: v for k, v in sorted(diff.items()) if v}


def rss_bytes() -> int:
    """This process's resident memory in bytes (from /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child_pids() -> tuple[int, ...]:
    """Live (not zombie) child processes of this process, from /proc/self/task/*/children."""
    pids: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    live = []
    for pid in sorted(set(pids)):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            live.append(pid)
    return tuple(live)


def open_files() -> dict[int, str]:
    """This process's open file descriptors and what each points at (``readlink`` of
    /proc/self/fd/N: a path, ``socket:[inode]``, ``pipe:[inode]``…); for saying which ones differ."""
    files: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            files[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor among them)
    return files


def file_difference(before: dict[int, str], after: dict[int, str]) -> tuple[list[str], list[str]]:
    """(opened, closed): what ``after`` holds that ``before`` did not, and the reverse, as
    "fd → target" strings (a descriptor reused for another file counts on both sides)."""
    opened = [f"{fd} → {t}" for fd, t in sorted(after.items()) if before.get(fd) != t]
    closed = [f"{fd} → {t}" for fd, t in sorted(before.items()) if after.get(fd) != t]
    return opened, closed


def gl_objects() -> tuple[dict[str, int], int]:
    """Live moderngl objects by class (released ones excluded) and the bytes of live buffers.
    A gc census: works in moderngl's default gc mode, where ``ctx.objects`` stays empty."""
    import moderngl

    counts: Counter[str] = Counter()
    gpu = 0
    invalid = moderngl.InvalidObject
    gc.collect()
    for obj in gc.get_objects():
        module = type(obj).__module__
        if module != "moderngl" or isinstance(obj, moderngl.Context):
            continue
        mglo = getattr(obj, "mglo", None)
        if mglo is None or isinstance(mglo, invalid):
            continue
        counts[type(obj).__name__] += 1
        if isinstance(obj, moderngl.Buffer):
            gpu += obj.size
    return dict(counts), gpu


def portaudio_instances() -> int:
    """Live ``pyaudio.PyAudio`` objects in this process (0 when PyAudio was never imported)."""
    import sys

    pyaudio = sys.modules.get("pyaudio")
    if pyaudio is None:
        return 0
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is pyaudio.PyAudio)


def take(gl: bool = True) -> Census:
    """A census now (``gl=False`` skips the moderngl object walk)."""
    objects, gpu = gl_objects() if gl else ({}, 0)
    return Census(objects, gpu, tuple(sorted(t.name for t in threading.enumerate())),
                  len(os.listdir("/proc/self/fd")), child_pids(), portaudio_instances())
