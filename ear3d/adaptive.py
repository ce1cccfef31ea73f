"""Adaptive quality: hold a target frame rate by trading picture quality for speed.

Quality moves along a ladder of levels (level 0 = full quality). The levers come strongest
first, as measured on a software renderer (Mesa llvmpipe, ``ear3d bench live``): the
multisampling of the scene's targets goes first (it about halves a software frame), then the
render resolution (a fraction of the window's, stretched up) and the edge budget (the
strongest edges are kept) fall together, and bloom goes last. The number of neurons never
changes: the network always shows whole.

The controller judges the median frame time of the frames drawn since its last decision (so
one hitch moves nothing) — every ``WINDOW`` frames, or sooner when frames are slow (after
``WINDOW_SECONDS`` with at least ``MIN_FRAMES``), so that a 2-frames/s start does not take
minutes to recover. It steps down when the rate falls below ``target × (1 − SLACK)`` (more
than one level when it is far below), and up one level only with ``HEADROOM`` to spare. A
step up that has to be taken back makes the next attempt wait twice as long, so it does not
oscillate between two levels.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

#: Fraction of the target frame rate below which quality drops.
SLACK = 0.08
#: Frame rate (as a multiple of the target) needed before quality rises again.
HEADROOM = 1.35
#: Frames judged between two decisions (at most).
WINDOW = 20
#: Seconds of frames after which a decision is taken anyway (with at least MIN_FRAMES).
WINDOW_SECONDS = 1.0
#: Fewest frames a decision is based on.
MIN_FRAMES = 3
#: Most levels one decision drops (when the rate is far below the target).
MAX_DROP = 3
#: Speed-up assumed per level when judging how many levels to drop at once.
LEVEL_SPEEDUP = 1.5


@dataclass(frozen=True)
class Rung:
    """One level of the ladder: ``reach`` 0–1 from the full-quality render scale to the
    lowest (geometric in between), the ``edge_fraction`` of the edge budget drawn, and
    whether multisampling (``msaa``) and ``bloom`` stay on."""

    reach: float
    edge_fraction: float
    msaa: bool
    bloom: bool


#: The ladder, full quality first (see the module doc for the order of the levers).
LADDER: tuple[Rung, ...] = (
    Rung(0.0, 1.0, True, True),
    Rung(0.0, 1.0, False, True),
    Rung(0.2, 0.5, False, True),
    Rung(0.35, 0.25, False, True),
    Rung(0.5, 0.12, False, True),
    Rung(0.65, 0.06, False, True),
    Rung(0.8, 0.035, False, True),
    Rung(1.0, 0.025, False, True),
    Rung(1.0, 0.025, False, False),
)
#: Number of levels below full quality.
LEVELS = len(LADDER) - 1


@dataclass(frozen=True)
class QualityState:
    """What adaptive quality does now (for the status panel): the ``level`` (0 = full), the
    render ``scale`` (fraction of the window's resolution), the ``edge_fraction`` of the edge
    budget drawn, whether ``msaa`` and ``bloom`` are on, the measured median ``fps`` (NaN
    before the first judgement), the ``target_fps``, and how many ``changes`` it made."""

    enabled: bool
    level: int
    scale: float
    edge_fraction: float
    fps: float
    target_fps: float
    changes: int
    msaa: bool = True
    bloom: bool = True

    def describe(self, edges: int | None = None) -> str:
        """One line for the status panel, e.g. "adaptive 3/8: 58 % resolution, 50,000 edges,
        no MSAA (24.1 fps, target 20)"; ``edges``: the edges drawn, when known."""
        if not self.enabled:
            return f"adaptive off: {self.scale:.0%} resolution"
        parts = [f"{self.scale:.0%} resolution",
                 f"{edges:,} edges" if edges is not None else f"{self.edge_fraction:.0%} of the edges"]
        if not self.msaa:
            parts.append("no MSAA")
        if not self.bloom:
            parts.append("no bloom")
        rate = f"{self.fps:.1f} fps" if math.isfinite(self.fps) else "measuring"
        return f"adaptive {self.level}/{LEVELS}: {', '.join(parts)} ({rate}, target {self.target_fps:g})"


class AdaptiveQuality:
    """The controller; feed it every frame's duration with :meth:`update`.

    target_fps: frames per second to hold; max_scale: the render scale at full quality (the
    user's render.scale); min_scale: the lowest scale it may use.
    """

    def __init__(self, target_fps: float, max_scale: float = 1.0, min_scale: float = 0.35, enabled: bool = True):
        if not target_fps > 0:
            raise ValueError(f"target_fps must be positive, got {target_fps}")
        self.target_fps = float(target_fps)
        self.max_scale = float(max_scale)
        self.min_scale = min(float(min_scale), self.max_scale)
        self.enabled = enabled
        self.level = 0
        self.changes = 0
        self._frames: list[float] = []
        self._fps = float("nan")
        self._up_wait = 1  # decisions to wait before trying a higher level
        self._decisions_since_change = 0
        self._just_stepped_up = False
        self._skip = 0  # frames not judged (the first after a change re-allocates targets)

    def scale_at(self, level: int) -> float:
        """Render scale of ``level`` (geometric from max_scale down to min_scale)."""
        return self.max_scale * (self.min_scale / self.max_scale) ** LADDER[level].reach

    def edge_fraction_at(self, level: int) -> float:
        """Share of the edge budget drawn at ``level``."""
        return LADDER[level].edge_fraction

    @property
    def state(self) -> QualityState:
        level = self.level if self.enabled else 0
        rung = LADDER[level]
        return QualityState(self.enabled, level, self.scale_at(level), rung.edge_fraction, self._fps,
                            self.target_fps, self.changes, rung.msaa, rung.bloom)

    def configure(self, target_fps: float | None = None, max_scale: float | None = None,
                  enabled: bool | None = None) -> None:
        """Change the target, the full-quality scale or switch it on/off (measurements restart)."""
        if target_fps is not None and target_fps > 0:
            self.target_fps = float(target_fps)
        if max_scale is not None and max_scale > 0:
            self.max_scale = float(max_scale)
            self.min_scale = min(self.min_scale, self.max_scale)
        if enabled is not None:
            self.enabled = bool(enabled)
        self._frames.clear()

    def update(self, frame_seconds: float) -> QualityState:
        """Count one frame that took ``frame_seconds``; returns the state to draw the next with."""
        if not self.enabled or not frame_seconds > 0 or not math.isfinite(frame_seconds):
            return self.state
        if self._skip > 0:
            self._skip -= 1
            return self.state
        self._frames.append(float(frame_seconds))
        enough = len(self._frames) >= WINDOW or (
            len(self._frames) >= MIN_FRAMES and sum(self._frames) >= WINDOW_SECONDS)
        if enough:
            self._judge(statistics.median(self._frames))
            self._frames.clear()
        return self.state

    def _judge(self, median_seconds: float) -> None:
        fps = 1.0 / median_seconds
        self._fps = fps
        self._decisions_since_change += 1
        if fps < self.target_fps * (1 - SLACK) and self.level < LEVELS:
            if self._just_stepped_up:  # the last rise did not hold: wait longer next time
                self._up_wait *= 2
            drop = math.ceil(math.log(self.target_fps / fps) / math.log(LEVEL_SPEEDUP))
            self._step(min(max(drop, 1), MAX_DROP, LEVELS - self.level))
        elif (fps > self.target_fps * HEADROOM and self.level > 0
              and self._decisions_since_change >= self._up_wait):
            self._step(-1)
            self._just_stepped_up = True
            return
        elif self._decisions_since_change >= 4 * self._up_wait:
            self._up_wait = max(1, self._up_wait // 2)  # a long steady stretch forgives old failures
        self._just_stepped_up = False

    def _step(self, levels: int) -> None:
        self.level += levels
        self.changes += 1
        self._decisions_since_change = 0
        self._skip = 1
