"""GPU time of each pass of a frame, measured with timer queries (GL_TIME_ELAPSED), or on a
software rasterizer (where the queries do not hold the work) with the passes fenced.

Off by default: the renderer asks :func:`timed` for a context manager around each pass and
gets a shared no-op while no timer is attached, so an untimed frame pays one attribute test
per pass. Attach a :class:`PassTimer` (``scene.renderer.timer = PassTimer(ctx)``) to read
a breakdown after each frame; reading it waits for the GPU (a benchmark's business, not
the live loop's).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import moderngl

from ear3d.gfx.context import is_software

#: The passes of a frame, in the order they run. ``upload`` is the activity table's upload
#: (once per optimization step in the live loop, timed when it happens); ``interpolate`` the
#: per-frame compute pass (key frames, heard time step); ``edges`` everything of the edge
#: pass (the per-frame edge ends, the lines or the compute rasterizer and its resolve).
PASSES = ("upload", "interpolate", "neurons", "edges", "resolve", "bloom", "post")

_OFF = contextlib.nullcontext()
_SATURATED = (1 << 32) - 1  # ns: the most a 32-bit GL_TIME_ELAPSED reading holds


class PassTimer:
    """One timer query per pass name, reused frame after frame (moderngl 5 cannot release
    queries). Time queries do not nest: time one pass at a time.

    Each timed pass is fenced (``ctx.finish()`` before and after): a tiling software
    rasterizer (llvmpipe) otherwise runs the passes of one target interleaved tile by tile
    and every query would span them all. The fences also give each pass's wall time, which
    is the measurement where the query cannot hold the work: on a software rasterizer
    (llvmpipe's queries leave out compute dispatches) and past 4.29 s (moderngl reads
    GL_TIME_ELAPSED as 32 bits). ``source`` says which it is. A timed frame is slower
    than an untimed one (the fences stop the CPU and GPU from overlapping)."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self._queries: dict[str, moderngl.Query] = {}
        self._wall: dict[str, float] = {}
        self.software = is_software(ctx)
        self.source = "fenced wall time (software GL)" if self.software else "GPU timer queries"

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        """Time pass ``name``: ``with timer("edges"): ...``."""
        query = self._queries.get(name)
        if query is None:
            query = self._queries[name] = self.ctx.query(time=True)
        self.ctx.finish()
        t0 = time.perf_counter()
        with query:
            yield
        self.ctx.finish()
        self._wall[name] = time.perf_counter() - t0

    def reset(self) -> None:
        """Forget which passes ran (call before a frame whose breakdown will be read)."""
        self._wall.clear()

    def read(self) -> dict[str, float]:
        """Pass name → seconds, for the passes that ran since ``reset``, in frame order (waits
        for the GPU)."""
        out = {}
        for name in sorted(self._wall, key=lambda n: PASSES.index(n) if n in PASSES else len(PASSES)):
            ns = self._queries[name].elapsed
            out[name] = self._wall[name] if self.software or ns >= _SATURATED else ns * 1e-9
        return out


def timed(timer: PassTimer | None, name: str) -> Any:
    """A context manager timing pass ``name`` on ``timer``, or a no-op when it is None."""
    return _OFF if timer is None else timer(name)
