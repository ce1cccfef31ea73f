"""An orbit camera: pure math on pyglm, no GL."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyglm import glm


@dataclass
class OrbitCamera:
    """Looks at ``target`` from ``distance`` away; yaw around +y, pitch above the xz-plane.

    Angles in radians, distances in world units, ``fov_y`` in degrees.
    """

    target: glm.vec3
    distance: float = 5.0
    yaw: float = 0.6
    pitch: float = 0.35
    fov_y: float = 45.0
    near: float = 0.01
    far: float = 1000.0

    @classmethod
    def framing(cls, positions: np.ndarray, aspect: float = 16 / 9, fov_y: float = 45.0,
                margin: float = 1.1) -> OrbitCamera:
        """A camera whose view at ``aspect`` (width / height) holds every point of
        ``positions`` ((N, 3) float32), seen from the front-left and a little above."""
        if positions.size == 0 or not np.isfinite(positions).all():
            return cls(glm.vec3(0.0), fov_y=fov_y)
        centre = (positions.min(axis=0) + positions.max(axis=0)) / 2
        rel = positions - centre
        r_side = float(np.linalg.norm(rel[:, [0, 2]], axis=1).max())  # any yaw keeps it within this
        r_up = float(np.abs(rel[:, 1]).max())
        half_y = math.radians(fov_y) / 2
        half_x = math.atan(math.tan(half_y) * aspect)
        distance = margin * max(r_side / math.tan(half_x), r_up / math.tan(half_y)) + 0.3 * r_side
        distance = distance or 1.0
        return cls(
            glm.vec3(*map(float, centre)), distance=distance, yaw=0.45, pitch=0.3,
            fov_y=fov_y, near=distance / 1000, far=distance * 10,
        )

    @classmethod
    def around(cls, positions: np.ndarray, radii: float, pitch: float, fov_y: float = 45.0) -> OrbitCamera:
        """A camera looking at the centre of ``positions`` ((N, 3) float32; their bounding
        box's centre) from ``radii`` times the radius that holds 90 % of them (robust to a few
        outliers), from the front-left like :meth:`framing`. ``radii`` < 1 puts the eye inside
        the network: the home of the cube-map views (ear3d.gfx.display.home_camera)."""
        flat = cls.framing(positions, 1.0, fov_y)
        if positions.size == 0 or not np.isfinite(positions).all():
            return flat
        radius = float(np.percentile(np.linalg.norm(positions - np.asarray(flat.target), axis=1), 90))
        distance = max(radii * radius, flat.distance * 1e-3)
        return cls(glm.vec3(flat.target), distance=distance, yaw=flat.yaw, pitch=pitch, fov_y=fov_y,
                   near=min(flat.near, distance / 100), far=flat.far)

    @property
    def eye(self) -> glm.vec3:
        cp = math.cos(self.pitch)
        offset = glm.vec3(cp * math.sin(self.yaw), math.sin(self.pitch), cp * math.cos(self.yaw))
        return self.target + offset * self.distance

    def view(self) -> glm.mat4:
        return glm.lookAt(self.eye, self.target, glm.vec3(0.0, 1.0, 0.0))

    def projection(self, aspect: float) -> glm.mat4:
        if not aspect > 0 or not math.isfinite(aspect):
            raise ValueError(f"aspect ratio must be a positive number, got {aspect}")
        return glm.perspective(math.radians(self.fov_y), aspect, self.near, self.far)

    def orbit(self, d_yaw: float, d_pitch: float = 0.0) -> None:
        """Turn around the target; pitch stays short of the poles so 'up' stays defined."""
        self.yaw = (self.yaw + d_yaw) % (2 * math.pi)
        self.pitch = max(-1.5, min(1.5, self.pitch + d_pitch))

    def zoom(self, factor: float) -> None:
        self.distance = max(self.near * 10, self.distance * factor)


FOV_RANGE = (10.0, 120.0)


def _ease(t: float) -> float:
    """Smootherstep: 0 → 1 with zero velocity and acceleration at both ends."""
    t = min(max(t, 0.0), 1.0)
    return t * t * t * (t * (t * 6 - 15) + 10)


def _wrap(angle: float) -> float:
    """An angle difference in (−π, π]."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _copy(pose: OrbitCamera) -> OrbitCamera:
    return OrbitCamera(glm.vec3(pose.target), pose.distance, pose.yaw, pose.pitch, pose.fov_y, pose.near, pose.far)


def _blend(a: OrbitCamera, b: OrbitCamera, t: float) -> OrbitCamera:
    """The pose a fraction ``t`` of the way from ``a`` to ``b`` (angles the short way round,
    distance geometrically so that zooming feels even)."""
    distance = a.distance * (b.distance / a.distance) ** t if a.distance > 0 and b.distance > 0 else b.distance
    return OrbitCamera(
        glm.mix(a.target, b.target, t),  # type: ignore[arg-type]  # pyglm's stub: mix of vec3s is a vec3
        distance,
        (a.yaw + _wrap(b.yaw - a.yaw) * t) % (2 * math.pi),
        a.pitch + (b.pitch - a.pitch) * t,
        a.fov_y + (b.fov_y - a.fov_y) * t,
        a.near + (b.near - a.near) * t,
        a.far + (b.far - a.far) * t,
    )


@dataclass
class _Flight:
    start: OrbitCamera
    end: OrbitCamera
    duration: float
    elapsed: float = 0.0


class CameraRig:
    """Orbit and free-fly control with smoothing, eased flights, reset and field of view.

    Pure math (pyglm), no GL. ``pose`` is what is drawn; input moves ``goal``; ``update(dt)``
    brings ``pose`` towards ``goal`` exponentially with time constant ``smoothing`` seconds
    (0 = at once), or along an eased flight (``fly_to``, ``reset``). Angles in radians,
    distances in world units, field of view in degrees, times in seconds.
    """

    def __init__(self, home: OrbitCamera, smoothing: float = 0.12):
        self.home = _copy(home)
        self.pose = _copy(home)
        self.goal = _copy(home)
        self.smoothing = max(0.0, smoothing)
        self._flight: _Flight | None = None

    # -- direct input (moves the goal) -------------------------------------------------------

    def _input(self) -> None:
        if self._flight is not None:  # the user takes over: stop where we are
            self.goal = _copy(self.pose)
            self._flight = None

    def orbit(self, d_yaw: float, d_pitch: float = 0.0) -> None:
        """Turn around the target."""
        self._input()
        self.goal.orbit(d_yaw, d_pitch)

    def zoom(self, factor: float) -> None:
        """Move towards (factor < 1) or away from the target."""
        self._input()
        self.goal.zoom(factor)

    def look(self, d_yaw: float, d_pitch: float = 0.0) -> None:
        """Free-fly: turn the view around the eye (the eye stays, the target swings)."""
        self._input()
        eye = self.goal.eye
        self.goal.orbit(d_yaw, d_pitch)
        self.goal.target = eye - (self.goal.eye - self.goal.target)

    def move(self, forward: float, right: float = 0.0, up: float = 0.0, at_once: bool = False) -> None:
        """Free-fly: move eye and target together, in world units along the goal's view axes
        (at_once: the drawn pose moves too, without smoothing lag — for continuous motion)."""
        self._input()
        g = self.goal
        ahead = glm.normalize(g.target - g.eye)
        side = glm.normalize(glm.cross(ahead, glm.vec3(0.0, 1.0, 0.0)))
        lift = glm.cross(side, ahead)
        delta = ahead * forward + side * right + lift * up
        g.target = g.target + delta
        if at_once:
            self.pose.target = self.pose.target + delta

    def set_fov(self, fov_y: float) -> None:
        """Field of view in degrees, clamped to FOV_RANGE."""
        self._input()
        self.goal.fov_y = min(max(float(fov_y), FOV_RANGE[0]), FOV_RANGE[1])

    def spin(self, d_yaw: float) -> None:
        """Turn pose and goal together (an automatic orbit: no smoothing lag, no flight stop)."""
        for p in (self.pose, self.goal):
            p.yaw = (p.yaw + d_yaw) % (2 * math.pi)
        if self._flight is not None:
            for p in (self._flight.start, self._flight.end):
                p.yaw = (p.yaw + d_yaw) % (2 * math.pi)

    # -- flights ----------------------------------------------------------------------------

    @property
    def flying(self) -> bool:
        return self._flight is not None

    def fly_to(self, pose: OrbitCamera, duration: float = 1.5) -> None:
        """An eased flight (smootherstep) from where the camera is to ``pose``."""
        end = _copy(pose)
        if duration <= 0:
            self.pose, self.goal, self._flight = _copy(end), _copy(end), None
            return
        self._flight = _Flight(_copy(self.pose), end, duration)
        self.goal = _copy(end)

    def focus(self, points: np.ndarray, duration: float = 1.5, aspect: float = 16 / 9) -> None:
        """Fly to frame ``points`` ((M, 3) float, e.g. the selected neurons) from the current
        direction; no points (or no finite ones) leaves the camera where it is."""
        pts = np.asarray(points, np.float32).reshape(-1, 3)
        pts = pts[np.isfinite(pts).all(axis=1)]
        if len(pts) == 0:
            return
        frame = OrbitCamera.framing(pts, aspect, self.pose.fov_y, margin=1.4)
        # at least a few idle spheres across, so a single neuron is not filled-screen
        frame.distance = max(frame.distance, self.home.distance * 0.05)
        frame.near, frame.far = self.home.near, self.home.far
        frame.yaw, frame.pitch = self.pose.yaw, self.pose.pitch
        self.fly_to(frame, duration)

    def reset(self, duration: float = 1.0) -> None:
        """Fly back to the home pose (the framing of the whole network)."""
        self.fly_to(self.home, duration)

    def jump(self, pose: OrbitCamera) -> None:
        """Put pose and goal at ``pose`` now (no smoothing, no flight)."""
        self.pose, self.goal, self._flight = _copy(pose), _copy(pose), None

    # -- time ---------------------------------------------------------------------------------

    def update(self, dt: float) -> OrbitCamera:
        """Advance by ``dt`` seconds (NaN or negative → 0); returns the pose to draw."""
        dt = dt if math.isfinite(dt) and dt > 0 else 0.0
        f = self._flight
        if f is not None:
            f.elapsed += dt
            t = f.elapsed / f.duration
            self.pose = _blend(f.start, f.end, _ease(t))
            if t >= 1.0:
                self.pose, self._flight = _copy(f.end), None
            return self.pose
        alpha = 1.0 if self.smoothing == 0 else 1.0 - math.exp(-dt / self.smoothing)
        self.pose = _blend(self.pose, self.goal, alpha)
        return self.pose
