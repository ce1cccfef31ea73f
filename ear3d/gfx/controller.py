"""The camera controller: mouse and keyboard events → camera moves. Pure math (pyglm), no
window: the live window translates its backend's events into these calls.

Bindings (``BINDINGS`` lists them for a help overlay):

- left-drag: orbit around the target (in fly mode: look around);
- right- or middle-drag: pan (the point under the cursor follows it);
- wheel: zoom towards the point under the cursor;
- W/S, A/D, Q/E held: fly forward/back, left/right, down/up (shift: faster);
- fly mode (``toggle_fly``): mouse motion looks around without a button held.

Positions are in window units from the top-left corner, in the units of ``resize``'s size
(window coordinates, not framebuffer pixels on a HiDPI screen: only ratios matter).
Everything that takes time (held keys, smoothing, flights) advances in ``update(dt)``, so
the motion is the same at any frame rate.
"""

from __future__ import annotations

import math

import numpy as np
from pyglm import glm

from ear3d.gfx.camera import CameraRig

BUTTONS = ("left", "right", "middle")
#: key → (forward, right, up) direction while held
FLY_KEYS = {"w": (1, 0, 0), "s": (-1, 0, 0), "d": (0, 1, 0), "a": (0, -1, 0), "e": (0, 0, 1), "q": (0, 0, -1)}
FAST_KEY = "shift"
BINDINGS = (
    ("left drag", "orbit around the target (fly mode: look around)"),
    ("right or middle drag", "pan"),
    ("wheel", "zoom towards the cursor"),
    ("W / S", "fly forward / back"),
    ("A / D", "fly left / right"),
    ("Q / E", "fly down / up"),
    ("shift", "fly faster"),
)


class CameraController:
    """Drives ``rig`` (a :class:`CameraRig`) from input events.

    orbit_per_height: radians turned by a drag over the window's height; zoom_step: distance
    factor per wheel notch (< 1 zooms in on a positive notch); fly_speed: world units per
    second as a fraction of the home view's distance; fast: speed factor with shift held.
    """

    def __init__(self, rig: CameraRig, size: tuple[float, float] = (1280, 720), orbit_per_height: float = math.pi,
                 zoom_step: float = 0.85, fly_speed: float = 0.25, fast: float = 4.0):
        self.rig = rig
        self.size = (1.0, 1.0)
        self.resize(*size)
        self.orbit_per_height = orbit_per_height
        self.zoom_step = zoom_step
        self.fly_speed = fly_speed
        self.fast = fast
        self.fly_mode = False
        self.buttons: set[str] = set()
        self.keys: set[str] = set()
        self._cursor: tuple[float, float] | None = None

    # -- window events ------------------------------------------------------------------------

    def resize(self, width: float, height: float) -> None:
        """The window's size in the units of the mouse positions (ignored when not positive)."""
        if width > 0 and height > 0:
            self.size = (float(width), float(height))

    def press(self, button: str, x: float, y: float) -> None:
        """A mouse button went down at (x, y); button: "left", "right" or "middle"."""
        if button in BUTTONS:
            self.buttons.add(button)
        self._cursor = (x, y)

    def release(self, button: str, x: float, y: float) -> None:
        """A mouse button went up at (x, y)."""
        self.buttons.discard(button)
        self._cursor = (x, y)

    def move(self, x: float, y: float) -> None:
        """The mouse is at (x, y) (with or without a button held): drags orbit, pan or look."""
        last, self._cursor = self._cursor, (x, y)
        if last is None:
            return
        dx, dy = x - last[0], y - last[1]
        if dx == 0 and dy == 0:
            return
        turn = self.orbit_per_height / self.size[1]
        if self.fly_mode and (not self.buttons or "left" in self.buttons):
            self.rig.look(-dx * turn, -dy * turn)
        elif "left" in self.buttons:
            self.rig.orbit(-dx * turn, dy * turn)
        elif "right" in self.buttons or "middle" in self.buttons:
            self.pan(dx, dy)

    def scroll(self, notches: float, x: float | None = None, y: float | None = None) -> None:
        """Wheel turned by ``notches`` (positive: away from the user, zooms in), with the
        cursor at (x, y) (None: the centre of the window)."""
        if not math.isfinite(notches) or notches == 0:
            return
        anchor = None if x is None or y is None else self._on_target_plane(x, y)
        before = self.rig.goal.distance
        self.rig.zoom(self.zoom_step ** notches)  # the rig keeps the distance above its minimum
        if anchor is not None and before > 0:
            # Scale eye and target about the point under the cursor on the target's plane:
            # that point keeps its place on the screen while the rest moves towards it.
            scale = self.rig.goal.distance / before
            self.rig.goal.target = anchor + (self.rig.goal.target - anchor) * scale

    def key_down(self, key: str) -> None:
        """A key went down (lower-case names: "w", "a", "s", "d", "q", "e", "shift")."""
        self.keys.add(key.lower())

    def key_up(self, key: str) -> None:
        self.keys.discard(key.lower())

    def toggle_fly(self) -> bool:
        """Switch fly mode (mouse motion looks around); returns the new state."""
        self.fly_mode = not self.fly_mode
        return self.fly_mode

    # -- moves ---------------------------------------------------------------------------------

    def pan(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) window units: the scene follows the cursor at the target's depth."""
        goal = self.rig.goal
        units = 2.0 * goal.distance * math.tan(math.radians(goal.fov_y) / 2) / self.size[1]
        self.rig.move(0.0, -dx * units, dy * units)

    def _on_target_plane(self, x: float, y: float) -> glm.vec3:
        """The point under (x, y) on the plane through the goal's target facing the camera."""
        goal = self.rig.goal
        w, h = self.size
        half = math.tan(math.radians(goal.fov_y) / 2) * goal.distance
        _, side, lift = _axes(goal.target - goal.eye)
        nx, ny = 2.0 * x / w - 1.0, 1.0 - 2.0 * y / h
        return goal.target + side * (nx * half * w / h) + lift * (ny * half)

    def update(self, dt: float) -> None:
        """Advance ``dt`` seconds: fly while keys are held, then the rig's smoothing and flights."""
        dt = dt if math.isfinite(dt) and dt > 0 else 0.0
        direction = np.zeros(3)
        for key in self.keys:
            direction += FLY_KEYS.get(key, (0, 0, 0))
        if dt and direction.any():
            speed = self.fly_speed * self.rig.home.distance * (self.fast if FAST_KEY in self.keys else 1.0)
            forward, right, up = (float(v) * speed * dt for v in direction)
            self.rig.move(forward, right, up, at_once=True)  # a held key moves without smoothing lag
        self.rig.update(dt)


def _axes(ahead: glm.vec3) -> tuple[glm.vec3, glm.vec3, glm.vec3]:
    """(ahead, right, up) unit vectors of a view looking along ``ahead`` with +y up."""
    ahead = glm.normalize(ahead)
    side = glm.normalize(glm.cross(ahead, glm.vec3(0.0, 1.0, 0.0)))
    return ahead, side, glm.cross(side, ahead)
