"""Adaptive quality: hold a target frame rate by lowering the render scale and the edge budget.

Quality moves along a ladder of levels (level 0 = full quality); each level draws at a smaller
fraction of the window's resolution and a smaller share of the edges. The controller judges
the median frame time of the frames drawn since its last change (so one hitch moves nothing),
steps down when the rate falls below ``target × (1 − slack)``, and steps up only when there is
``headroom`` to spare, so it does not oscillate between two levels. A step up that has to be
taken back makes the next attempt wait twice as long.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

#: Fraction of the target frame rate below which quality drops.
SLACK = 0.08
#: Frame rate (as a multiple of the target) needed before quality rises again.
HEADROOM = 1.35
#: Frames judged between two decisions.
WINDOW = 20
#: Number of levels below full quality.
LEVELS = 8
#: The share of the edges kept at the lowest level.
MIN_EDGE_FRACTION = 0.1


@dataclass(frozen=True)
class QualityState:
    """What adaptive quality does now (for the status panel): the ``level`` (0 = full), the
    render ``scale`` (fraction of the window's resolution), the ``edge_fraction`` of the edge
    budget drawn, the measured median ``fps`` (NaN before the first judgement), the
    ``target_fps``, and how many ``changes`` it made."""

    enabled: bool
    level: int
    scale: float
    edge_fraction: float
    fps: float
    target_fps: float
    changes: int


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
        self._up_wait = 1  # windows to wait before trying a higher level
        self._windows_since_change = 0
        self._just_stepped_up = False

    def scale_at(self, level: int) -> float:
        """Render scale of ``level`` (geometric from max_scale down to min_scale)."""
        return self.max_scale * (self.min_scale / self.max_scale) ** (level / LEVELS)

    def edge_fraction_at(self, level: int) -> float:
        """Share of the edge budget drawn at ``level``."""
        return MIN_EDGE_FRACTION ** (level / LEVELS)

    @property
    def state(self) -> QualityState:
        level = self.level if self.enabled else 0
        return QualityState(self.enabled, level, self.scale_at(level), self.edge_fraction_at(level), self._fps,
                            self.target_fps, self.changes)

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
        if not self.enabled or not frame_seconds > 0:
            return self.state
        self._frames.append(float(frame_seconds))
        if len(self._frames) >= WINDOW:
            self._judge(statistics.median(self._frames))
            self._frames.clear()
        return self.state

    def _judge(self, median_seconds: float) -> None:
        fps = 1.0 / median_seconds
        self._fps = fps
        self._windows_since_change += 1
        if fps < self.target_fps * (1 - SLACK) and self.level < LEVELS:
            if self._just_stepped_up:  # the last rise did not hold: wait longer next time
                self._up_wait *= 2
            self._step(+1)
        elif fps > self.target_fps * HEADROOM and self.level > 0 and self._windows_since_change >= self._up_wait:
            self._step(-1)
            self._just_stepped_up = True
            return
        elif self._windows_since_change >= 4 * self._up_wait:
            self._up_wait = max(1, self._up_wait // 2)  # a long steady stretch forgives old failures
        self._just_stepped_up = False

    def _step(self, direction: int) -> None:
        self.level += direction
        self.changes += 1
        self._windows_since_change = 0
