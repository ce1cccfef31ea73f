"""``render.edge_mode = "auto"``: time the GL-lines and compute edge rasterizers on the
first frames drawn (GPU timer queries) and keep the faster."""

from __future__ import annotations

import contextlib
import logging
import statistics
from typing import Any

import moderngl

log = logging.getLogger(__name__)

#: The rasterizers compared, and timed frames of each after a warm-up.
AUTO_MODES = ("lines", "compute")
AUTO_SAMPLES = 3


class EdgeModeChooser:
    """Alternates the modes frame by frame while measuring, then settles on the faster.

    Per frame: ``mode = chooser.next_mode()`` (the mode to draw with), draw the edges inside
    ``chooser.timer()``, then ``chooser.record(mode)``. ``timings``: mode → GPU seconds per
    sampled frame."""

    def __init__(self, ctx: moderngl.Context):
        self.ctx = ctx
        self.timings: dict[str, list[float]] = {m: [] for m in AUTO_MODES}
        self.measuring = True
        self.mode = AUTO_MODES[0]
        self._query: moderngl.Query | None = None
        self._timed = False

    def next_mode(self) -> str:
        """The mode for this frame: the one with fewer samples, or the faster once settled."""
        if not self.measuring:
            return self.mode
        counts = {m: len(t) for m, t in self.timings.items()}
        if min(counts.values()) >= AUTO_SAMPLES + 1:  # the first sample of each is a warm-up
            self.mode = min(AUTO_MODES, key=lambda m: statistics.median(self.timings[m][1:]))
            log.info("edge rasterizer: %s (GPU ms per frame: %s)", self.mode, {
                m: round(statistics.median(t[1:]) * 1e3, 3) for m, t in self.timings.items()})
            self.measuring = False
        else:
            self.mode = min(AUTO_MODES, key=lambda m: counts[m])
        return self.mode

    def timer(self) -> Any:
        """The GPU timer for this frame's edge pass while measuring, else a no-op."""
        self._timed = self.measuring
        if not self.measuring:
            return contextlib.nullcontext()
        if self._query is None:  # one timer query, reused (moderngl 5 cannot release them)
            self._query = self.ctx.query(time=True)
        return self._query

    def record(self) -> None:
        """After the edge pass: keep the timer's reading for the mode drawn."""
        if self._timed and self._query is not None:
            self.timings[self.mode].append(self._query.elapsed * 1e-9)
        self._timed = False
